"""Symmetric groups: any member adds and removes; additions beyond a size wait for approval.
In a non-symmetric group receivers refuse a plain member's add and remove."""

from __future__ import annotations

import itertools
from typing import Any

from simplextui.chat.events import (
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MemberPendingApproval,
    MemberRemoved,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.send import member_self_info
from simplextui.protocol.chat_events import Profile
from simplextui.protocol.group_events import (
    GroupRole,
    MemberForward,
    MemberInfo,
    MemberNew,
    new_member_id,
)
from tests.chat.helpers import connect, error, ok
from tests.groups.helpers import T, invite_and_join

NAMES = ("alice", "bob", "carol", "dave", "eve")


async def _members(user: Any) -> dict[str, str]:
    r = await ok(user[0], "/ms team")
    return {m.name: m.status for m in r.members if not m.me}


async def _wait_mesh(users: list[Any]) -> None:
    for core, rec in users:
        for other, _ in users:
            name = other.user_name
            if name != core.user_name and not any(
                    e.member == name for e in rec.of(MemberConnectedEvent)):
                await rec.wait(MemberConnectedEvent, T, group="team", member=name)


async def test_any_member_adds_and_removes_in_a_symmetric_group(make_user: Any) -> None:
    users = [await make_user(n) for n in NAMES]
    alice = users[0]
    await ok(alice[0], "/g team")
    await ok(alice[0], "/set symmetric #team on")
    # each member, a plain "member", adds the next one
    for inviter, new in itertools.pairwise(users):
        await connect(inviter, new, T)
        await invite_and_join(inviter, new, "team")
    await _wait_mesh(users)
    for user in users:
        assert set((await _members(user)).values()) == {"connected"}
    # a plain member removes another; everyone drops it
    carol = users[2]
    await ok(carol[0], "/rm team eve")
    for core, rec in users[:4]:
        if core.user_name != "carol":
            await rec.wait(MemberRemoved, T, group="team", member="eve", by="carol")
    await users[4][1].wait(MemberRemoved, T, group="team", member="eve", by="carol")
    r = await ok(users[3][0], "#team after eve")
    for _, rec in users[:3]:
        await rec.wait(MessageReceived, T, msg_id=r.msg_id)
    assert not [e for e in users[4][1].all
                if isinstance(e, MessageReceived) and e.msg_id == r.msg_id]


async def test_symmetric_is_chosen_by_the_owner_before_anyone_joins(make_user: Any) -> None:
    alice, bob = [await make_user(n) for n in ("alice", "bob")]
    await ok(alice[0], "/g team")
    assert "not symmetric" in await error(alice[0], "/set approval #team 3")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    assert "before anyone" in await error(alice[0], "/set symmetric #team on")
    assert "only its owner" in await error(bob[0], "/set symmetric #team on")
    assert "usage" in await error(alice[0], "/set symmetric #team maybe")


async def test_additions_beyond_the_threshold_wait_for_approval(make_user: Any) -> None:
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await ok(alice[0], "/g team")
    await ok(alice[0], "/set symmetric #team on")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    await connect(bob, carol, T)
    await invite_and_join(bob, carol, "team")  # 2 members when carol comes: no approval
    for user in (alice, bob):
        await ok(user[0], "/set approval #team 3")
    # carol (not an owner) adds dave to a group of 3: alice and bob must approve
    await connect(carol, dave, T)
    await ok(carol[0], "/a team dave")
    await dave[1].wait(GroupInvitationReceived, T, group="team")
    await ok(dave[0], "/j team")
    for user in (alice, bob):
        pending = await user[1].wait(MemberPendingApproval, T, group="team", member="dave")
        assert pending.by == "carol"
        assert (await _members(user))["dave"] == "pending_approval"
    assert "does not wait" in await error(alice[0], "/approve #team carol")
    await ok(alice[0], "/approve #team dave")
    await ok(bob[0], "/reject #team dave")
    await dave[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    await alice[1].wait(MemberConnectedEvent, T, group="team", member="dave")
    assert (await _members(bob))["dave"] == "rejected"
    # dave's messages reach alice and carol, not bob
    r = await ok(dave[0], "#team hi")
    for user in (alice, carol):
        await user[1].wait(MessageReceived, T, msg_id=r.msg_id)
    probe = await ok(carol[0], "#team probe")  # after dave's message on carol's connections
    await bob[1].wait(MessageReceived, T, msg_id=probe.msg_id)
    assert not [e for e in bob[1].all if isinstance(e, MessageReceived) and e.msg_id == r.msg_id]
    # an owner's additions need no approval
    eve = await make_user("eve")
    await connect(alice, eve, T)
    await ok(alice[0], "/a team eve")
    await eve[1].wait(GroupInvitationReceived, T, group="team")
    await ok(eve[0], "/j team")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="eve")
    await alice[1].wait(MemberConnectedEvent, T, group="team", member="eve")
    assert not [e for e in bob[1].all if isinstance(e, MemberPendingApproval)
                and e.member == "eve"]


async def test_plain_members_adds_are_refused_in_a_normal_group(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g team")
    for user in (bob, carol):
        await connect(alice, user, T)
        await invite_and_join(alice, user, "team")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    assert "only admins" in await error(bob[0], "/a team alice")
    # a modified client: bob announces a made-up member to carol and forwards its invitation
    ctx = bob[0]._inbound.ctx  # type: ignore[union-attr]
    async with bob[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        to_carol = (await gq.member_by_name(s, group.id, "carol")).conn_id  # type: ignore[union-attr]
    assert to_carol is not None
    _, link = await bob[0]._agent.create_invitation(  # type: ignore[union-attr]
        member_self_info(ctx, group))
    fake = MemberInfo(new_member_id(), GroupRole.MEMBER, Profile("mallory"))
    await ctx.send_event(to_carol, MemberNew(fake))
    await ctx.send_event(to_carol, MemberForward(fake, link))
    probe = await ok(bob[0], "#team probe")  # after the forged events on the same connection
    await carol[1].wait(MessageReceived, T, msg_id=probe.msg_id)
    assert "mallory" not in await _members(carol)
    assert not carol[1].of(MemberConnectedAll)
