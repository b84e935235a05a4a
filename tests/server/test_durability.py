"""What the server acknowledged survives restarts and kill -9; its log holds no queue ids."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from simplextui.protocol import queue as q
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.b64 import b64encode
from simplextui.protocol.errors import ErrorCode
from simplextui.server.runner import EmbeddedServer
from tests.server.raw_client import ClientFactory, QueueHandle, RawClient

ADDRESS = re.compile(r"^smp://([A-Za-z0-9_-]{43})@127\.0\.0\.1:(\d+)$")


async def test_messages_survive_a_restart(server: EmbeddedServer,
                                          make_client: ClientFactory) -> None:
    client = await make_client(server, stream=True)
    queue = await client.new_queue()
    await client.secure(queue)
    bodies = [b"message %d" % i for i in range(5)]
    for body in bodies[:2]:
        assert await client.send(queue, body) == q.Ok()
    await client.subscribe(queue)
    first = await client.receive(queue)
    assert await client.ack(queue, first.frame.msg_id) == q.Ok()
    second = await client.receive(queue)  # delivered, not acknowledged
    assert second.message.body == bodies[1]
    for body in bodies[2:]:
        assert await client.send(queue, body) == q.Ok()
    address = server.address
    await client.aclose()

    await server.stop()
    await server.start()
    assert server.address == address  # same port, same identity

    client = await make_client(server, stream=True)
    await client.subscribe(queue)
    received = await _drain(client, queue, 4)
    assert received == bodies[1:]  # the unacknowledged one again, then the rest, in order
    assert await client.send(queue, b"after restart") == q.Ok()  # the sender key survived
    assert await _drain(client, queue, 1) == [b"after restart"]


async def test_queue_state_survives_a_restart(make_server: object,
                                              make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("quota", queue_quota=2)  # type: ignore[operator]
    client = await make_client(srv)
    full = await client.new_queue()
    await client.secure(full)
    off = await client.new_queue()
    await client.secure(off)
    gone = await client.new_queue()
    contact = await client.new_queue(q.QueueMode.CONTACT)
    for body in (b"a", b"b"):
        assert await client.send(full, body) == q.Ok()
    assert await client.send(full, b"c") == q.Err(ErrorCode.QUOTA)
    assert await client.one(off.recipient_id, q.Suspend(), off.recipient_mac_key) == q.Ok()
    assert await client.one(gone.recipient_id, q.Delete(), gone.recipient_mac_key) == q.Ok()
    await client.aclose()
    await srv.stop()
    await srv.start()

    client = await make_client(srv, stream=True)
    assert await client.send(full, b"d") == q.Err(ErrorCode.QUOTA)
    assert await client.send(off, b"x") == q.Err(ErrorCode.AUTH)
    assert await client.subscribe(gone) == q.Err(ErrorCode.AUTH)
    assert await client.one(contact.sender_id, q.Send(b"hi"), None) == q.Ok()
    pair, mac_key = client.sender_keys(contact)
    assert await client.one(contact.sender_id, q.SecureQueue(pair.public),
                            mac_key) == q.Err(ErrorCode.PROHIBITED)
    await client.subscribe(full)
    assert await _drain(client, full, 3) == [b"a", b"b", b""]  # the last is the QUOTA marker
    assert await client.send(full, b"e") == q.Ok()


# --------------------------------------------------------------- a real process


async def test_kill_9_loses_nothing_acknowledged(tmp_path: Path,
                                                 server_databases: Callable[[], str | None]
                                                 ) -> None:
    data_dir = tmp_path / "server"
    logs = [tmp_path / "run1.log", tmp_path / "run2.log"]
    db = server_databases()  # None: SQLite in the data dir
    async with _server_process(data_dir, 0, logs[0], db) as (proc, line):
        match = ADDRESS.match(line)
        assert match, line
        fingerprint, port = match[1], int(match[2])
        assert await _cli_address(data_dir) == line
        address = ServerAddress.parse(line)
        async with RawClient(address) as client:
            await client.stream()
            queues = [await client.new_queue() for _ in range(2)]
            for queue in queues:
                await client.secure(queue)
            bodies = [b"body %d" % i for i in range(12)]
            # Sent one by one, and then in a batch; every one was answered OK.
            for body in bodies[:6]:
                assert await client.send(queues[0], body) == q.Ok()
            key = queues[0].sender_mac_key
            assert await client.run([(queues[0].sender_id, q.Send(b), key)
                                     for b in bodies[6:]]) == [q.Ok()] * 6
            assert await client.send(queues[1], b"other queue") == q.Ok()
            # The recipient takes the first three; the fourth is in flight, not acked.
            await client.subscribe(queues[0])
            for body in bodies[:3]:
                got = await client.receive(queues[0])
                assert got.message.body == body
                assert await client.ack(queues[0], got.frame.msg_id) == q.Ok()
            assert (await client.receive(queues[0])).message.body == bodies[3]
            os.kill(proc.pid, signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL

    async with _server_process(data_dir, port, logs[1], db) as (_, line2):
        assert line2 == line  # same fingerprint, same port
        assert ADDRESS.match(line2)[1] == fingerprint  # type: ignore[index]
        async with RawClient(address) as client:
            await client.stream()
            await client.subscribe(queues[0])
            assert await _drain(client, queues[0], 9) == bodies[3:]  # exactly once, in order
            await client.subscribe(queues[1])
            assert await _drain(client, queues[1], 1) == [b"other queue"]
            # Re-subscribing finds nothing more: acknowledged messages are gone for good.
            await client.subscribe(queues[0])
            await client.no_frame(0.2)

    text = "\n".join(p.read_text() for p in logs)
    assert "queue server started" in logs[0].read_text()
    assert "queue server started" in logs[1].read_text()
    for queue in queues:
        for entity in (queue.recipient_id, queue.sender_id):
            for form in (b64encode(entity), base64.b64encode(entity).decode(), entity.hex()):
                assert form not in text


# ----------------------------------------------------------------------- helpers


async def _drain(client: RawClient, queue: QueueHandle, n: int) -> list[bytes]:
    """Receive and acknowledge ``n`` messages, check that no more come; the bodies."""
    bodies: list[bytes] = []
    for _ in range(n):
        got = await client.receive(queue)
        bodies.append(got.message.body)
        assert await client.ack(queue, got.frame.msg_id) == q.Ok()
    await client.no_frame(0.2)
    return bodies


@contextlib.asynccontextmanager
async def _server_process(data_dir: Path, port: int, log: Path, db: str | None = None
                          ) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`simplextui server` in a child process (``db``: its ``--db`` URL); yields it and the
    first line of its stdout."""
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simplextui.cli", "server", "--data-dir", str(data_dir),
            "--port", str(port), *(("--db", db) if db else ()),
            stdout=asyncio.subprocess.PIPE, stderr=err)
    try:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
        except TimeoutError:
            line = b""
        assert line, f"server did not start: {log.read_bytes()!r}"  # noqa: ASYNC240
        yield proc, line.decode().strip()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _cli_address(data_dir: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simplextui.cli", "server", "address", "--data-dir",
        str(data_dir), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()
