"""Deleting a connection once its outbox is empty (``after_outbox``), across restarts."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from simplextui.agent import AgentConnectionError, ConnectionDeleted, MessageSent
from simplextui.agent.errors import ConnectionNotReady
from simplextui.agent.repo import OutboxItem
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentConnection, AgentReceivedDigest
from simplextui.store.db import open_database
from simplextui.transport import QueueClient
from tests.agent.conftest import MakePeer, connect, fast_config
from tests.agent.helpers import FAST_CLIENT, receiver_of, until


async def test_deletion_waits_for_the_outbox_across_a_restart(server: EmbeddedServer,
                                                               make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    await alice.a.send(a_conn, b"hello")
    await bob.wait_bodies(b_conn, 1)

    await server.stop()  # the notice cannot leave
    notice = await alice.a.send(a_conn, b"I left the group")
    await alice.a.delete_connection(a_conn, after_outbox=True)
    assert a_conn in await alice.a.connection_ids()  # kept: its outbox is not empty
    with pytest.raises(ConnectionNotReady, match="being deleted"):
        await alice.a.send(a_conn, b"too late")
    with pytest.raises(ConnectionNotReady, match="being deleted"):
        await alice.a.send_many([(a_conn, b"too late")])
    await alice.a.delete_connection(a_conn, after_outbox=True)  # again: no second DEL

    await alice.restart()  # the mark and the outbox survive
    assert a_conn in await alice.a.connection_ids()
    await server.start()

    assert await bob.wait_bodies(b_conn, 2, timeout=15) == [b"hello", b"I left the group"]
    await bob.wait_event(ConnectionDeleted, 15, conn_id=b_conn, by_peer=True)  # our DEL
    await alice.wait_event(ConnectionDeleted, 15, conn_id=a_conn, by_peer=False)
    assert alice.of(MessageSent, conn_id=a_conn, agent_msg_id=notice)
    sent_at = alice.events.index(alice.of(MessageSent, conn_id=a_conn, agent_msg_id=notice)[0])
    assert sent_at < alice.events.index(alice.of(ConnectionDeleted, conn_id=a_conn)[0])
    assert a_conn not in await alice.a.connection_ids()
    assert b_conn not in await bob.a.connection_ids()
    assert len(bob.of(ConnectionDeleted, conn_id=b_conn)) == 1


async def test_nothing_to_send_deletes_at_once(server: EmbeddedServer,
                                               make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    conn_id, _ = await alice.a.create_invitation(b"alice")  # no keys yet: cannot send
    await alice.a.delete_connection(conn_id, after_outbox=True)
    assert conn_id not in await alice.a.connection_ids()


async def test_unfinished_deletion_is_finished_at_start(server: EmbeddedServer,
                                                        make_peer: MakePeer) -> None:
    """The outbox emptied but the process stopped before the connection was deleted."""
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    await alice.a.send(a_conn, b"last")
    await bob.wait_bodies(b_conn, 1)
    await alice.stop()
    db = await open_database(alice.path, create_all=True)
    async with db.session() as s, s.begin():
        await s.execute(update(AgentConnection).where(AgentConnection.id == a_conn)
                        .values(closing=True))
    await db.close()
    await alice.start()
    await alice.wait_event(ConnectionDeleted, 10, conn_id=a_conn, by_peer=False)
    assert a_conn not in await alice.a.connection_ids()


async def test_deleting_now_still_works(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    await alice.a.delete_connection(a_conn)
    assert a_conn not in await alice.a.connection_ids()
    await bob.wait_event(ConnectionDeleted, 10, conn_id=b_conn, by_peer=True)
    await asyncio.sleep(0.1)
    assert not alice.of(ConnectionDeleted)  # deleting now reports nothing


async def test_a_refused_last_message_still_ends_the_deletion(server: EmbeddedServer,
                                                             make_peer: MakePeer) -> None:
    """The peer's queue is gone: the rows fail for good, and the connection is deleted."""
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    rq = await receiver_of(bob, b_conn)
    await bob.stop()  # bob goes away without a word; his queue is deleted on the server
    async with QueueClient(rq.server, **FAST_CLIENT) as client:
        await client.delete(rq)
    await alice.a.send(a_conn, b"anyone there?")
    await alice.a.delete_connection(a_conn, after_outbox=True)
    await alice.wait_event(ConnectionDeleted, 10, conn_id=a_conn, by_peer=False)
    assert alice.of(AgentConnectionError, conn_id=a_conn)  # the refusal was reported
    assert a_conn not in await alice.a.connection_ids()


async def test_a_queue_that_could_not_be_deleted_is_not_subscribed_again(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    """Deleting while the server is down: the queue stays on the server, but the client
    stops subscribing it, and its digests go."""
    options = {"timeout": 1.0, "backoff_base": 0.05, "backoff_cap": 0.2, "ping_timeout": 10.0}
    alice = await make_peer("alice", [server.address],
                            config=fast_config(client_options=options))
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    await bob.a.send(b_conn, b"one digest")
    await alice.wait_bodies(a_conn, 1)
    rid = (await receiver_of(alice, a_conn)).recipient_id
    client = alice.a.pool.get(server.address)
    assert rid in client.subscribed
    await server.stop()
    await alice.a.delete_connection(a_conn)
    assert rid not in client.subscribed
    assert alice.db is not None
    async with alice.db.session() as s:
        digests = (await s.execute(select(func.count()).select_from(AgentReceivedDigest)
                                   .where(AgentReceivedDigest.recipient_id == rid))).scalar()
    assert digests == 0


async def test_deletion_marked_while_the_last_row_is_being_recorded(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    """Database units on the threads: the mark commits, then the round that sent the last
    pending row is recorded before the deleting task resumed (so that round did not know the
    connection was closing). The connection must still be deleted."""
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address], config=fast_config(db_on_loop=False))
    address = await alice.a.create_address()
    store = bob.a._ctx.store
    deleting: list[asyncio.Task[None]] = []

    async def delete_during_the_round(items: list[OutboxItem]) -> None:
        if deleting or not any(item.kind == "REQ" for item in items):
            return
        # The request can never be sent again (no keys yet): deleting after the outbox
        # only marks it. Return once the mark is queued for the write thread.
        deleting.append(asyncio.create_task(
            bob.a.delete_connection(items[0].conn_id, after_outbox=True)))
        await until(lambda: bool(store._pending))

    bob.a.outbox.after_send = delete_during_the_round
    b_conn = await bob.a.join(address, b"bob")
    await until(lambda: bool(deleting), timeout=10, step=0.01)
    async with asyncio.timeout(10):
        await deleting[0]
    await bob.wait_event(ConnectionDeleted, 10, conn_id=b_conn, by_peer=False)
    assert b_conn not in await bob.a.connection_ids()
