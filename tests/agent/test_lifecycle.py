"""Deleting connections, sending in bulk, and events that survive a crash."""

from __future__ import annotations

import asyncio

import pytest

from simplextui.agent import (
    AgentError,
    Connected,
    ConnectionDeleted,
    ConnectionError,
    ConnectionNotFound,
    ConnectionRequest,
    DeliveryReceipt,
    MessageSent,
)
from simplextui.agent.events import AgentEvent
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentPendingEvent
from simplextui.store.db import open_database
from simplextui.transport import QueueClient
from tests.agent.conftest import MakePeer, connect, fast_config
from tests.agent.helpers import FAST_CLIENT, receiver_of


async def test_delete_connection_tells_the_peer(server: EmbeddedServer,
                                                make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    await alice.a.send(a_conn, b"bye")
    await bob.wait_bodies(b_conn, 1)
    await alice.a.delete_connection(a_conn)
    await bob.wait_event(ConnectionDeleted, conn_id=b_conn)
    assert a_conn not in await alice.a.connection_ids()
    assert b_conn not in await bob.a.connection_ids()
    with pytest.raises(ConnectionNotFound):
        await alice.a.send(a_conn, b"x")
    with pytest.raises(ConnectionNotFound):
        await bob.a.safety_code(b_conn)


async def test_offline_peer_and_lost_queue(server: EmbeddedServer,
                                           make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    await bob.stop()  # bob is offline: the DEL waits in his queue
    await alice.a.delete_connection(a_conn)
    await bob.start()
    await bob.wait_event(ConnectionDeleted, conn_id=b_conn)

    # A new connection of alice's (ids of deleted rows are not reused).
    carol = await make_peer("carol", [server.address])
    c_conn, a2 = await connect(carol, alice)
    # Carol's receive queue disappears from the server without a DEL (as if lost):
    # carol hears it from the server, alice's next message fails with a clear error.
    async with QueueClient(server.address, **FAST_CLIENT) as client:
        await client.delete(await receiver_of(carol, c_conn))
    error = await carol.wait_event(ConnectionError, conn_id=c_conn)
    assert "deleted" in error.error
    await alice.a.send(a2, b"anyone there?")
    error = await alice.wait_event(ConnectionError, conn_id=a2)
    assert "queue is gone" in error.error


async def test_send_many_one_transaction(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    peers = [await make_peer(f"p{i}", [server.address]) for i in range(3)]
    conns = [await connect(alice, peer) for peer in peers]
    items = [(a_conn, f"to {i} #{n}".encode()) for n in range(5)
             for i, (a_conn, _) in enumerate(conns)]
    ids = await alice.a.send_many(items)
    assert len(ids) == 15
    for i, (peer, (_, p_conn)) in enumerate(zip(peers, conns, strict=True)):
        assert await peer.wait_bodies(p_conn, 5) == [f"to {i} #{n}".encode() for n in range(5)]
    await alice.wait(lambda _: len(alice.of(DeliveryReceipt)) == 15)
    with pytest.raises(AgentError, match="at most"):
        await alice.a.send_many([(conns[0][0], b"x" * 20_000)])
    with pytest.raises(ConnectionNotFound):
        await alice.a.send_many([(conns[0][0], b"ok"), ("nope", b"x")])


async def test_events_survive_a_crash_before_delivery(server: EmbeddedServer,
                                                      make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address], config=fast_config(stop_timeout=0.3))
    bob = await make_peer("bob", [server.address])
    blocked = asyncio.Event()

    async def hang_on_connected(event: AgentEvent) -> None:
        if isinstance(event, Connected | ConnectionRequest | MessageSent):
            blocked.set()
            await asyncio.sleep(3600)  # the chat layer never returns: a crash follows

    alice.gate = hang_on_connected
    address = await alice.a.create_address()
    await bob.a.join(address, b"bob")
    async with asyncio.timeout(10):
        await blocked.wait()
    await alice.stop()  # the ConnectionRequest was committed but never delivered
    alice.gate = None
    await alice.start()
    request = await alice.wait_event(ConnectionRequest)
    assert request.info == b"bob"
    a_conn = await alice.a.accept_request(request.request_id, b"alice")
    await alice.wait_event(Connected, conn_id=a_conn)
    await alice.restart()
    await asyncio.sleep(0.3)
    assert len(alice.of(ConnectionRequest)) == 1  # delivered events are not repeated
    assert len(alice.of(Connected)) == 1


async def test_an_event_the_chat_layer_failed_on_comes_again(server: EmbeddedServer,
                                                             make_peer: MakePeer) -> None:
    """on_event raised (e.g. the chat layer's database was locked): the event was not
    delivered, so it is not forgotten; it comes again on the next start."""
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    failed = asyncio.Event()

    async def fail_on_request(event: AgentEvent) -> None:
        if isinstance(event, ConnectionRequest):
            failed.set()
            raise RuntimeError("database is locked")

    alice.gate = fail_on_request
    address = await alice.a.create_address()
    await bob.a.join(address, b"bob")
    async with asyncio.timeout(10):
        await failed.wait()
    assert not alice.of(ConnectionRequest)
    alice.gate = None
    await alice.restart()
    request = await alice.wait_event(ConnectionRequest)
    assert request.info == b"bob"
    await alice.restart()
    await asyncio.sleep(0.3)
    assert len(alice.of(ConnectionRequest)) == 1  # delivered: not repeated any more


async def test_a_journaled_event_of_a_newer_version_does_not_stop_the_start(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    """After a downgrade the journal may hold events this version cannot decode: they are
    skipped (and kept), the others delivered, and the agent starts."""
    alice = await make_peer("alice", [server.address])
    await alice.stop()
    db = await open_database(alice.path, create_all=True)
    async with db.session() as s, s.begin():
        for kind, payload in (("ConnectionMoved", {"conn_id": "c1"}),
                              ("Connected", {"conn_id": "c2", "peer_info": "", "new": 1}),
                              ("ConnectionError", {"conn_id": None, "error": "still here"})):
            s.add(AgentPendingEvent(kind=kind, payload=payload))
    await db.close()
    await alice.start()
    event = await alice.wait_event(ConnectionError, conn_id=None)
    assert event.error == "still here"
    assert not alice.of(Connected)
