"""Flow control, queue quota and message expiry against a real server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode
from simplextui.server.runner import EmbeddedServer
from tests.server.raw_client import ClientFactory, QueueHandle, RawClient

QUOTA = q.Err(ErrorCode.QUOTA)
NO_MSG = q.Err(ErrorCode.NO_MSG)
MakeServer = Callable[..., Any]


async def _secured_queue(client: RawClient, bodies: list[bytes]) -> QueueHandle:
    queue = await client.new_queue()
    await client.secure(queue)
    for body in bodies:
        assert await client.send(queue, body) == q.Ok()
    return queue


# ------------------------------------------------------------------------- flow control


async def test_next_message_only_after_ack(client: RawClient) -> None:
    queue = await _secured_queue(client, [b"one", b"two", b"three"])
    await client.subscribe(queue)
    first = await client.receive(queue)
    assert first.message.body == b"one"
    await client.no_frame(0.3)  # "two" waits for the ACK of "one"
    assert await client.ack(queue, bytes(q.ID_SIZE)) == NO_MSG
    await client.no_frame(0.1)
    assert await client.ack(queue, first.frame.msg_id) == q.Ok()
    second = await client.receive(queue)
    assert second.message.body == b"two"
    assert await client.ack(queue, first.frame.msg_id) == NO_MSG  # acked already
    assert await client.ack(queue, second.frame.msg_id) == q.Ok()
    assert (await client.receive(queue)).message.body == b"three"


async def test_ack_without_subscription_is_no_msg(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    owner = await make_client(server, stream=True)
    other = await make_client(server)
    queue = await _secured_queue(owner, [b"m"])
    await owner.subscribe(queue)
    got = await owner.receive(queue)
    # Another session of the recipient, not subscribed, cannot ACK it.
    assert await other.ack(queue, got.frame.msg_id) == NO_MSG
    assert await owner.ack(queue, got.frame.msg_id) == q.Ok()


async def test_unacked_message_redelivered_after_resubscribe(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    client = await make_client(server, stream=True)
    queue = await _secured_queue(client, [b"first", b"second"])
    await client.subscribe(queue)
    got = await client.receive(queue)
    assert got.message.body == b"first"
    # Re-SUB in the same session: the same message again, same id.
    assert await client.subscribe(queue) == q.Ok()
    again = await client.receive(queue)
    assert again.frame.msg_id == got.frame.msg_id
    assert again.message == got.message
    await client.no_frame(0.1)
    # Re-SUB from a new session (a reconnecting client): delivered there once more.
    later = await make_client(server, stream=True)
    await later.subscribe(queue)
    assert await client.next_frame() == q.EndFrame(queue.recipient_id)
    third = await later.receive(queue)
    assert third.frame.msg_id == got.frame.msg_id
    assert await later.ack(queue, third.frame.msg_id) == q.Ok()
    assert (await later.receive(queue)).message.body == b"second"


async def test_messages_of_many_queues_flow_independently(client: RawClient) -> None:
    queues = [await _secured_queue(client, [b"a%d" % i, b"b%d" % i]) for i in range(3)]
    responses = await client.run([(qh.recipient_id, q.Subscribe(), qh.recipient_mac_key)
                                  for qh in queues])
    assert responses == [q.Ok()] * 3
    frames = [await client.next_frame() for _ in queues]
    assert all(isinstance(f, q.MessageFrame) for f in frames)
    assert {f.recipient_id for f in frames if isinstance(f, q.MessageFrame)} == {
        qh.recipient_id for qh in queues}
    await client.no_frame(0.2)  # each queue holds its second message until the ACK


# ---------------------------------------------------------------------------- quota


async def test_quota_refuses_then_marks_then_recovers(
        make_server: MakeServer, make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("quota", queue_quota=3)
    recipient = await make_client(srv, stream=True)
    sender = await make_client(srv)
    queue = await recipient.new_queue()
    await sender.secure(queue)
    for i in range(3):
        assert await sender.send(queue, b"m%d" % i) == q.Ok()
    assert await sender.send(queue, b"m3") == QUOTA
    assert await sender.send(queue, b"m4") == QUOTA
    await recipient.subscribe(queue)
    for i in range(3):
        got = await recipient.receive(queue)
        assert got.message.kind == q.MessageKind.MESSAGE
        assert got.message.body == b"m%d" % i
        assert await recipient.ack(queue, got.frame.msg_id) == q.Ok()
        # Room was made, but the sender stays refused until the marker is acknowledged.
        assert await sender.send(queue, b"too soon") == QUOTA
    marker = await recipient.receive(queue)
    assert marker.message.kind == q.MessageKind.QUOTA
    assert marker.message.body == b""
    assert await sender.send(queue, b"still too soon") == QUOTA
    assert await recipient.ack(queue, marker.frame.msg_id) == q.Ok()
    await recipient.no_frame(0.1)  # exactly one marker, whatever the number of refusals
    assert await sender.send(queue, b"m5") == q.Ok()
    got = await recipient.receive(queue)
    assert (got.message.kind, got.message.body) == (q.MessageKind.MESSAGE, b"m5")


async def test_quota_in_one_batch(make_server: MakeServer, make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("quota", queue_quota=3)
    client = await make_client(srv, stream=True)
    queue = await _secured_queue(client, [])
    key = queue.sender_mac_key
    responses = await client.run([(queue.sender_id, q.Send(b"%d" % i), key) for i in range(6)])
    assert responses == [q.Ok()] * 3 + [QUOTA] * 3
    assert (await srv.core.store.stats())["messages"] == 4  # 3 messages and one marker


# --------------------------------------------------------------------------- expiry


async def test_unreceived_message_expires(make_server: MakeServer,
                                          make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("ttl", message_ttl=0.5, expiry_interval=0.2)
    client = await make_client(srv, stream=True)
    queue = await _secured_queue(client, [b"old"])
    await asyncio.sleep(0.6)
    await srv.core.sweep()
    assert (await srv.core.store.stats())["messages"] == 0
    await client.subscribe(queue)
    await client.no_frame(0.3)
    # The queue still works, and has room again.
    assert await client.send(queue, b"new") == q.Ok()
    assert (await client.receive(queue)).message.body == b"new"


async def test_expired_message_is_not_delivered_before_the_sweep(
        make_server: MakeServer, make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("ttl", message_ttl=0.5, expiry_interval=60)
    client = await make_client(srv, stream=True)
    queue = await _secured_queue(client, [b"old"])
    await asyncio.sleep(0.6)
    assert (await srv.core.store.stats())["messages"] == 1  # not swept yet
    await client.subscribe(queue)
    await client.no_frame(0.3)
    assert await client.send(queue, b"new") == q.Ok()
    assert (await client.receive(queue)).message.body == b"new"


async def test_expired_unacked_message_does_not_block_the_queue(
        make_server: MakeServer, make_client: ClientFactory) -> None:
    srv: EmbeddedServer = await make_server("ttl", message_ttl=0.5, expiry_interval=0.2)
    assert srv.core is not None
    now = [time.time()]
    srv.core.clock = lambda: now[0]  # the server's clock, stepped by the test (sweeper too)
    client = await make_client(srv, stream=True)
    queue = await _secured_queue(client, [b"first"])
    await client.subscribe(queue)
    first = await client.receive(queue)
    assert first.message.body == b"first"
    now[0] += 0.3
    assert await client.send(queue, b"second") == q.Ok()
    await client.no_frame(0.1)  # "first" is in flight, unacknowledged
    now[0] += 0.3  # "first" is 0.6 s old, "second" 0.3 s
    assert await srv.core.sweep() in (0, 1)  # the background sweeper may have been first
    second = await client.receive(queue)
    assert second.message.body == b"second"
    assert await client.ack(queue, first.frame.msg_id) == NO_MSG
    assert await client.ack(queue, second.frame.msg_id) == q.Ok()
    assert (await srv.core.store.stats())["messages"] == 0
