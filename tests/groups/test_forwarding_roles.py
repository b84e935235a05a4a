"""Forwarding by the introducer until a pair connects; receivers enforce roles."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from simplextui.chat.events import (
    GroupDeleted,
    GroupInvitationReceived,
    MemberConnectedEvent,
    MemberLeft,
    MemberRemoved,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.protocol.chat_events import MsgContent, MsgNew
from simplextui.protocol.group_events import GroupDelete, MemberDelete
from simplextui.store.chat_models import ChatItem
from tests.chat.helpers import connect, error, ok
from tests.groups.helpers import T, build_group, invite_and_join


async def _never(*_: Any) -> None:
    return None


async def test_introducer_forwards_until_the_pair_connects(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    # bob ignores the forwarded invitation: bob and carol stay unconnected, alice forwards
    bob[0]._inbound.groups._member_forward = _never  # type: ignore[union-attr,method-assign]
    await connect(alice, carol, T)
    await ok(alice[0], "/a team carol")
    await carol[1].wait(GroupInvitationReceived, T, group="team")
    await ok(carol[0], "/j team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    m1 = await ok(bob[0], "#team from bob")
    m2 = await ok(carol[0], "#team from carol")
    got = await carol[1].wait(MessageReceived, T, msg_id=m1.msg_id)
    assert got.from_ == "bob"
    got = await bob[1].wait(MessageReceived, T, msg_id=m2.msg_id)
    assert got.from_ == "carol"
    await alice[1].wait(MessageReceived, T, msg_id=m1.msg_id)
    await alice[1].wait(MessageReceived, T, msg_id=m2.msg_id)
    async with carol[0].db.session() as s:
        item = (await s.execute(select(ChatItem).where(
            ChatItem.shared_msg_id == m1.msg_id))).scalar_one()
        assert item.forwarded
    members = await ok(bob[0], "/ms team")
    (view,) = [m for m in members.members if m.name == "carol"]
    assert (view.status, view.via) == ("introduced", "alice")
    await asyncio.sleep(0.3)
    assert len(bob[1].of(MessageReceived)) == 1 and len(carol[1].of(MessageReceived)) == 1


async def test_receivers_enforce_roles(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team", role="observer")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    # the command refuses what the role forbids
    assert "observers" in await error(carol[0], "#team hi")
    assert "only admins" in await error(bob[0], "/rm team carol")
    assert "only owners" in await error(bob[0], "/d #team")
    # and receivers refuse it when sent anyway (a modified client)
    async with carol[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        conns = [m.conn_id for m in await gq.connected_members(s, group.id)]
    for conn in conns:
        assert conn is not None
        ctx = carol[0]._inbound.ctx  # type: ignore[union-attr]
        await ctx.send_event(conn, MsgNew(MsgContent("sneaky")))
    async with bob[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        carol_m = await gq.member_by_name(s, group.id, "carol")
        assert carol_m is not None
        conns = [m.conn_id for m in await gq.connected_members(s, group.id)]
    for conn in conns:
        assert conn is not None
        ctx = bob[0]._inbound.ctx  # type: ignore[union-attr]
        await ctx.send_event(conn, MemberDelete(carol_m.member_id))
        await ctx.send_event(conn, GroupDelete())
    probe = await ok(alice[0], "#team still here")
    await bob[1].wait(MessageReceived, T, msg_id=probe.msg_id)
    await carol[1].wait(MessageReceived, T, msg_id=probe.msg_id)
    await asyncio.sleep(0.5)
    assert not [e for e in alice[1].all + bob[1].all + carol[1].all
                if isinstance(e, MessageReceived) and e.text == "sneaky"]
    for _, rec in (alice, bob, carol):
        assert not rec.of(MemberRemoved) and not rec.of(GroupDeleted)
    # what the roles allow works
    await ok(alice[0], "/rm team carol")
    await carol[1].wait(MemberRemoved, T, group="team", member="carol", by="alice")
    await bob[1].wait(MemberRemoved, T, group="team", member="carol")
    await ok(bob[0], "/l team")
    await alice[1].wait(MemberLeft, T, group="team", member="bob")
    await ok(alice[0], "/d #team")
