"""Messages per second and median latency between two agents through one queue server.

    python -m benchmarks.agent [--messages N] [--latency-messages M] [--compare]

Two agents (post-quantum ratchets, SQLite files) in this process connect by a one-time link
through a queue server in its own process. Throughput is reported as a ratio against the bare
queue server measured in the same run with the same shape (one queue, flow control, pipelined
sends), because the machines are noisy. ``--compare`` also runs the agents with every
database unit on the agent's threads (``AgentConfig(db_on_loop=False)``, the way it was
before the loop's fast path) in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import tempfile
import time
from pathlib import Path

from benchmarks._procs import queue_server_process
from benchmarks.queue_server import end_to_end
from simplextui.agent import Agent, AgentConfig, AgentEvent, Connected, MessageReceived
from simplextui.protocol.address import ServerAddress
from simplextui.store.db import Database, open_database

_STAMP = struct.Struct(">Qd")  # sequence number, send time (perf_counter)
PADDING = bytes(100)


class Endpoint:
    """An agent playing the chat layer: it processes every message at once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.agent: Agent | None = None
        self.db: Database | None = None
        self.connected = asyncio.Event()
        self.latencies: list[float] = []
        self.received = 0
        self.progress = asyncio.Condition()

    async def start(self, path: Path, server: ServerAddress, db_on_loop: bool = True) -> None:
        self.db = await open_database(path)
        self.agent = Agent(self.db, [server], on_event=self.on_event,
                           config=AgentConfig(db_on_loop=db_on_loop))
        await self.agent.start()

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
        if self.db is not None:
            await self.db.close()

    async def on_event(self, event: AgentEvent) -> None:
        if isinstance(event, Connected):
            self.connected.set()
        elif isinstance(event, MessageReceived):
            _, sent_at = _STAMP.unpack_from(event.body)
            self.latencies.append(time.perf_counter() - sent_at)
            assert self.agent is not None
            await self.agent.message_processed(event.conn_id, event.agent_msg_id)
            self.received += 1
            async with self.progress:
                self.progress.notify_all()

    async def wait_received(self, count: int) -> None:
        async with self.progress:
            await asyncio.wait_for(self.progress.wait_for(lambda: self.received >= count), 600)


def body(seq: int) -> bytes:
    return _STAMP.pack(seq, time.perf_counter()) + PADDING


async def agents_benchmark(server: ServerAddress, tmp: Path, messages: int,
                           latency_messages: int, db_on_loop: bool = True
                           ) -> tuple[float, float]:
    alice, bob = Endpoint("alice"), Endpoint("bob")
    tag = "loop" if db_on_loop else "threads"
    await alice.start(tmp / f"alice-{tag}.db", server, db_on_loop)
    await bob.start(tmp / f"bob-{tag}.db", server, db_on_loop)
    try:
        assert alice.agent is not None and bob.agent is not None
        conn_a, link = await alice.agent.create_invitation(b"alice")
        await bob.agent.join(link, b"bob")
        await asyncio.wait_for(asyncio.gather(alice.connected.wait(), bob.connected.wait()), 60)

        # Latency: one message at a time, each waited for.
        for i in range(latency_messages):
            await alice.agent.send(conn_a, body(i))
            await bob.wait_received(i + 1)
        latency = statistics.median(bob.latencies)

        # Throughput: bursts through send_many, as a chat layer with many messages would.
        start = time.perf_counter()
        base = bob.received
        burst = 50
        for i in range(0, messages, burst):
            await bob.wait_received(base + i - 2 * burst)  # keep at most ~100 in flight
            await alice.agent.send_many([(conn_a, body(i + j)) for j in range(burst)])
        await bob.wait_received(base + messages)
        rate = messages / (time.perf_counter() - start)
        return rate, latency
    finally:
        await alice.stop()
        await bob.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3_000)
    parser.add_argument("--latency-messages", type=int, default=200)
    parser.add_argument("--compare", action="store_true",
                        help="also run with every database unit on threads (db_on_loop=False)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        async with queue_server_process(tmp / "server") as server:
            bare = await end_to_end(server, args.messages, 1, batched=False)
            if args.compare:
                old_rate, old_latency = await agents_benchmark(
                    server, tmp, args.messages, args.latency_messages, db_on_loop=False)
            rate, latency = await agents_benchmark(server, tmp, args.messages,
                                                   args.latency_messages)
    print(f"bare queue server, 1 queue, {args.messages:,} msgs: {bare:,.0f} msg/s")
    if args.compare:
        print(f"[db on threads] two agents, 1 connection: {old_rate:,.0f} msg/s "
              f"= {old_rate / bare:.2f}x the bare queue server; median latency "
              f"{old_latency * 1000:.1f} ms")
    print(f"two agents, 1 connection, {args.messages:,} msgs: {rate:,.0f} msg/s "
          f"= {rate / bare:.2f}x the bare queue server")
    print(f"median latency, one message at a time ({args.latency_messages}): "
          f"{latency * 1000:.1f} ms")
    if args.compare:
        print(f"db on the loop vs on threads: throughput {rate / old_rate:.2f}x, "
              f"latency {latency / old_latency:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
