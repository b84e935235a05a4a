"""Faults: a member offline for a long time catches up; a restart mid-introduction."""

from __future__ import annotations

import asyncio
from typing import Any

from simplextui.chat.events import (
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MessageReceived,
)
from tests.chat.helpers import connect, ok
from tests.groups.helpers import T, build_group


async def _statuses(user: Any) -> dict[str, str]:
    r = await ok(user[0], "/ms team")
    return {m.name: m.status for m in r.members if not m.me}


async def test_member_offline_catches_up_when_back(make_user: Any) -> None:
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await build_group([alice, bob, carol])
    core, rec = carol
    await asyncio.wait_for(core.stop(), T)  # carol's agent is gone for "days"
    sent: dict[str, str] = {}
    for user in (alice, bob):
        sent[(await ok(user[0], f"#team while carol is away, {user[0].user_name}")).msg_id] = \
            user[0].user_name
    # a new member joins meanwhile: its introduction to carol waits in carol's queues
    await connect(alice, dave, T)
    await ok(alice[0], "/a team dave")
    await dave[1].wait(GroupInvitationReceived, T, group="team")
    await ok(dave[0], "/j team")
    await dave[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    sent[(await ok(dave[0], "#team hi from dave")).msg_id] = "dave"
    carol = await make_user("carol", data_dir=core.data_dir, recorder=rec)
    for msg_id, author in sent.items():
        got = await rec.wait(MessageReceived, T, msg_id=msg_id)
        assert got.from_ == author
    await rec.wait(MemberConnectedEvent, T, group="team", member="dave")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="dave")
    after = await ok(dave[0], "#team carol is back")  # now directly
    await rec.wait(MessageReceived, T, msg_id=after.msg_id)
    ids = [e.msg_id for e in rec.of(MessageReceived)]
    assert len(ids) == len(set(ids))
    assert set(sent) | {after.msg_id} <= set(ids)
    assert set((await _statuses(carol)).values()) == {"connected"}


async def test_restarts_mid_introduction_still_complete(make_user: Any, restart: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await connect(alice, carol, T)
    await ok(alice[0], "/a team carol")
    await carol[1].wait(GroupInvitationReceived, T, group="team")
    await ok(carol[0], "/j team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    # the new member, the existing member and the inviter restart while introducing
    carol = await restart(carol)
    bob = await restart(bob)
    alice = await restart(alice)
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    r = await ok(carol[0], "#team made it")
    for user in (alice, bob):
        await user[1].wait(MessageReceived, T, msg_id=r.msg_id)
    for user in (alice, bob, carol):
        assert set((await _statuses(user)).values()) == {"connected"}


async def test_inviter_crash_before_introducing_resumes(make_user: Any, restart: Any) -> None:
    """The inviter crashes after recording the new member connected, before it introduced it:
    the agent delivers the connection again and the introductions are made then."""
    from tests.chat.conftest import Crash

    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await connect(alice, carol, T)
    crash = Crash(alice, lambda e: isinstance(e, MemberConnectedEvent) and e.member == "carol")

    async def crashed(*_: Any, **__: Any) -> None:  # nothing after the crash point happens
        return None
    alice[0]._inbound.groups._after_connected = crashed  # type: ignore[union-attr]
    await ok(alice[0], "/a team carol")
    await carol[1].wait(GroupInvitationReceived, T, group="team")
    await ok(carol[0], "/j team")
    await crash.wait()
    assert "Connected" in crash.pending_agent_events()
    alice = await restart(alice, crash=crash)
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
