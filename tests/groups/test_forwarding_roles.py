"""Forwarding by the introducer until a pair connects; receivers enforce roles."""

from __future__ import annotations

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
from simplextui.protocol.chat_events import MsgContent, MsgNew
from simplextui.protocol.group_events import GroupDelete, MemberDelete
from simplextui.store.chat_models import ChatItem
from tests.chat.helpers import connect, error, ok
from tests.groups.helpers import T, build_group, forge, invite_and_join, member_id, probe


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
    # alice's probe follows any second forward of hers to either (their only connection)
    last = await probe(alice, [bob, carol], "probe", timeout=T)
    assert [e.msg_id for e in bob[1].of(MessageReceived)] == [m2.msg_id, last]
    assert [e.msg_id for e in carol[1].of(MessageReceived)] == [m1.msg_id, last]


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
    await forge(carol, MsgNew(MsgContent("sneaky")))
    await forge(bob, MemberDelete(await member_id(bob, "carol")), GroupDelete())
    # probes after the forged events on the same connections: bob's message, carol's leave
    # (an observer cannot send a message)
    await probe(bob, [alice, carol], "bob still here", timeout=T)
    await ok(carol[0], "/l team")
    for _, rec in (alice, bob):
        await rec.wait(MemberLeft, T, group="team", member="carol")
    assert not [e for e in alice[1].all + bob[1].all + carol[1].all
                if isinstance(e, MessageReceived) and e.text == "sneaky"]
    for _, rec in (alice, bob, carol):
        assert not rec.of(MemberRemoved) and not rec.of(GroupDeleted)
    # what the roles allow works: the owner removes a member and deletes the group
    await ok(alice[0], "/rm team bob")
    await bob[1].wait(MemberRemoved, T, group="team", member="bob", by="alice")
    await ok(alice[0], "/d #team")
