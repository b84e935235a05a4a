"""Several contact addresses per agent: kinds, app data in the link record, requests tagged
with the address they came to, deleting one, restarts. Real agents on a real server."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from simplextui.agent import (
    MAX_APP_DATA,
    AddressNotFound,
    AgentError,
    Connected,
    ConnectionRequest,
    LinkGone,
)
from simplextui.agent.events import event_from_json, event_to_json
from simplextui.protocol.links import LinkError, parse_link
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentAddress, AgentConnection, AgentPendingDeletion
from simplextui.transport import LinkOwner, QueueClient
from tests.agent.conftest import MakePeer, Peer
from tests.agent.helpers import FAST_CLIENT


async def _ids(peer: Peer) -> dict[str, str]:
    """address_id -> link of every address of ``peer``."""
    return {a.address_id: a.link for a in await peer.a.list_addresses()}


async def test_two_addresses_requests_carry_the_address_id(server: EmbeddedServer,
                                                          make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    carol = await make_peer("carol", [server.address])
    personal = await alice.a.create_address()
    g_id, g_link = await alice.a.add_address(kind="g", app_data=b"the group's record")
    assert parse_link(g_link).kind == "g"
    assert g_link != personal
    listed = await alice.a.list_addresses()
    assert [(a.kind, a.personal, a.app_data) for a in listed] == [
        ("a", True, None), ("g", False, b"the group's record")]
    personal_id = listed[0].address_id
    assert await alice.a.get_address() == personal  # the personal one is still "the" address

    assert await carol.a.get_link_data(g_link, kind="g") == b"the group's record"
    assert await carol.a.get_link_data(personal, kind="a") is None
    b_conn = await bob.a.join(personal, b"bob")
    c_conn = await carol.a.join(g_link, b"carol", kind="g")
    req_b = await alice.wait_event(ConnectionRequest, info=b"bob")
    req_c = await alice.wait_event(ConnectionRequest, info=b"carol")
    assert req_b.address_id == personal_id
    assert req_c.address_id == g_id

    a_bob = await alice.a.accept_request(req_b.request_id, b"alice")
    a_carol = await alice.a.accept_request(req_c.request_id, b"alice (group)")
    assert (await bob.wait_event(Connected, conn_id=b_conn)).peer_info == b"alice"
    assert (await carol.wait_event(Connected, conn_id=c_conn)).peer_info == b"alice (group)"
    await alice.wait_event(Connected, conn_id=a_bob)
    await alice.wait_event(Connected, conn_id=a_carol)

    await alice.a.update_address_data(g_id, b"renamed group")
    assert await bob.a.get_link_data(g_link, kind="g") == b"renamed group"
    assert (await alice.a.list_addresses())[1].app_data == b"renamed group"
    assert parse_link((await alice.a.list_addresses())[1].link) == parse_link(g_link)


async def test_link_kinds_are_checked(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    personal = await alice.a.create_address()
    _, g_link = await alice.a.add_address(kind="g", app_data=b"data")
    with pytest.raises(LinkError, match="group link, not a one-time invitation"):
        await bob.a.join(g_link, b"bob")  # a plain join takes invitations and addresses only
    with pytest.raises(LinkError, match="contact address, not a group link"):
        await bob.a.get_link_data(personal, kind="g")
    with pytest.raises(LinkError, match="contact address, not a group link"):
        await bob.a.join(personal, b"bob", kind="g")
    assert not alice.of(ConnectionRequest)


async def test_deleting_one_address_leaves_the_others_working(server: EmbeddedServer,
                                                              make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    personal = await alice.a.create_address()
    g1, link1 = await alice.a.add_address(kind="g", app_data=b"one")
    g2, link2 = await alice.a.add_address(kind="g", app_data=b"two")

    await alice.a.delete_address(g1)
    assert g1 not in await _ids(alice) and g2 in await _ids(alice)
    with pytest.raises(LinkGone, match="no longer exists"):
        await bob.a.join(link1, b"to one", kind="g")
    await bob.a.join(link2, b"to two", kind="g")
    assert (await alice.wait_event(ConnectionRequest, info=b"to two")).address_id == g2

    await alice.a.delete_address()  # the personal one: the group addresses stay
    assert await alice.a.get_address() is None
    assert list(await _ids(alice)) == [g2]
    with pytest.raises(AgentError, match="no longer exists"):
        await bob.a.join(personal, b"to personal")
    await bob.a.join(link2, b"to two again", kind="g")
    assert (await alice.wait_event(ConnectionRequest, info=b"to two again")).address_id == g2

    personal2 = await alice.a.create_address()  # a new personal address, a new link
    assert personal2 != personal and await alice.a.get_address() == personal2
    with pytest.raises(AddressNotFound, match="no address"):
        await alice.a.delete_address(g1)
    await alice.a.delete_address()
    await alice.a.delete_address()  # no personal address: nothing to do (as before)


async def test_addresses_survive_a_restart(server: EmbeddedServer,
                                           make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    personal = await alice.a.create_address()
    g_id, g_link = await alice.a.add_address(kind="g", app_data=b"data")
    before = await alice.a.list_addresses()
    await alice.restart()
    assert await alice.a.list_addresses() == before
    assert await alice.a.get_address() == personal
    await bob.a.join(g_link, b"after restart (g)", kind="g")
    await bob.a.join(personal, b"after restart (a)")
    assert (await alice.wait_event(ConnectionRequest, info=b"after restart (g)")
            ).address_id == g_id
    assert (await alice.wait_event(ConnectionRequest, info=b"after restart (a)")
            ).address_id == before[0].address_id


async def test_bad_address_input(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    with pytest.raises(AgentError, match="address kind"):
        await alice.a.add_address(kind="i")
    with pytest.raises(AgentError, match="address kind"):
        await alice.a.add_address(kind="zz")
    with pytest.raises(AgentError, match="must be bytes"):
        await alice.a.add_address(kind="g", app_data="text")  # type: ignore[arg-type]
    with pytest.raises(AgentError, match=f"at most {MAX_APP_DATA}"):
        await alice.a.add_address(kind="g", app_data=b"x" * (MAX_APP_DATA + 1))
    with pytest.raises(AgentError, match="no address"):
        await alice.a.update_address_data("nope", b"x")
    assert await alice.a.list_addresses() == []
    _, link = await alice.a.add_address(kind="g", app_data=b"x" * MAX_APP_DATA)
    assert await alice.a.get_link_data(link, kind="g") == b"x" * MAX_APP_DATA


def test_a_request_journaled_before_address_ids_still_decodes() -> None:
    event = event_from_json("ConnectionRequest", {"request_id": "r1", "info": "Ym9i"})
    assert event == ConnectionRequest("r1", b"bob", None)
    tagged = ConnectionRequest("r2", b"carol", "addr")
    assert event_from_json(*event_to_json(tagged)) == tagged


async def test_updating_an_address_whose_record_is_gone(server: EmbeddedServer,
                                                        make_peer: MakePeer) -> None:
    """The record went from the server (lost, or deleted by another device): a typed
    LinkGone, and the app data here is unchanged."""
    alice = await make_peer("alice", [server.address])
    g_id, _ = await alice.a.add_address(kind="g", app_data=b"before")
    assert alice.db is not None
    async with alice.db.session() as s:
        owner = (await s.execute(select(AgentAddress.link_owner)
                                 .where(AgentAddress.address_id == g_id))).scalar_one()
    link_owner = LinkOwner.from_dict(owner)
    async with QueueClient(link_owner.server, **FAST_CLIENT) as client:
        await client.delete_link(link_owner)
    with pytest.raises(LinkGone, match="no longer exists"):
        await alice.a.update_address_data(g_id, b"after")
    assert [a.app_data for a in await alice.a.list_addresses()] == [b"before"]
    await alice.a.delete_address(g_id)  # still possible: nothing is left of it
    assert await alice.a.list_addresses() == []


async def test_a_link_record_already_gone_counts_as_deleted(server: EmbeddedServer,
                                                            make_peer: MakePeer) -> None:
    """Deleting a used invitation's record that is gone already (AUTH) is done: the owner key
    is forgotten, not tried again at every start. (A database of an older version still
    holds the owner key of a used invitation: its deletion is recorded at start.)"""
    alice = await make_peer("alice", [server.address])
    conn_id, _ = await alice.a.create_invitation(b"alice")
    assert alice.db is not None

    async def owner_of() -> dict[str, object] | None:
        async with alice.db.session() as s:  # type: ignore[union-attr]
            return (await s.execute(select(AgentConnection.link_owner)
                                    .where(AgentConnection.id == conn_id))).scalar_one()

    async def clean_ups() -> int:
        async with alice.db.session() as s:  # type: ignore[union-attr]
            return int((await s.execute(select(func.count())
                                        .select_from(AgentPendingDeletion))).scalar_one())

    owner = await owner_of()
    assert owner is not None
    link_owner = LinkOwner.from_dict(owner)
    async with QueueClient(link_owner.server, **FAST_CLIENT) as client:
        await client.delete_link(link_owner)
    async with alice.db.session() as s, s.begin():  # as if confirmed by an older version
        await s.execute(update(AgentConnection).where(AgentConnection.id == conn_id)
                        .values(state="connected"))
    await alice.restart()
    assert await owner_of() is None
    async with asyncio.timeout(10):
        while True:  # the worker tried it, was told AUTH, and dropped it
            if not await clean_ups():
                break
            await asyncio.sleep(0.05)
