"""The transport against real queue servers over TLS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from simplextui.protocol.errors import ErrorCode
from simplextui.protocol.queue import QueueMode
from simplextui.server.runner import EmbeddedServer, ServerConfig
from simplextui.transport import (
    ClientPool,
    MessageReceived,
    QueueClient,
    QueueDeleted,
    QuotaMarker,
    ServerConnected,
    ServerDisconnected,
    ServerError,
    ServerUnreachable,
    SubscriptionEnded,
)

from .conftest import FAST, EventLog

MakeClient = Callable[..., QueueClient]


def is_from(rid: bytes) -> Callable[[MessageReceived], bool]:
    return lambda e: e.recipient_id == rid


async def no_event(events: EventLog, kind: type, predicate: Callable[..., bool],
                   wait: float = 0.3) -> bool:
    await asyncio.sleep(wait)
    return not [e for e in events.of(kind) if predicate(e)]


async def restart(server: EmbeddedServer, events: EventLog) -> int:
    """Stop and start the server; returns how many ServerConnected came before the start.

    Counters are read only once ``stop`` has returned: while the server shuts down it may
    still accept a reconnect, which then dies with it.
    """
    await server.stop()
    await events.wait_for(ServerDisconnected)
    return len(events.of(ServerConnected))


async def test_queue_life_cycle(server: EmbeddedServer, make_client: MakeClient,
                                events: EventLog) -> None:
    recipient = make_client(server.address, on_event=events)
    sender = make_client(server.address)
    q = await recipient.create_queue()
    s = await sender.secure_queue(q.sender_id, q.server_sender_key)
    assert await recipient.subscribe([q]) == {q.recipient_id: None}
    await events.wait_for(ServerConnected)

    await sender.send(s, b"first", flags=1)
    msg = await events.take(MessageReceived, is_from(q.recipient_id))
    assert (msg.body, msg.flags, msg.server) == (b"first", 1, server.address)
    await recipient.ack(q, msg.msg_id)

    await sender.send(s, b"queued before OFF")
    await recipient.suspend(q)
    with pytest.raises(ServerError) as refused:
        await sender.send(s, b"after OFF")
    assert refused.value.code is ErrorCode.AUTH
    queued = await events.take(MessageReceived, is_from(q.recipient_id))
    assert queued.body == b"queued before OFF"  # still receivable after OFF
    await recipient.ack(q, queued.msg_id)

    await recipient.delete(q)
    assert q.recipient_id not in recipient.subscribed
    for call in (recipient.ack(q, queued.msg_id), recipient.suspend(q)):
        with pytest.raises(ServerError) as gone:
            await call
        assert gone.value.code is ErrorCode.AUTH
    assert (await recipient.subscribe([q]))[q.recipient_id] == ServerError(ErrorCode.AUTH)


async def test_securing_twice_with_another_key_is_refused(server: EmbeddedServer,
                                                          make_client: MakeClient) -> None:
    client = make_client(server.address)
    q = await client.create_queue()
    await client.secure_queue(q.sender_id, q.server_sender_key)
    with pytest.raises(ServerError) as refused:
        await client.secure_queue(q.sender_id, q.server_sender_key)
    assert refused.value.code is ErrorCode.AUTH


async def test_deleted_and_ended_subscriptions_are_reported(
        server: EmbeddedServer, make_client: MakeClient, events: EventLog) -> None:
    first = make_client(server.address, on_event=events)
    second = make_client(server.address)
    a, b = await first.create_queues(2)
    await first.subscribe([a, b])
    await second.subscribe([a])  # another session takes a's subscription: END
    ended = await events.take(SubscriptionEnded)
    assert ended.recipient_id == a.recipient_id and a.recipient_id not in first.subscribed
    await second.delete(b)  # deleted through another session: DELD
    deleted = await events.take(QueueDeleted)
    assert deleted.recipient_id == b.recipient_id and first.subscribed == frozenset()


async def test_contact_queue_takes_unauthenticated_sends(
        server: EmbeddedServer, make_client: MakeClient, events: EventLog) -> None:
    recipient = make_client(server.address, on_event=events)
    q = await recipient.create_queue(QueueMode.CONTACT)
    await recipient.subscribe([q])
    stranger = make_client(server.address)
    s = await stranger.contact_sender(q.sender_id)
    await stranger.send(s, b"let's connect")
    msg = await events.take(MessageReceived, is_from(q.recipient_id))
    assert msg.body == b"let's connect"
    with pytest.raises(ServerError) as refused:
        await stranger.secure_queue(q.sender_id, q.server_sender_key)
    assert refused.value.code is ErrorCode.PROHIBITED


async def test_flow_control_next_message_only_after_ack(
        server: EmbeddedServer, make_client: MakeClient, events: EventLog) -> None:
    client = make_client(server.address, on_event=events)
    q = await client.create_queue()
    s = await client.secure_queue(q.sender_id, q.server_sender_key)
    await client.subscribe([q])
    await asyncio.gather(client.send(s, b"one"), client.send(s, b"two"))
    first = await events.take(MessageReceived, is_from(q.recipient_id))
    assert first.body == b"one"
    assert await no_event(events, MessageReceived, is_from(q.recipient_id))
    await client.ack(q, first.msg_id)
    second = await events.take(MessageReceived, is_from(q.recipient_id))
    assert second.body == b"two"


async def test_full_queue_gives_quota_then_a_marker(
        make_server: Callable[..., object], make_client: MakeClient, events: EventLog) -> None:
    srv: EmbeddedServer = await make_server("small", queue_quota=2)  # type: ignore[misc]
    client = make_client(srv.address, on_event=events)
    q = await client.create_queue()
    s = await client.secure_queue(q.sender_id, q.server_sender_key)
    await client.send(s, b"1")
    await client.send(s, b"2")
    with pytest.raises(ServerError) as full:
        await client.send(s, b"3")
    assert full.value.code is ErrorCode.QUOTA
    await client.subscribe([q])
    for body in (b"1", b"2"):
        msg = await events.take(MessageReceived, is_from(q.recipient_id))
        assert msg.body == body
        await client.ack(q, msg.msg_id)
    marker = await events.take(QuotaMarker)
    await client.ack(q, marker.msg_id)
    await client.send(s, b"resumed")
    assert (await events.take(MessageReceived, is_from(q.recipient_id))).body == b"resumed"


async def test_link_records(server: EmbeddedServer, make_client: MakeClient) -> None:
    client = make_client(server.address)
    link_id = os.urandom(24)
    owner = await client.create_link(link_id, b"fixed", b"user v1")
    reader = make_client(server.address)
    data = await reader.get_link(link_id)
    assert (data.fixed_data, data.user_data) == (b"fixed", b"user v1")
    await client.set_link(owner, b"user v2")
    assert (await reader.get_link(link_id)).user_data == b"user v2"
    with pytest.raises(ServerError) as duplicate:
        await reader.create_link(link_id, b"other", b"")
    assert duplicate.value.code is ErrorCode.DUPLICATE
    await client.delete_link(owner)
    with pytest.raises(ServerError) as gone:
        await reader.get_link(link_id)
    assert gone.value.code is ErrorCode.AUTH


async def test_batching_thousand_queues_and_resubscribing_in_one_request(
        server: EmbeddedServer, make_client: MakeClient, events: EventLog) -> None:
    client = make_client(server.address, on_event=events)
    await client.connect()
    queues = await client.create_queues(1000)
    assert client.batch_requests == 1
    concurrent = await asyncio.gather(*(client.create_queue() for _ in range(100)))
    assert len({q.recipient_id for q in concurrent}) == 100
    assert client.batch_requests == 2  # 100 concurrent calls, one request
    before = client.batch_requests
    result = await client.subscribe(queues)
    assert all(v is None for v in result.values()) and len(result) == 1000
    assert client.batch_requests == before + 1
    await events.wait_for(ServerConnected)

    connected = await restart(server, events)
    before, sessions = client.batch_requests, client.sessions_opened
    await server.start()
    await events.wait_for(ServerConnected, count=connected + 1)
    assert client.batch_requests == before + 1  # every queue resubscribed in one request
    assert client.sessions_opened == sessions + 1
    assert client.subscribed == {q.recipient_id for q in queues}

    s = await client.secure_queue(queues[-1].sender_id, queues[-1].server_sender_key)
    await client.send(s, b"after restart")
    msg = await events.take(MessageReceived, is_from(queues[-1].recipient_id))
    assert msg.body == b"after restart"


async def test_server_restart_mid_subscription_loses_nothing(
        server: EmbeddedServer, make_client: MakeClient, events: EventLog) -> None:
    recipient = make_client(server.address, on_event=events)
    sender = make_client(server.address)
    q = await recipient.create_queue()
    s = await sender.secure_queue(q.sender_id, q.server_sender_key)
    await recipient.subscribe([q])
    await sender.send(s, b"before")
    unacked = await events.take(MessageReceived, is_from(q.recipient_id))

    connected = await restart(server, events)
    await server.start()
    await events.wait_for(ServerConnected, count=connected + 1)
    # Not acknowledged before the restart: delivered again in the new session.
    again = (await events.wait_for(MessageReceived, is_from(q.recipient_id)))[-1]
    assert (again.msg_id, again.body) == (unacked.msg_id, b"before")
    await recipient.ack(q, again.msg_id)
    await sender.send(s, b"after")  # the sender's session is renewed transparently
    after = await events.take(MessageReceived, lambda e: e.body == b"after")
    await recipient.ack(q, after.msg_id)
    assert sender.sessions_opened == 2


async def test_dead_stream_is_detected_by_missing_pings(
        tmp_path: Path, make_client: MakeClient, events: EventLog) -> None:
    # A server that pings only once a minute looks dead to a client expecting a frame in 0.4 s.
    async with EmbeddedServer(ServerConfig(data_dir=tmp_path / "quiet",
                                           ping_interval=60.0)) as srv:
        client = make_client(srv.address, on_event=events, ping_timeout=0.4)
        q = await client.create_queue()
        s = await client.secure_queue(q.sender_id, q.server_sender_key)
        await client.subscribe([q])
        down = (await events.wait_for(ServerDisconnected))[0]
        assert "no frame" in down.reason
        await events.wait_for(ServerConnected, count=2)
        await client.send(s, b"still subscribed")
        assert (await events.take(MessageReceived)).body == b"still subscribed"
        await client.close()


async def test_many_concurrent_sends_share_few_requests(
        server: EmbeddedServer, make_client: MakeClient, events: EventLog) -> None:
    client = make_client(server.address, on_event=events)
    queues = await client.create_queues(200)
    senders = await asyncio.gather(
        *(client.secure_queue(q.sender_id, q.server_sender_key) for q in queues))
    await client.subscribe(queues)
    before = client.batch_requests
    results = await client.send_many([(s, b"m%d" % i, 0) for i, s in enumerate(senders)])
    assert results == [None] * 200
    assert client.batch_requests == before + 1
    received = await events.wait_for(MessageReceived, count=200)
    before = client.batch_requests
    await asyncio.gather(*(client.ack(queues[i], m.msg_id) for i, m in enumerate(
        sorted(received, key=lambda m: int(m.body[1:])))))
    assert client.batch_requests == before + 1


async def test_pool_keeps_live_server_fast_while_another_is_down(
        make_server: Callable[..., object]) -> None:
    live: EmbeddedServer = await make_server("live")  # type: ignore[misc]
    dead: EmbeddedServer = await make_server("dead")  # type: ignore[misc]
    async with ClientPool(**{**FAST, "timeout": 2.0}) as pool:
        assert pool.get(live.address) is pool.get(live.address)
        await pool.get(dead.address).ping()
        await dead.stop()
        stuck = asyncio.create_task(pool.get(dead.address).ping())
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(5):
            await pool.get(live.address).ping()
        assert loop.time() - started < 0.5
        assert not stuck.done()
        with pytest.raises(ServerUnreachable):
            await stuck
        assert len(pool) == 2


async def test_subscribe_while_the_server_is_down_subscribes_once_it_is_up(
        server: EmbeddedServer, make_client: MakeClient, events: EventLog) -> None:
    """A client started with the server down: ``subscribe`` raises ServerUnreachable but
    remembers the queues, and the stream subscribes them when the server comes back."""
    creator = make_client(server.address)
    sender = make_client(server.address)
    q = await creator.create_queue()
    s = await sender.secure_queue(q.sender_id, q.server_sender_key)
    await server.stop()

    recipient = make_client(server.address, on_event=events, timeout=0.5)
    with pytest.raises(ServerUnreachable):
        await recipient.subscribe([q])
    assert q.recipient_id in recipient.subscribed
    assert not recipient.connected

    await server.start()
    await events.wait_for(ServerConnected)
    await sender.send(s, b"sent after the server came back")
    got = await events.take(MessageReceived, is_from(q.recipient_id))
    assert got.body == b"sent after the server came back"
    await recipient.ack(q, got.msg_id)
    assert recipient.connected
