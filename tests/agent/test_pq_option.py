"""Post-quantum ratchet steps chosen per connection (``pq`` on create_invitation/join)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from simplextui.agent import Connected
from simplextui.agent.errors import AgentError
from simplextui.crypto.ratchet import Ratchet
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentConnection
from tests.agent.conftest import MakePeer, Peer


async def _stored(peer: Peer, conn_id: str) -> tuple[bool, Ratchet]:
    assert peer.db is not None
    async with peer.db.session() as s:
        row = (await s.execute(select(AgentConnection.pq, AgentConnection.ratchet)
                               .where(AgentConnection.id == conn_id))).one()
    return bool(row.pq), Ratchet.from_bytes(row.ratchet)


async def _talk(alice: Peer, bob: Peer, a_conn: str, b_conn: str) -> None:
    """Messages both ways, so that both sides did DH ratchet steps."""
    for i in range(3):
        await alice.a.send(a_conn, f"a{i}".encode())
        await bob.wait_bodies(b_conn, i + 1)
        await bob.a.send(b_conn, f"b{i}".encode())
        await alice.wait_bodies(a_conn, i + 1)


@pytest.mark.parametrize("pq", [False, True])
async def test_connection_pq_option(server: EmbeddedServer, make_peer: MakePeer,
                                    pq: bool) -> None:
    # The agents' own setting is the opposite: the per-connection option wins.
    alice = await make_peer("alice", [server.address], pq=not pq)
    bob = await make_peer("bob", [server.address], pq=not pq)
    a_conn, link = await alice.a.create_invitation(b"alice", pq=pq)
    b_conn = await bob.a.join(link, b"bob", pq=pq)
    await alice.wait_event(Connected, conn_id=a_conn)
    await bob.wait_event(Connected, conn_id=b_conn)
    await _talk(alice, bob, a_conn, b_conn)
    for peer, conn_id in ((alice, a_conn), (bob, b_conn)):
        stored_pq, ratchet = await _stored(peer, conn_id)
        assert stored_pq is pq
        assert ratchet.pq_enabled is pq
        assert ratchet.pq_active is pq  # ML-KEM mixed into both directions, or never

    # Restarted, the connection keeps its own setting.
    await alice.restart()
    await _talk(alice, bob, a_conn, b_conn)
    _, ratchet = await _stored(alice, a_conn)
    assert ratchet.pq_active is pq


async def test_default_is_the_agents_setting(server: EmbeddedServer,
                                             make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address], pq=False)
    conn_id, _ = await alice.a.create_invitation(b"alice")
    assert (await _stored_pq(alice, conn_id)) is False
    with pytest.raises(AgentError, match="pq must be"):
        await alice.a.create_invitation(b"alice", pq="yes")  # type: ignore[arg-type]


async def _stored_pq(peer: Peer, conn_id: str) -> bool:
    assert peer.db is not None
    async with peer.db.session() as s:
        return bool((await s.execute(select(AgentConnection.pq)
                                     .where(AgentConnection.id == conn_id))).scalar_one())
