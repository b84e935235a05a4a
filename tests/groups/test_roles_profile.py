"""Roles and the group profile, enforced by every receiver: what a role allows is seen by all,
what it forbids is refused by the command and, when sent anyway over the member connections
(a modified client), by every receiver."""

from __future__ import annotations

import asyncio
from typing import Any

from simplextui.chat.events import (
    GroupDeleted,
    GroupInvitationReceived,
    GroupUpdated,
    MemberConnectedEvent,
    MemberLeft,
    MemberRemoved,
    MemberRoleChanged,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.protocol.chat_events import MsgContent, MsgNew
from simplextui.protocol.group_events import (
    GroupInfo,
    GroupLeave,
    GroupMemberRole,
    GroupProfile,
    GroupRole,
    MemberDelete,
    MsgForward,
)
from tests.chat.helpers import Pair, connect, error, ok
from tests.groups.helpers import MESH_WAIT, build_group, forge, member_id, probe, roles, team


async def group_profile(user: Pair, group: str = "team") -> tuple[str, str]:
    async with user[0].db.session() as s:
        g = await gq.by_name(s, group)
        assert g is not None
        return g.display_name, g.description


async def test_role_changes_by_owner_and_admin_are_seen_by_all_and_observers_cannot_send(
        make_user: Any) -> None:
    users = await team(make_user)
    alice, bob, carol, dave = users
    await ok(alice[0], "/mr team bob admin")
    for _, rec in users[1:]:
        await rec.wait(MemberRoleChanged, MESH_WAIT, group="team", member="bob", role="admin",
                       by="alice")
    # an admin may change a member's role: carol becomes an observer
    await ok(bob[0], "/mr team carol observer")
    for _, rec in (alice, carol, dave):
        await rec.wait(MemberRoleChanged, MESH_WAIT, group="team", member="carol",
                       role="observer", by="bob")
    expected = {"alice": "owner", "bob": "admin", "carol": "observer", "dave": "member"}
    for core, _ in users:
        assert roles(await ok(core, "/ms team")) == expected, core.user_name

    # an observer cannot send: the command refuses, and so does every receiver
    assert "observers" in await error(carol[0], "#team hi")
    await forge(carol, MsgNew(MsgContent("sneaky")))
    await ok(carol[0], "/l team")  # its leave notice follows the forged message everywhere
    for _, rec in (alice, bob, dave):
        await rec.wait(MemberLeft, MESH_WAIT, group="team", member="carol")
    for _, rec in users:
        assert not [e for e in rec.of(MessageReceived) if e.text == "sneaky"]


async def test_a_member_cannot_change_roles_profile_or_remove(make_user: Any) -> None:
    users = await team(make_user)
    alice, bob, carol, dave = users
    assert "cannot" in await error(dave[0], "/mr team carol observer")
    assert "only admins" in await error(dave[0], "/rm team carol")
    assert "only owners" in await error(dave[0], "/gp team hijacked")
    # a modified client sends them anyway, straight over its member connections
    dave_id, carol_id = await member_id(dave, "dave"), await member_id(dave, "carol")
    await forge(dave, GroupMemberRole(dave_id, GroupRole.ADMIN),
                GroupMemberRole(carol_id, GroupRole.OBSERVER),
                GroupInfo(GroupProfile("hijacked", "by dave")), MemberDelete(carol_id))
    await probe(dave, [alice, bob, carol])
    for core, rec in users:
        assert not rec.of(MemberRoleChanged) and not rec.of(GroupUpdated), core.user_name
        assert not rec.of(MemberRemoved) and not rec.of(GroupDeleted), core.user_name
        assert roles(await ok(core, "/ms team")) == {
            "alice": "owner", "bob": "member", "carol": "member", "dave": "member"}
        assert await group_profile((core, rec)) == ("team", "")
    # carol is still connected to everyone: her message reaches all
    await probe(carol, [alice, bob, dave], "carol still here")


async def test_profile_change_by_the_owner_only(make_user: Any) -> None:
    users = await team(make_user)
    alice, bob, carol, dave = users
    await ok(alice[0], "/mr team bob admin")
    for _, rec in users[1:]:
        await rec.wait(MemberRoleChanged, MESH_WAIT, member="bob", role="admin")
    # an admin may not change the profile, nor demote or remove the owner
    assert "only owners" in await error(bob[0], "/gp team renamed")
    assert "cannot" in await error(bob[0], "/mr team alice member")
    alice_id = await member_id(bob, "alice")
    await forge(bob, GroupInfo(GroupProfile("renamed", "by bob")),
                GroupMemberRole(alice_id, GroupRole.MEMBER), MemberDelete(alice_id))
    await probe(bob, [alice, carol, dave])
    for core, rec in users:
        assert not rec.of(GroupUpdated) and not rec.of(MemberRemoved), core.user_name
        assert not [e for e in rec.of(MemberRoleChanged) if e.member == "alice"]
        assert roles(await ok(core, "/ms team"))["alice"] == "owner"
        assert await group_profile((core, rec)) == ("team", "")
    # the owner changes it: everyone sees the new name and description
    await ok(alice[0], "/gp team Renamed the new description")
    for core, rec in users[1:]:
        got = await rec.wait(GroupUpdated, MESH_WAIT, group="team")
        assert (got.display_name, got.description) == ("Renamed", "the new description")
        assert await group_profile((core, rec)) == ("Renamed", "the new description")
    assert await group_profile(alice) == ("Renamed", "the new description")
    await probe(alice, [bob, carol, dave], "after the rename")


async def test_the_introducer_does_not_forward_what_it_refuses(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    # bob ignores the forwarded invitation: bob and carol stay unconnected, alice forwards
    bob[0]._inbound.groups._member_forward = _never  # type: ignore[union-attr,method-assign]
    forwarded: list[Any] = []  # what bob gets forwarded (recorded, then handled as usual)
    groups: Any = bob[0]._inbound.groups  # type: ignore[union-attr]
    handle = groups._forwarded

    async def spy(group: Any, sender: Any, event: MsgForward, out: Any) -> None:
        forwarded.append(event.msg.event)
        await handle(group, sender, event, out)

    groups._forwarded = spy
    await connect(alice, carol, MESH_WAIT)
    await ok(alice[0], "/a team carol observer")
    await carol[1].wait(GroupInvitationReceived, MESH_WAIT, group="team")
    await ok(carol[0], "/j team")
    await carol[1].wait(MemberConnectedEvent, MESH_WAIT, group="team", member="alice")
    await _invitation_forwarded(alice, "carol")  # carol is done with its introduction to bob
    await forge(carol, MsgNew(MsgContent("sneaky")))  # carol's only connection: alice
    await ok(carol[0], "/l team")  # forwarded to bob after whatever alice forwarded before
    await bob[1].wait(MemberLeft, MESH_WAIT, group="team", member="carol")
    assert not [e for e in alice[1].all + bob[1].all
                if isinstance(e, MessageReceived) and e.text == "sneaky"]
    assert [type(e) for e in forwarded] == [GroupLeave]  # the refused message stayed with alice


async def _never(*_: Any, **__: Any) -> None:
    return None


async def _invitation_forwarded(introducer: Pair, new: str) -> None:
    """Wait until ``introducer`` got (and forwarded) ``new``'s invitations for every member."""

    async def done() -> bool:
        async with introducer[0].db.session() as s:
            g = await gq.by_name(s, "team")
            assert g is not None
            m = await gq.member_by_name(s, g.id, new)
            intros = await gq.intros_of(s, m.id) if m is not None else []
            return bool(intros) and all(i.invitation_forwarded for i in intros)

    for _ in range(int(MESH_WAIT / 0.05)):  # bounded
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{introducer[0].user_name} never got {new}'s invitations")
