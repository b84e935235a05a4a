"""The pending-message cache changes nothing a client can see: with bodies over budget,
after a restart (lists rebuilt from the database), across sessions and expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode
from simplextui.server.runner import EmbeddedServer
from tests.server.raw_client import ClientFactory, QueueHandle, RawClient

MakeServer = Callable[..., Any]


async def _queue_with(client: RawClient, bodies: list[bytes]) -> QueueHandle:
    queue = await client.new_queue()
    await client.secure(queue)
    for body in bodies:
        assert await client.send(queue, body) == q.Ok()
    return queue


async def _receive_all(client: RawClient, queue: QueueHandle, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        got = await client.receive(queue)
        out.append(got.message.body)
        assert await client.ack(queue, got.frame.msg_id) == q.Ok()
    return out


async def test_bodies_over_the_budget_are_read_from_the_database(
        make_server: MakeServer, make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("tiny", pending_cache_bytes=10)
    client = await make_client(srv, stream=True)
    bodies = [b"small", b"x" * q.MAX_BODY, b"y" * 100, b"", b"last"]
    queue = await _queue_with(client, bodies[:2])
    await client.subscribe(queue)
    for body in bodies[2:]:
        assert await client.send(queue, body) == q.Ok()
    assert await _receive_all(client, queue, len(bodies)) == bodies
    await client.no_frame(0.1)
    assert await client.send(queue, b"to an idle subscriber") == q.Ok()
    assert await _receive_all(client, queue, 1) == [b"to an idle subscriber"]


async def test_lists_are_rebuilt_after_a_restart(server: EmbeddedServer,
                                                 make_client: ClientFactory) -> None:
    client = await make_client(server, stream=True)
    busy = await _queue_with(client, [b"a", b"b", b"c"])
    empty = await _queue_with(client, [])
    await client.aclose()
    await server.stop()
    await server.start()
    client = await make_client(server, stream=True)
    assert await client.run([(busy.recipient_id, q.Subscribe(), busy.recipient_mac_key),
                             (empty.recipient_id, q.Subscribe(), empty.recipient_mac_key)]
                            ) == [q.Ok(), q.Ok()]
    got = await client.receive(busy)
    assert got.message.body == b"a"
    assert await client.send(busy, b"d") == q.Ok()  # appended to the rebuilt list
    assert await client.ack(busy, got.frame.msg_id) == q.Ok()
    assert await _receive_all(client, busy, 3) == [b"b", b"c", b"d"]
    assert await client.send(empty, b"first") == q.Ok()
    assert await _receive_all(client, empty, 1) == [b"first"]


async def test_a_new_session_gets_the_unacknowledged_message_then_the_rest(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    first = await make_client(server, stream=True)
    queue = await _queue_with(first, [b"one", b"two"])
    await first.subscribe(queue)
    delivered = await first.receive(queue)
    later = await make_client(server, stream=True)
    await later.subscribe(queue)
    again = await later.receive(queue)
    assert again.frame.msg_id == delivered.frame.msg_id
    assert await first.ack(queue, delivered.frame.msg_id) == q.Err(ErrorCode.NO_MSG)
    assert await later.ack(queue, again.frame.msg_id) == q.Ok()
    assert await _receive_all(later, queue, 1) == [b"two"]


async def test_expired_messages_are_skipped_and_swept(make_server: MakeServer,
                                                      make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("ttl", message_ttl=0.4, expiry_interval=60)
    client = await make_client(srv, stream=True)
    queue = await _queue_with(client, [b"old", b"older"])
    await client.subscribe(queue)
    first = await client.receive(queue)
    await asyncio.sleep(0.5)
    assert await client.send(queue, b"fresh") == q.Ok()
    assert await client.ack(queue, first.frame.msg_id) == q.Ok()
    assert await _receive_all(client, queue, 1) == [b"fresh"]  # "older" expired meanwhile
    assert srv.core is not None
    assert await srv.core.sweep() == 1
    assert await client.send(queue, b"after the sweep") == q.Ok()
    assert await _receive_all(client, queue, 1) == [b"after the sweep"]
