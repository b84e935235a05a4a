"""What a malicious member sends with a modified client, and receivers refuse: a forward
naming another author, an announcement granting more than the sender's role, a connection
claiming a member's id, and management by observers in symmetric groups."""

from __future__ import annotations

from typing import Any

from simplextui.chat.clock import now_ms
from simplextui.chat.events import (
    ContactConnected,
    GroupDeleted,
    GroupInvitationReceived,
    MemberConnectedEvent,
    MemberLeft,
    MemberRoleChanged,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.chat.profiles import profile_of
from simplextui.protocol.chat_events import (
    ChatMessage,
    MsgContent,
    MsgNew,
    Profile,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import (
    GroupDelete,
    GroupRole,
    MemberInfo,
    MemberNew,
    MemberSelf,
    MsgForward,
    new_member_id,
)
from tests.chat.helpers import connect, error, ok
from tests.groups.helpers import MESH_WAIT, T, forge, invite_and_join, member_id, probe, roles, team


async def test_a_forward_naming_an_author_the_sender_did_not_introduce_is_refused(
        make_user: Any) -> None:
    users = await team(make_user)
    alice, bob, carol, dave = users
    await ok(alice[0], "/mr team bob admin")
    for _, rec in (bob, carol, dave):
        await rec.wait(MemberRoleChanged, MESH_WAIT, group="team", member="bob")
    # admin bob forges alice's (the owner's) deletion and a message "from" alice
    alice_id = await member_id(bob, "alice")
    fake = ChatMessage(new_msg_id(), MsgNew(MsgContent("I am alice")))
    await forge(bob, MsgForward(alice_id, "alice", 1, ChatMessage(new_msg_id(), GroupDelete())),
                MsgForward(alice_id, "alice", 1, fake))
    await probe(bob, [carol, dave])
    for _, rec in (carol, dave):
        assert not rec.of(GroupDeleted)
        assert not [e for e in rec.of(MessageReceived) if e.msg_id == fake.msg_id]
    for core, _ in (carol, dave):
        async with core.db.session() as s:
            group = await gq.by_name(s, "team")
            assert group is not None and group.status == "connected"


async def test_an_announcement_granting_more_than_the_senders_role_is_refused(
        make_user: Any) -> None:
    users = await team(make_user)
    alice, bob, carol, dave = users
    await ok(alice[0], "/mr team bob admin")
    for _, rec in (bob, carol, dave):
        await rec.wait(MemberRoleChanged, MESH_WAIT, group="team", member="bob")
    puppet = MemberInfo(new_member_id(), GroupRole.OWNER, Profile("puppet"))
    helper = MemberInfo(new_member_id(), GroupRole.ADMIN, Profile("helper"))
    await forge(bob, MemberNew(puppet), MemberNew(helper))
    await probe(bob, [carol, dave])
    for core, _ in (carol, dave):
        members = roles(await ok(core, "/ms team"))
        assert "puppet" not in members  # an admin cannot add an owner
        assert members["helper"] == "admin"  # up to its own role it can


async def test_a_connection_claiming_a_members_id_takes_nobodys_place(make_user: Any) -> None:
    """carol is invited to #club by alice and has not joined yet; dave (a member of #club, so he
    knows alice's member id) completes an ordinary one-time invitation of carol's with alice's
    member id in his connection info. carol gets a contact, not "alice"; joining, she connects
    to the real alice."""
    alice, carol, dave = [await make_user(n) for n in ("alice", "carol", "dave")]
    await ok(alice[0], "/g club")
    await connect(alice, dave, T)
    await connect(alice, carol, T)
    await invite_and_join(alice, dave, "club")
    await ok(alice[0], "/a club carol")
    await carol[1].wait(GroupInvitationReceived, T, group="club")
    alice_id = await member_id(dave, "alice", "club")
    r = await ok(carol[0], "/c")
    ctx: Any = dave[0]._inbound.ctx
    forged = encode_chat_message(ChatMessage(new_msg_id(), MemberSelf(
        alice_id, profile_of(ctx.user))))
    await ctx.agent.join(r.link, forged)
    await carol[1].wait(ContactConnected, T)
    assert not carol[1].of(MemberConnectedEvent)
    await ok(carol[0], "/j club")
    await carol[1].wait(MemberConnectedEvent, T, group="club", member="alice")
    r = await ok(alice[0], "#club it is me")
    got = await carol[1].wait(MessageReceived, T, msg_id=r.msg_id)
    assert got.from_ == "alice"
    async with carol[0].db.session() as s:
        group = await gq.by_name(s, "club")
        assert group is not None
        alice_row = await gq.member_by_name(s, group.id, "alice")
        assert alice_row is not None and alice_row.status == "connected"
        assert alice_row.conn_id != (await _contact_conn(carol[0], "dave"))


async def _contact_conn(core: Any, name: str) -> str | None:
    from simplextui.chat import contacts as contacts_q

    async with core.db.session() as s:
        contact = await contacts_q.by_name(s, name)
        return None if contact is None else contact.conn_id


async def test_observers_do_not_manage_even_in_a_symmetric_group(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g club")
    await ok(alice[0], "/set symmetric #club on")
    await connect(alice, bob, T)
    await connect(alice, carol, T)
    await invite_and_join(alice, bob, "club", "observer")
    await invite_and_join(alice, carol, "club")
    await carol[1].wait(MemberConnectedEvent, T, group="club", member="bob")
    await error(bob[0], "/rm club carol")  # refused locally
    stranger = MemberInfo(new_member_id(), GroupRole.MEMBER, Profile("stranger"))
    await forge(bob, MemberNew(stranger), group="club")
    await ok(bob[0], "/l club")  # after the forgery on the same connections
    for _, rec in (alice, carol):
        await rec.wait(MemberLeft, T, group="club", member="bob")
    for core in (alice[0], carol[0]):
        assert "stranger" not in roles(await ok(core, "/ms club"))


async def test_history_newer_than_the_invitation_is_refused(make_user: Any) -> None:
    """Only what was said before a member was invited comes as history: an inviter cannot
    put words in an author's mouth later on by calling them history."""
    users = await team(make_user)
    alice, bob = users[0], users[1]
    carol_id = await member_id(alice, "carol")
    later = ChatMessage(new_msg_id(), MsgNew(MsgContent("carol never said this")))
    await forge(alice, MsgForward(carol_id, "carol", now_ms() + 2 * 3_600_000, later,
                                  history=True))
    await probe(alice, [bob])
    assert not [e for e in bob[1].of(MessageReceived) if e.msg_id == later.msg_id]
