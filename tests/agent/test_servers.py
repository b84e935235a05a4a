"""Queues on different servers, full queues (QUOTA/QCONT), post-quantum ratchets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from simplextui.agent import MessageSent
from simplextui.crypto.ratchet import Ratchet
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentConnection
from tests.agent.conftest import MakePeer, Peer, connect, fast_config
from tests.agent.helpers import receiver_of, sender_of


async def _ratchet(peer: Peer, conn_id: str) -> Ratchet:
    assert peer.db is not None
    async with peer.db.session() as s:
        blob = (await s.execute(select(AgentConnection.ratchet)
                                .where(AgentConnection.id == conn_id))).scalar_one()
    assert blob is not None
    return Ratchet.from_bytes(blob)


async def test_each_side_receives_on_its_own_server(
        server: EmbeddedServer, make_server: Callable[..., Any], make_peer: MakePeer) -> None:
    other = await make_server("other")
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [other.address])
    a_conn, b_conn = await connect(alice, bob)
    assert (await receiver_of(alice, a_conn)).server == server.address
    assert (await receiver_of(bob, b_conn)).server == other.address
    assert (await sender_of(alice, a_conn)).server == other.address
    assert (await sender_of(bob, b_conn)).server == server.address
    for i in range(20):
        await alice.a.send(a_conn, f"a{i}".encode())
        await bob.a.send(b_conn, f"b{i}".encode())
    assert await bob.wait_bodies(b_conn, 20) == [f"a{i}".encode() for i in range(20)]
    assert await alice.wait_bodies(a_conn, 20) == [f"b{i}".encode() for i in range(20)]
    assert await alice.a.safety_code(a_conn) == await bob.a.safety_code(b_conn)


async def test_full_queue_pauses_until_qcont(make_server: Callable[..., Any],
                                             make_peer: MakePeer) -> None:
    small = await make_server("small", queue_quota=4)
    alice = await make_peer("alice", [small.address], config=fast_config(quota_retry=60.0))
    bob = await make_peer("bob", [small.address])
    a_conn, b_conn = await connect(alice, bob)
    await bob.stop()
    ids = [await alice.a.send(a_conn, f"m{i}".encode()) for i in range(10)]
    await alice.wait(lambda _: len(alice.of(MessageSent, conn_id=a_conn)) >= 4)
    await asyncio.sleep(0.5)
    assert len(alice.of(MessageSent, conn_id=a_conn)) == 4  # paused on QUOTA
    await bob.start()  # drains the queue, acks the QUOTA marker, sends QCONT
    assert await bob.wait_bodies(b_conn, 10, timeout=12) == [f"m{i}".encode() for i in range(10)]
    await alice.wait(lambda _: {e.agent_msg_id for e in alice.of(MessageSent)} >= set(ids))


async def test_post_quantum_ratchet(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    carol = await make_peer("carol", [server.address], pq=False)
    a_bob, b_conn = await connect(alice, bob)
    a_carol, c_conn = await connect(alice, carol)
    for n in (1, 2):  # ratchet steps both ways
        await alice.a.send(a_bob, b"x")
        await alice.a.send(a_carol, b"x")
        await bob.wait_bodies(b_conn, n)
        await carol.wait_bodies(c_conn, n)
        await bob.a.send(b_conn, b"y")
        await carol.a.send(c_conn, b"y")
        await alice.wait_bodies(a_bob, n)
        await alice.wait_bodies(a_carol, n)
    assert (await _ratchet(alice, a_bob)).pq_active  # on by default
    assert (await _ratchet(bob, b_conn)).pq_active
    assert not (await _ratchet(carol, c_conn)).pq_active  # a classic peer still talks
    assert await alice.a.safety_code(a_carol) == await carol.a.safety_code(c_conn)
