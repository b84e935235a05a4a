"""Restarts and crashes: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio

from simplextui.agent import DeliveryReceipt, MessageReceived, MessageSent
from simplextui.agent.context import ReceiveTarget
from simplextui.agent.errors import SimulatedCrash
from simplextui.agent.repo import OutboxItem
from simplextui.server.runner import EmbeddedServer
from tests.agent.conftest import MakePeer, connect
from tests.agent.helpers import Capture, raw_send, sender_of


async def test_restart_resumes_outbox_and_reemits_inbox(server: EmbeddedServer,
                                                        make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address], auto_process=False)
    a_conn, b_conn = await connect(alice, bob)
    await alice.a.send(a_conn, b"m0")
    await bob.wait_bodies(b_conn, 1)

    # The server goes away: sends are committed to the outbox and retried.
    await server.stop()
    ids = [await alice.a.send(a_conn, f"m{i}".encode()) for i in range(1, 6)]
    await asyncio.sleep(0.2)
    await alice.restart()  # the outbox survives the restart
    await server.start()
    bodies = await bob.wait_bodies(b_conn, 6, timeout=15)
    assert bodies == [f"m{i}".encode() for i in range(6)]
    await alice.wait(lambda _: {e.agent_msg_id for e in alice.of(MessageSent)} >= set(ids))

    # Bob never processed them: after a restart they come again, still once each.
    bob.events.clear()
    await bob.restart()
    again = await bob.wait_bodies(b_conn, 6)
    assert again == bodies
    for event in bob.of(MessageReceived):
        await bob.a.message_processed(b_conn, event.agent_msg_id)
    await alice.wait(lambda _: len(alice.of(DeliveryReceipt, conn_id=a_conn)) == 6)

    bob.events.clear()
    await bob.restart()
    await alice.a.send(a_conn, b"after")
    assert await bob.wait_bodies(b_conn, 1) == [b"after"]  # nothing processed came back


async def test_crash_between_commit_and_ack(server: EmbeddedServer,
                                            make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address], auto_process=False)
    a_conn, b_conn = await connect(alice, bob)
    crashed = asyncio.Event()
    calls = 0

    async def crash_on_third(target: ReceiveTarget, msg_id: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            crashed.set()
            raise SimulatedCrash("before ack")

    bob.a.receiver.before_ack = crash_on_third
    for i in range(6):
        await alice.a.send(a_conn, f"m{i}".encode())
    async with asyncio.timeout(10):
        await crashed.wait()
    await asyncio.sleep(0.3)
    assert bob.bodies(b_conn) == [b"m0", b"m1", b"m2"]  # committed; the queue waits for the ack

    bob.events.clear()
    await bob.restart()  # the server redelivers m2: dropped by its digest
    bodies = await bob.wait_bodies(b_conn, 6)
    await asyncio.sleep(0.3)
    # m0..m2 re-emitted from the inbox (never processed), m3..m5 received once.
    assert bob.bodies(b_conn) == [f"m{i}".encode() for i in range(6)] == bodies
    assert [e.agent_msg_id for e in bob.of(MessageReceived)] == list(range(2, 8))
    assert all(e.integrity.ok for e in bob.of(MessageReceived))


async def test_outbox_crash_after_server_accepted(server: EmbeddedServer,
                                                  make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    crashed = asyncio.Event()

    async def crash(items: list[OutboxItem]) -> None:
        if any(item.kind == "MSG" for item in items):
            crashed.set()
            raise SimulatedCrash("after send, before recording it")

    alice.a.outbox.after_send = crash
    ids = [await alice.a.send(a_conn, f"m{i}".encode()) for i in range(4)]
    async with asyncio.timeout(10):
        await crashed.wait()
    await alice.restart()  # the rows are still pending: sent again, same bytes
    await alice.wait(lambda _: {e.agent_msg_id for e in alice.of(MessageSent)} >= set(ids))
    await alice.wait(lambda _: len(alice.of(DeliveryReceipt, conn_id=a_conn)) == 4)
    await asyncio.sleep(0.3)
    assert bob.bodies(b_conn) == [f"m{i}".encode() for i in range(4)]


async def test_server_redelivery_is_dropped_silently(server: EmbeddedServer,
                                                     make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    capture = Capture(alice)
    msg_id = await alice.a.send(a_conn, b"once")
    await bob.wait_bodies(b_conn, 1)
    # The same ciphertext again, as the server or the peer's outbox would resend it.
    await raw_send(await sender_of(alice, a_conn), capture.msg(a_conn, msg_id),
                   capture.msg(a_conn, msg_id))
    await alice.a.send(a_conn, b"twice")
    assert await bob.wait_bodies(b_conn, 2) == [b"once", b"twice"]
    await asyncio.sleep(0.3)
    assert bob.bodies(b_conn) == [b"once", b"twice"]
    assert not [e for e in bob.events if type(e).__name__ == "ConnectionError"]
