"""Connecting by one-time invitations and by contact addresses; messages and receipts."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from simplextui.agent import (
    AgentError,
    Connected,
    ConnectionRequest,
    DeliveryReceipt,
    IntegrityStatus,
    MessageReceived,
    MessageSent,
)
from simplextui.protocol.links import LinkError, parse_link
from simplextui.server.runner import EmbeddedServer
from tests.agent.conftest import MakePeer, connect


async def test_invitation_two_agents_messages_both_ways(server: EmbeddedServer,
                                                        make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, link = await alice.a.create_invitation(b'{"name": "alice"}')
    assert parse_link(link).kind == "i"
    b_conn = await bob.a.join(link, b'{"name": "bob"}')
    assert (await alice.wait_event(Connected, conn_id=a_conn)).peer_info == b'{"name": "bob"}'
    assert (await bob.wait_event(Connected, conn_id=b_conn)).peer_info == b'{"name": "alice"}'

    ids = [await alice.a.send(a_conn, f"a{i}".encode()) for i in range(5)]
    assert ids == [2, 3, 4, 5, 6]  # 1 was the handshake INFO
    for i in range(5):
        await bob.a.send(b_conn, f"b{i}".encode())
    assert await bob.wait_bodies(b_conn, 5) == [f"a{i}".encode() for i in range(5)]
    assert await alice.wait_bodies(a_conn, 5) == [f"b{i}".encode() for i in range(5)]
    assert all(e.integrity == IntegrityStatus.OK for e in bob.of(MessageReceived))

    await alice.wait(lambda _: len(alice.of(DeliveryReceipt, conn_id=a_conn)) == 5)
    assert sorted(e.agent_msg_id for e in alice.of(DeliveryReceipt)) == ids
    assert sorted(e.agent_msg_id for e in alice.of(MessageSent, conn_id=a_conn)) == ids
    assert await alice.a.safety_code(a_conn) == await bob.a.safety_code(b_conn)
    assert len((await alice.a.safety_code(a_conn)).replace(" ", "")) == 60


async def test_three_agents_pairwise(server: EmbeddedServer, make_peer: MakePeer) -> None:
    peers = [await make_peer(name, [server.address]) for name in ("a", "b", "c")]
    pairs = {}
    for i, j in ((0, 1), (1, 2), (0, 2)):
        pairs[i, j] = await connect(peers[i], peers[j])
    for (i, j), (ci, cj) in pairs.items():
        await peers[i].a.send(ci, f"{i}->{j}".encode())
        await peers[j].a.send(cj, f"{j}->{i}".encode())
    for (i, j), (ci, cj) in pairs.items():
        assert await peers[j].wait_bodies(cj, 1) == [f"{i}->{j}".encode()]
        assert await peers[i].wait_bodies(ci, 1) == [f"{j}->{i}".encode()]
    codes = {await peers[i].a.safety_code(ci) for (i, _), (ci, _) in pairs.items()}
    assert len(codes) == 3  # a different code per connection


async def test_address_accept_and_reject(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    carol = await make_peer("carol", [server.address])
    address = await alice.a.create_address()
    assert parse_link(address).kind == "a"
    assert await alice.a.get_address() == address
    assert await alice.a.create_address() == address  # one address per user

    b_conn = await bob.a.join(address, b"bob's profile")
    c_conn = await carol.a.join(address, b"carol's profile")
    req_b = await alice.wait_event(ConnectionRequest, info=b"bob's profile")
    req_c = await alice.wait_event(ConnectionRequest, info=b"carol's profile")

    a_conn = await alice.a.accept_request(req_b.request_id, b"alice's profile")
    await alice.a.reject_request(req_c.request_id)
    with pytest.raises(AgentError):
        await alice.a.reject_request(req_c.request_id)
    assert (await alice.wait_event(Connected, conn_id=a_conn)).peer_info == b"bob's profile"
    assert (await bob.wait_event(Connected, conn_id=b_conn)).peer_info == b"alice's profile"
    assert await alice.a.safety_code(a_conn) == await bob.a.safety_code(b_conn)

    await bob.a.send(b_conn, b"hi alice")
    await alice.a.send(a_conn, b"hi bob")
    assert await alice.wait_bodies(a_conn, 1) == [b"hi alice"]
    assert await bob.wait_bodies(b_conn, 1) == [b"hi bob"]
    assert not carol.of(Connected, conn_id=c_conn)

    await alice.a.delete_address()
    assert await alice.a.get_address() is None
    with pytest.raises(AgentError, match="no longer exists"):
        await carol.a.join(address, b"again")


async def test_bad_links(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    _, link = await alice.a.create_invitation(b"alice")
    with pytest.raises(LinkError, match="not a simplextui link"):
        await bob.a.join("https://example.com/x", b"bob")
    with pytest.raises(LinkError, match="damaged"):
        await bob.a.join(link[:-3], b"bob")
    group = link.replace("simplextui://i/", "simplextui://g/", 1)
    with pytest.raises(LinkError, match="group link, not a one-time invitation"):
        await bob.a.join(group, b"bob")
    # A link whose kind letter was changed: its data no longer decrypts.
    as_address = link.replace("simplextui://i/", "simplextui://a/", 1)
    with pytest.raises(LinkError, match="cannot be decrypted"):
        await bob.a.join(as_address, b"bob")
    # A link with another key: forged or damaged.
    parsed = parse_link(link)
    forged = link.rsplit("#", 1)[0] + "#" + "A" * 43
    assert parse_link(forged).link_id == parsed.link_id
    with pytest.raises(LinkError, match="cannot be decrypted"):
        await bob.a.join(forged, b"bob")


async def test_invitation_is_one_time(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    carol = await make_peer("carol", [server.address])
    a_conn, link = await alice.a.create_invitation(b"alice")
    await bob.a.join(link, b"bob")
    await alice.wait_event(Connected, conn_id=a_conn)
    with pytest.raises(AgentError, match=r"already used|no longer exists"):
        await carol.a.join(link, b"carol")


async def test_joining_a_link_of_ones_own_is_refused(server: EmbeddedServer,
                                                     make_peer: MakePeer) -> None:
    """It would connect the user to themself (SimpleX refuses "your own one-time link")."""
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, invitation = await alice.a.create_invitation(b"alice")
    address = await alice.a.create_address()
    _, group_link = await alice.a.add_address(kind="g", app_data=b"group")
    with pytest.raises(AgentError, match="your own one-time invitation link"):
        await alice.a.join(invitation, b"alice")
    with pytest.raises(AgentError, match="your own contact address"):
        await alice.a.join(" " + address + "\n", b"alice")  # as pasted
    with pytest.raises(AgentError, match="your own group link"):
        await alice.a.join(group_link, b"alice", kind="g")
    assert await alice.a.connection_ids() == [a_conn]  # nothing was made
    assert not alice.of(ConnectionRequest)

    b_conn = await bob.a.join(invitation, b"bob")  # others still can
    await alice.wait_event(Connected, conn_id=a_conn)
    await bob.wait_event(Connected, conn_id=b_conn)


async def test_a_message_sent_without_receipt(server: EmbeddedServer,
                                              make_peer: MakePeer) -> None:
    """``receipt=False`` (kind N): delivered like any message, in order, but no RCVD comes
    back, no sent event, and neither side keeps a row for it."""
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    quiet = await alice.a.send(a_conn, b"protocol", receipt=False)
    [loud] = await alice.a.send_many([(a_conn, b"content")])
    assert await bob.wait_bodies(b_conn, 2) == [b"protocol", b"content"]
    await alice.wait_event(DeliveryReceipt, conn_id=a_conn, agent_msg_id=loud)
    assert [e.agent_msg_id for e in alice.of(DeliveryReceipt, conn_id=a_conn)] == [loud]
    assert quiet not in {e.agent_msg_id for e in alice.of(MessageSent, conn_id=a_conn)}
    assert alice.db is not None and bob.db is not None
    async with alice.db.session() as s:
        left = (await s.execute(text("SELECT count(*) FROM agent_outbox WHERE conn_id = :c"),
                                {"c": a_conn})).scalar_one()
    async with bob.db.session() as s:
        kept = (await s.execute(text("SELECT count(*) FROM agent_inbox WHERE conn_id = :c"),
                                {"c": b_conn})).scalar_one()
    assert (left, kept) == (0, 0)  # the receipted one went with its receipt
