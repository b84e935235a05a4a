"""An invitee declines: its inviter learns it, the unused member connection is deleted, and a
decline for a member that already joined (or sent by anyone else) changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from simplextui.chat.events import GroupInvitationReceived, MemberDeclined, MessageReceived
from simplextui.chat.groups import store as gq
from simplextui.protocol.group_events import GroupDecline
from simplextui.store.chat_models import ChatItem, ItemKind, MemberStatus
from tests.chat.helpers import connect, error, ok
from tests.groups.helpers import T, invite_and_join


async def _members(core: Any, group: str) -> dict[str, tuple[str, str | None]]:
    async with core.db.session() as s:
        row = await gq.by_name(s, group)
        assert row is not None
        return {m.local_name: (m.status, m.conn_id) for m in await gq.members(s, row.id)}


async def test_declined_invitation_reaches_the_inviter_and_frees_its_connection(
        make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await connect(alice, bob, T)
    await ok(alice[0], "/g team")
    await ok(alice[0], "/a team bob")
    await bob[1].wait(GroupInvitationReceived, T, group="team")
    conn_id = (await _members(alice[0], "team"))["bob"][1]
    assert conn_id is not None  # the member connection made for the invitation
    r = await ok(bob[0], "/d #team")
    assert "declined" in (r.message or "")
    got = await alice[1].wait(MemberDeclined, T, group="team")
    assert got.member == "bob"
    assert (await _members(alice[0], "team"))["bob"] == (MemberStatus.DECLINED, None)
    assert conn_id not in await alice[0].agent.connection_ids()  # deleted by the agent
    members = await ok(alice[0], "/ms team")
    assert [(m.name, m.status) for m in members.members if not m.me] == [("bob", "declined")]
    assert "bob declined the invitation" in await _notices(alice[0], "team")
    assert "no group" in await error(bob[0], "/j team")  # gone on bob's side
    # invited again, bob can still join
    await invite_and_join(alice, bob, "team")
    assert (await _members(alice[0], "team"))["bob"][0] == MemberStatus.CONNECTED


async def test_a_decline_for_a_joined_member_or_from_someone_else_changes_nothing(
        make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await connect(alice, bob, T)
    await connect(alice, carol, T)
    await ok(alice[0], "/g team")
    await invite_and_join(alice, bob, "team")
    await ok(alice[0], "/a team carol")
    await carol[1].wait(GroupInvitationReceived, T, group="team")
    async with alice[0].db.session() as s:
        row = await gq.by_name(s, "team")
        assert row is not None
        ids = {m.local_name: m.member_id for m in await gq.members(s, row.id)}
    bob_contact = await _contact_conn(bob[0], "alice")
    # bob (joined) declines himself, and declines carol's open invitation: both ignored
    ctx: Any = bob[0]._inbound.ctx
    await ctx.send_event(bob_contact, GroupDecline(ids["bob"]))
    await ctx.send_event(bob_contact, GroupDecline(ids["carol"]))
    await ok(bob[0], "@alice probe")  # sent after the forgeries: processed after them
    await alice[1].wait(MessageReceived, T, chat="@bob", text="probe")
    assert not alice[1].of(MemberDeclined)
    members = await _members(alice[0], "team")
    assert members["bob"][0] == MemberStatus.CONNECTED
    assert members["carol"][0] == MemberStatus.INVITED and members["carol"][1] is not None
    assert not any("declined" in text for text in await _notices(alice[0], "team"))


async def _notices(core: Any, group: str) -> list[str]:
    async with core.db.session() as s:
        row = await gq.by_name(s, group)
        assert row is not None
        items = await s.execute(select(ChatItem.text).where(
            ChatItem.group_id == row.id, ChatItem.kind == ItemKind.EVENT))
        return list(items.scalars())


async def _contact_conn(core: Any, name: str) -> str:
    from simplextui.chat import contacts as contacts_q

    async with core.db.session() as s:
        contact = await contacts_q.by_name(s, name)
        assert contact is not None and contact.conn_id is not None
        return str(contact.conn_id)
