"""Messages per second through one queue server: send, deliver, acknowledge.

    python -m benchmarks.queue_server [--messages N] [--queues Q]

The server runs in its own process (SQLite in a temporary dir); this process is the client,
on our transport. Results are printed as ratios against a no-op HTTPS endpoint (same TLS
stack, same HTTP client as the transport's batches) measured in the same run, because the
machines are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from benchmarks._procs import noop_https_process, queue_server_process
from simplextui.protocol.address import ServerAddress
from simplextui.transport.client import QueueClient
from simplextui.transport.events import MessageReceived, TransportEvent
from simplextui.transport.keys import RecipientQueue, SenderQueue
from simplextui.transport.rawhttp import HttpsPool
from simplextui.transport.tls import pin

BODY = os.urandom(100)


async def noop_requests_per_second(address: ServerAddress, seconds: float,
                                   concurrency: int) -> float:
    context = await pin(address, 10.0)
    pool = HttpsPool(address, context, timeout=10.0, max_connections=concurrency)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            status, _ = await pool.post("/", b"x" * 64, "application/octet-stream")
            assert status == 200, status
            done += 1

    try:
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - start)
    finally:
        pool.close()


class Receiver:
    """Acknowledges the messages of each read of the stream together; counts them."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.received = 0
        self.done = asyncio.Event()
        self.progress = asyncio.Condition()
        self.client: QueueClient | None = None
        self.queues: dict[bytes, RecipientQueue] = {}

    async def on_events(self, events: list[TransportEvent]) -> None:
        assert self.client is not None
        acks = [(self.queues[e.recipient_id], e.msg_id)
                for e in events if isinstance(e, MessageReceived)]
        if not acks:
            return
        results = await self.client.ack_many(acks)
        assert not any(results), results
        self.received += len(acks)
        if self.received >= self.total:
            self.done.set()
        async with self.progress:
            self.progress.notify_all()

    async def wait_until(self, count: int) -> None:
        """Wait until at least ``count`` messages were received (keeps senders under quota)."""
        async with self.progress:
            await self.progress.wait_for(lambda: self.received >= count)


async def end_to_end(address: ServerAddress, messages: int, queues: int,
                     batched: bool) -> float:
    receiver = Receiver(messages)
    async with QueueClient(address, on_events=receiver.on_events, timeout=60) as rcv, \
            QueueClient(address, timeout=60) as snd:
        receiver.client = rcv
        created = await rcv.create_queues(queues)
        receiver.queues = {q.recipient_id: q for q in created}
        senders: list[SenderQueue] = list(await asyncio.gather(
            *(snd.secure_queue(q.sender_id, q.server_sender_key) for q in created)))
        await rcv.subscribe(created)
        start = time.perf_counter()
        if batched:
            rounds = messages // queues
            window = 50  # messages ahead per queue stays under the quota (128)
            in_flight = asyncio.Semaphore(4)  # rounds sent but not yet answered

            async def send_round() -> None:
                try:
                    results = await snd.send_many([(s, BODY, 0) for s in senders])
                    assert not any(results), results
                finally:
                    in_flight.release()

            tasks = []
            for r in range(rounds):
                await receiver.wait_until((r - window) * queues)
                await in_flight.acquire()
                tasks.append(asyncio.create_task(send_round()))
            await asyncio.gather(*tasks)
        else:
            for i in range(messages):
                await receiver.wait_until(i - 50)
                await snd.send(senders[i % queues], BODY)
        await asyncio.wait_for(receiver.done.wait(), 300)
        return messages / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--unbatched-messages", type=int, default=2_000)
    parser.add_argument("--db", help="the server's database URL, an empty database (default: "
                        "SQLite in a temporary dir), e.g. postgresql+psycopg://user@host/db")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with noop_https_process(Path(tmp) / "noop") as noop:
            noop_1 = await noop_requests_per_second(noop, 3.0, 1)
            noop_4 = await noop_requests_per_second(noop, 3.0, 4)
        extra = ("--db", args.db) if args.db else ()
        async with queue_server_process(Path(tmp) / "server", *extra) as address:
            unbatched = await end_to_end(address, args.unbatched_messages, 1, batched=False)
            batched = await end_to_end(address, args.messages, args.queues, batched=True)
    print(f"baseline no-op HTTPS requests/s: {noop_1:,.0f} (1 in flight), "
          f"{noop_4:,.0f} (4 in flight)")
    print(f"unbatched, 1 queue, {args.unbatched_messages:,} msgs: {unbatched:,.0f} msg/s "
          f"= {unbatched / noop_1:.2f}x no-op requests/s (1 in flight)")
    print(f"batched, {args.queues} queues, {args.messages:,} msgs: {batched:,.0f} msg/s "
          f"= {batched / noop_4:.2f}x no-op requests/s (4 in flight)")
    print(f"batched / unbatched: {batched / unbatched:.1f}x"
          + (f" (server database: {args.db.split('@')[-1]})" if args.db else ""))


if __name__ == "__main__":
    asyncio.run(main())
