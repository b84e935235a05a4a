"""Group links end to end: real agents, a real queue server over TLS, real SQLite files.

Strangers (no contact with anyone in the group) join by ``/c LINK``; the host lets them in and
introduces them to every member; deleted links, second joins and links of a group the host
left are refused with clear errors.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from simplextui.chat.events import (
    ContactConnected,
    ContactRequestReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MemberLeft,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.chat.responses import LinkResponse, OkResponse
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    MsgContent,
    MsgNew,
    Profile,
    ProfileInfo,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import GroupProfile, GroupRole, MemberInfo, new_member_id
from simplextui.protocol.group_link_events import GroupLinkData, GroupLinkJoin
from simplextui.store.agent_models import AgentConnection, AgentContactRequest
from tests.chat.helpers import Pair, connect, error, ok
from tests.groups.helpers import T, invite_and_join


async def _create_link(owner: Pair, group: str, role: str = "") -> str:
    response = await ok(owner[0], f"/create link #{group} {role}".strip())
    assert isinstance(response, LinkResponse) and response.kind == "group"
    assert response.link.startswith("simplextui://g/")
    return response.link


async def _join(joiner: Pair, link: str, group: str, host: str) -> None:
    response = await ok(joiner[0], f"/c {link}")
    assert isinstance(response, OkResponse) and f"#{group}" in (response.message or "")
    await joiner[1].wait(MemberConnectedEvent, T, group=group, member=host)


async def _contacts(user: Pair) -> list[str]:
    return [c.name for c in (await ok(user[0], "/contacts")).contacts]


async def test_strangers_join_by_link_and_every_pair_connects(make_user: Any) -> None:
    names = ("alice", "bob", "carol", "dave", "eve")
    users = [await make_user(n) for n in names]
    alice, bob, carol, dave, eve = users
    await ok(alice[0], "/g team")
    for member in (bob, carol):
        await connect(alice, member, T)
        await invite_and_join(alice, member, "team")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")

    member_link = await _create_link(alice, "team")
    assert "already has a group link" in await error(alice[0], "/create link #team")
    await _join(dave, member_link, "team", "alice")
    await alice[1].wait(MemberConnectedEvent, T, group="team", member="dave")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="dave")
    # a new link, granting observer: the old one is deleted first
    await ok(alice[0], "/delete link #team")
    observer_link = await _create_link(alice, "team", "observer")
    await _join(eve, observer_link, "team", "alice")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="eve")

    for core, rec in users:  # every pair connected directly, each reported once
        me = core.user_name
        for other in names:
            if other != me and not any(e.member == other for e in rec.of(MemberConnectedEvent)):
                await rec.wait(MemberConnectedEvent, T, group="team", member=other)
        assert len(rec.of(MemberConnectedEvent)) == len(names) - 1
    # the joiners' first member_connected is the host's
    for joiner in (dave, eve):
        assert joiner[1].of(MemberConnectedEvent)[0].member == "alice"
    # no contact was made for the joins, on either side
    assert "dave" not in await _contacts(alice) and "eve" not in await _contacts(alice)
    assert await _contacts(dave) == [] and await _contacts(eve) == []
    assert not alice[1].of(ContactRequestReceived)
    members = await ok(alice[0], "/ms team")
    assert {(m.name, m.role, m.status) for m in members.members if not m.me} == {
        ("bob", "member", "connected"), ("carol", "member", "connected"),
        ("dave", "member", "connected"), ("eve", "observer", "connected")}
    members = await ok(dave[0], "/ms team")
    assert {(m.name, m.status) for m in members.members if not m.me} == {
        ("alice", "connected"), ("bob", "connected"), ("carol", "connected"),
        ("eve", "connected")}

    sent: dict[str, str] = {}
    for core, _ in users[:4]:
        r = await ok(core, f"#team hi from {core.user_name}")
        sent[r.msg_id] = core.user_name
    for core, rec in users:
        for msg_id, author in sent.items():
            if author != core.user_name:
                got = await rec.wait(MessageReceived, T, msg_id=msg_id)
                assert got.chat == "#team" and got.from_ == author

    # the observer cannot send: refused by its own client, and by every receiver
    assert "observers" in await error(eve[0], "#team hello")
    async with eve[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        conns = [m.conn_id for m in await gq.connected_members(s, group.id)]
    ctx = eve[0]._inbound.ctx  # type: ignore[union-attr]
    for conn in conns:
        assert conn is not None
        await ctx.send_event(conn, MsgNew(MsgContent("sneaky")))
    await ok(eve[0], "/l team")  # sent after "sneaky" on each connection: seen after it
    for _, rec in users[:4]:
        await rec.wait(MemberLeft, T, group="team", member="eve")
    for _, rec in users:
        texts = [e.text for e in rec.of(MessageReceived)]
        assert "sneaky" not in texts
        ids = [e.msg_id for e in rec.of(MessageReceived)]
        assert len(ids) == len(set(ids))  # each message once
    for _, rec in users[:4]:
        assert len(rec.of(MessageReceived)) == len(sent) - 1
    assert len(eve[1].of(MessageReceived)) == len(sent)


async def test_link_survives_restart_and_deleted_link_refuses(make_user: Any,
                                                             restart: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await ok(alice[0], "/g team")
    assert "no group link" in await error(alice[0], "/show link #team")
    link = await _create_link(alice, "team")
    shown = await ok(alice[0], "/show link #team")
    assert isinstance(shown, LinkResponse) and (shown.kind, shown.link) == ("group", link)

    alice = await restart(alice)
    shown = await ok(alice[0], "/show link #team")
    assert isinstance(shown, LinkResponse) and (shown.kind, shown.link) == ("group", link)

    await ok(alice[0], "/delete link #team")
    assert "no group link" in await error(alice[0], "/show link #team")
    assert "no group link" in await error(alice[0], "/delete link #team")
    assert "no longer works" in await error(bob[0], f"/c {link}")
    async with bob[0].db.session() as s:
        assert await gq.by_name(s, "team") is None  # nothing was left behind
    # the host is still fine: a new link works, and the joiner gets the group as it is now
    link = await _create_link(alice, "team")
    await ok(alice[0], "/gp team Crew our crew")  # the link's record follows the profile
    await _join(bob, link, "Crew", "alice")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="bob")
    async with bob[0].db.session() as s:
        group = await gq.by_name(s, "Crew")
        assert group is not None
        assert (group.display_name, group.description, group.role, group.status) == (
            "Crew", "our crew", "member", "connected")


async def test_bad_input_second_join_and_host_that_left(make_user: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await ok(alice[0], "/g team")
    # malformed links and commands
    assert "simplextui link" in await error(bob[0], "/c https://example.com/x")
    assert "member or observer" in await error(alice[0], "/create link #team admin")
    assert "no group #nope" in await error(alice[0], "/create link #nope")
    assert "usage" in await error(alice[0], "/show link")
    link = await _create_link(alice, "team")
    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    assert "decrypted" in await error(bob[0], f"/c {forged}")
    assert "own group" in await error(alice[0], f"/c {link}")

    await _join(bob, link, "team", "alice")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="bob")
    assert "already a member of #team" in await error(bob[0], f"/c {link}")
    # only admins and owners host links
    assert "only admins and owners" in await error(bob[0], "/create link #team")

    # the host leaves: its link goes with it (its address is deleted), so a join fails at once
    await ok(alice[0], "/l team")
    await bob[1].wait(MemberLeft, T, group="team", member="alice")
    assert "no longer works" in await error(carol[0], f"/c {link}")
    async with carol[0].db.session() as s:
        assert await gq.by_name(s, "team") is None
    assert [a for a in await alice[0].agent.list_addresses() if a.kind == "g"] == []
    assert not carol[1].of(MemberConnectedEvent) and not carol[1].of(ContactConnected)
    assert not alice[1].of(ContactConnected)


def test_link_data_round_trip_and_strict_parsing() -> None:
    data = GroupLinkData(new_msg_id(), GroupProfile("team", "about"),
                         MemberInfo(new_msg_id(), GroupRole.OWNER, Profile("alice")),
                         GroupRole.OBSERVER, symmetric=True)
    assert GroupLinkData.decode(data.encode()) == data
    good = data.encode().decode()
    assert '"address"' not in good  # the host's contact address is not in a group link
    for bad in (b"not json", b"[]", good.replace('"v":2', '"v":1').encode(),
                good.replace('"observer"', '"admin"').encode(),
                good.replace(data.group_link_id, "short").encode()):
        with pytest.raises(ChatEventError):
            GroupLinkData.decode(bad)


async def test_join_while_the_host_is_offline(make_user: Any) -> None:
    """The request waits at the host's address; the host lets the joiner in when it is back."""
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    link = await _create_link(alice, "team")
    core = alice[0]
    await asyncio.wait_for(core.stop(), T)
    await ok(carol[0], f"/c {link}")
    members = await ok(carol[0], "/ms team")
    assert [(m.name, m.status) for m in members.members if not m.me] == [("alice", "invited")]
    alice = await make_user("alice", data_dir=core.data_dir, servers=core.servers,
                            recorder=alice[1])
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    r = await ok(carol[0], "#team hello")
    for user in (alice, bob):
        got = await user[1].wait(MessageReceived, T, msg_id=r.msg_id)
        assert got.from_ == "carol"


async def _pending_agent_requests(user: Pair) -> int:
    async with user[0].db.session() as s:
        return int((await s.execute(select(func.count()).select_from(AgentContactRequest))
                    ).scalar_one())


async def test_a_group_link_is_not_a_contact_address(make_user: Any) -> None:
    """The link is an address of its own: its record does not name the host's contact
    address, and a contact request sent through it is rejected (auto-accept or not)."""
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await ok(alice[0], "/g team")
    personal = (await ok(alice[0], "/ad")).link
    await ok(alice[0], "/auto_accept on")
    link = await _create_link(alice, "team")
    record = await bob[0].agent.get_link_data(link, kind="g")  # type: ignore[attr-defined]
    assert record is not None and personal.encode() not in record
    assert GroupLinkData.decode(record).host.profile.display_name == "alice"

    # bob, holding the link, sends an ordinary contact request (his profile) to its address
    profile = encode_chat_message(ChatMessage(new_msg_id(), ProfileInfo(Profile("bob"))))
    await bob[0].agent.join(link, profile, kind="g")  # type: ignore[call-arg]
    # then carol joins by it: requests at one address are handled in the order they came
    await _join(carol, link, "team", "alice")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    assert not alice[1].of(ContactRequestReceived)
    assert await _contacts(alice) == []
    assert await _pending_agent_requests(alice) == 0  # rejected, not left waiting
    assert not bob[1].of(ContactConnected)

    # the contact address itself still takes contact requests
    await ok(bob[0], f"/c {personal}")
    await alice[1].wait(ContactRequestReceived, T)
    await alice[1].wait(ContactConnected, T)
    assert await _contacts(alice) == ["bob"]


async def test_deleting_the_contact_address_leaves_group_links_working(make_user: Any,
                                                                       restart: Any) -> None:
    alice = await make_user("alice")
    bob = await make_user("bob")
    await ok(alice[0], "/g team")
    await ok(alice[0], "/ad")
    link = await _create_link(alice, "team")
    await ok(alice[0], "/da")
    assert "no contact address" in await error(alice[0], "/sa")
    shown = await ok(alice[0], "/show link #team")
    assert isinstance(shown, LinkResponse) and shown.link == link
    alice = await restart(alice)
    await _join(bob, link, "team", "alice")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="bob")
    assert await _contacts(alice) == [] and await _contacts(bob) == []
    # and a new contact address is independent of the link
    await ok(alice[0], "/ad")
    await ok(alice[0], "/delete link #team")
    assert (await ok(alice[0], "/sa")).link.startswith("simplextui://a/")


async def _wait_gone(user: Pair, conn_id: str) -> None:
    """Until ``conn_id`` is deleted from ``user``'s agent (bounded)."""
    async with asyncio.timeout(T):
        while True:
            async with user[0].db.session() as s:
                if await s.get(AgentConnection, conn_id) is None:
                    return
            await asyncio.sleep(0.05)


async def test_joins_not_matching_a_live_link_are_refused_and_the_link_keeps_working(
        make_user: Any) -> None:
    """A join naming another link id at the link's address, and a join sent to the host's
    contact address, are both refused (the joiner's client drops them); the link stays."""
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    await ok(alice[0], "/g team")
    personal = (await ok(alice[0], "/ad")).link
    link = await _create_link(alice, "team")
    record = await bob[0].agent.get_link_data(link, kind="g")  # type: ignore[attr-defined]
    data = GroupLinkData.decode(record)

    def join_info(link_id: str) -> bytes:
        return encode_chat_message(ChatMessage(new_msg_id(), GroupLinkJoin(
            new_member_id(), Profile("bob"), link_id)))

    wrong = await bob[0].agent.join(link, join_info(new_msg_id()),  # type: ignore[call-arg]
                                    kind="g")
    at_personal = await bob[0].agent.join(personal, join_info(data.group_link_id))
    await _wait_gone(bob, wrong)  # refused with x.grp.link.rej, then dropped by bob
    await _wait_gone(bob, at_personal)
    await _join(carol, link, "team", "alice")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    members = await ok(alice[0], "/ms team")
    assert [m.name for m in members.members if not m.me] == ["carol"]
    assert not alice[1].of(ContactRequestReceived)
    shown = await ok(alice[0], "/show link #team")
    assert isinstance(shown, LinkResponse) and shown.link == link
