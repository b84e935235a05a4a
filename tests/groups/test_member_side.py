"""Removal and deletion seen from the members' side: the removed member learns it, then learns
when no connection to the group is left; every member learns that the owner deleted the group,
and a deletion sent by anyone else is refused."""

from __future__ import annotations

from typing import Any

from simplextui.chat.events import (
    GroupDeleted,
    GroupEmpty,
    GroupItemStatus,
    MemberRemoved,
    MemberRoleChanged,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.protocol.group_events import GroupDelete
from tests.chat.helpers import error, ok
from tests.groups.helpers import MESH_WAIT, forge, probe, team


async def test_removed_member_learns_it_then_that_the_group_is_empty(make_user: Any) -> None:
    users = await team(make_user)
    alice, bob, carol, dave = users
    await ok(alice[0], "/rm team dave")
    got = await dave[1].wait(MemberRemoved, MESH_WAIT, group="team")
    assert (got.member, got.by) == ("dave", "alice")  # "member" is this user itself
    for _, rec in (bob, carol):
        got = await rec.wait(MemberRemoved, MESH_WAIT, group="team", member="dave")
        assert got.by == "alice"
    # bob and carol drop their connections to dave too: then nothing is left for dave
    await dave[1].wait(GroupEmpty, MESH_WAIT, group="team")
    async with dave[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        assert [m.conn_id for m in await gq.members(s, group.id)] == [None] * 3
    assert not dave[1].of(GroupDeleted)
    assert len(dave[1].of(MemberRemoved)) == 1
    # dave is out: it cannot send, and the others' messages no longer reach it
    assert "removed" in await error(dave[0], "#team still here?")
    (me,) = [m for m in (await ok(dave[0], "/ms team")).members if m.me]
    assert me.status == "removed"
    without = await probe(alice, [bob, carol], "without dave")
    # sent to bob and carol only: no member keeps a connection that could carry it to dave
    done = await alice[1].wait(GroupItemStatus, MESH_WAIT, msg_id=without, status="delivered")
    assert (done.delivered, done.total) == (2, 2)
    for core, _ in (alice, bob, carol):
        members = await ok(core, "/ms team")
        (view,) = [m for m in members.members if m.name == "dave"]
        assert view.status == "removed", core.user_name
        async with core.db.session() as s:
            group = await gq.by_name(s, "team")
            assert group is not None
            row = await gq.member_by_name(s, group.id, "dave")
            assert row is not None and row.conn_id is None, core.user_name
    assert not [e for e in dave[1].of(MessageReceived) if e.msg_id == without]


async def test_owner_deletes_the_group_and_a_forged_deletion_is_refused(
        make_user: Any) -> None:
    users = await team(make_user)
    alice, bob, carol, dave = users
    await ok(alice[0], "/mr team bob admin")
    for _, rec in users[1:]:
        await rec.wait(MemberRoleChanged, MESH_WAIT, member="bob", role="admin")
    # neither a member nor an admin may delete the group, even by sending x.grp.del directly
    assert "only owners" in await error(carol[0], "/d #team")
    assert "only owners" in await error(bob[0], "/d #team")
    await forge(carol, GroupDelete())
    await forge(bob, GroupDelete())
    await probe(carol, [alice, bob, dave], "carol after her forged deletion")
    await probe(bob, [alice, carol, dave], "bob after his forged deletion")
    for core, rec in users:
        assert not rec.of(GroupDeleted), core.user_name
    # the owner deletes it: every member learns it
    await ok(alice[0], "/d #team")
    for _, rec in users[1:]:
        got = await rec.wait(GroupDeleted, MESH_WAIT, group="team")
        assert got.by == "alice"
    for core, _ in users:
        assert "deleted" in await error(core, "#team anyone?")
