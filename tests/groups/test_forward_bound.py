"""An introducer's trust for a pair ends with what the pair said before knowing each other:
once bob and carol are connected, carol takes a forwarded event of bob's from their
introducer only if bob sent it before he learned of carol (numbered at most the bound bob
told her on connecting); what bob says afterwards reaches her directly, never forged."""

from __future__ import annotations

import asyncio
from typing import Any

from simplextui.chat.clock import now_ms
from simplextui.chat.events import MemberConnectedEvent, MessageDeleted, MessageReceived
from simplextui.chat.groups import store as gq
from simplextui.protocol.chat_events import ChatMessage, MsgContent, MsgDelete, MsgNew, new_msg_id
from simplextui.protocol.group_events import GroupMemberRole, GroupRole, MsgForward
from tests.chat.helpers import Pair, connect, ok
from tests.groups.helpers import (
    T,
    build_group,
    invite_and_accept,
    invite_and_join,
    member_id,
    probe,
    wait_mesh,
)


async def _row(user: Pair, name: str) -> Any:
    async with user[0].db.session() as s:
        g = await gq.by_name(s, "team")
        assert g is not None
        if name == user[0].user_name:
            return g
        return await gq.member_by_name(s, g.id, name)


async def _forward_to(introducer: Pair, target: str, message: MsgForward) -> None:
    """The introducer's modified client sends ``message`` to member ``target`` only."""
    row = await _row(introducer, target)
    ctx: Any = introducer[0]._inbound.ctx  # type: ignore[union-attr]
    await ctx.send_event(row.conn_id, message)


async def test_an_introducer_cannot_forge_once_the_pair_is_connected(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await ok(alice[0], "/set history #team off")  # bob's early words reach carol forwarded only
    early = await ok(bob[0], "#team said before carol came")
    await alice[1].wait(MessageReceived, T, msg_id=early.msg_id)
    early_seq = (await _row(bob, "bob")).last_seq
    assert early_seq >= 1
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team")
    await wait_mesh([alice, bob, carol])
    bob_at_carol = await _row(carol, "bob")
    assert bob_at_carol.seq_bound == early_seq  # what bob told carol on connecting

    bob_id = await member_id(carol, "bob")
    forged = [ChatMessage(new_msg_id(), MsgNew(MsgContent("bob never said this"))),
              ChatMessage(new_msg_id(), MsgNew(MsgContent("nor this")), seq=early_seq + 1),
              ChatMessage(new_msg_id(), MsgDelete(early.msg_id), seq=early_seq + 5)]
    for message in forged:
        await _forward_to(alice, "carol", MsgForward(bob_id, "bob", now_ms(), message))
    # the late copy of what bob said before he knew of carol (alice was offline, say): taken
    late = ChatMessage(early.msg_id, MsgNew(MsgContent("said before carol came")),
                       seq=early_seq)
    await _forward_to(alice, "carol", MsgForward(bob_id, "bob", now_ms(), late))
    await probe(alice, [carol])
    got = await carol[1].wait(MessageReceived, T, msg_id=early.msg_id)
    assert (got.from_, got.text) == ("bob", "said before carol came")
    assert not [e for e in carol[1].of(MessageReceived)
                if e.msg_id in {m.msg_id for m in forged}]
    assert not carol[1].of(MessageDeleted)

    # bob's own words still reach carol, directly
    after = await ok(bob[0], "#team hello carol")
    await carol[1].wait(MessageReceived, T, msg_id=after.msg_id)


async def test_messages_numbered_and_bounds_told_both_ways(trio: list[Pair]) -> None:
    """Every member numbers the events it authors and tells each member it connects to its
    bound: here nobody spoke before the others joined, so the bounds are 0."""
    _, bob, carol = trio
    for user, other in ((bob, "carol"), (carol, "bob")):
        assert (await _row(user, other)).seq_bound == 0
    m = await ok(bob[0], "#team one")
    await ok(bob[0], f"/edit #team {m.msg_id} two")
    assert (await _row(bob, "bob")).last_seq == 2


async def test_a_real_late_forward_of_what_was_said_before_is_taken(make_user: Any) -> None:
    """bob speaks after alice introduced carol, before bob heard of her; alice's forward of
    it is late (it reaches carol only after bob and carol connected): carol takes it."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await ok(alice[0], "/set history #team off")
    await connect(alice, carol, T)
    # bob hears of carol (announcement, then her invitation) only when released
    held: list[Any] = []
    arrived = asyncio.Event()
    bob_groups: Any = bob[0]._inbound.groups  # type: ignore[union-attr]
    for name in ("_member_new", "_member_forward"):
        original = getattr(bob_groups, name)

        async def hold(*args: Any, _orig: Any = original) -> None:
            held.append((_orig, args))
            if len(held) == 2:
                arrived.set()
        setattr(bob_groups, name, hold)
    # alice's forwards between bob and carol go out late
    alice_groups: Any = alice[0]._inbound.groups  # type: ignore[union-attr]
    forward = alice_groups._forward
    late: list[tuple[Any, ...]] = []

    async def later(*args: Any) -> dict[str, int]:
        late.append(args)
        return {}
    alice_groups._forward = later

    await invite_and_accept(alice, carol, "team")
    await asyncio.wait_for(arrived.wait(), T)
    said = await ok(bob[0], "#team before I heard of carol")
    await alice[1].wait(MessageReceived, T, msg_id=said.msg_id)
    assert late  # alice would forward it to carol
    for handler, args in held:
        await handler(*args)
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    assert not [e for e in carol[1].of(MessageReceived) if e.msg_id == said.msg_id]
    alice_groups._forward = forward
    for args in late:
        await forward(*args)
    got = await carol[1].wait(MessageReceived, T, msg_id=said.msg_id)
    assert got.from_ == "bob"
    assert (await _row(carol, "bob")).seq_bound == (await _row(bob, "bob")).last_seq


async def test_a_late_forwarded_role_change_is_still_taken(make_user: Any) -> None:
    """Role and profile changes are not kept for members not connected yet (a late kept copy
    could undo a newer change): the introducer's forward is their only copy, so it is taken
    even when it arrives after the pair connected."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await ok(alice[0], "/mr team bob admin")
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team")
    await wait_mesh([alice, bob, carol])
    assert (await _row(carol, "bob")).role == "admin"
    bob_id, carol_id = await member_id(carol, "bob"), await member_id(bob, "carol")
    change = ChatMessage(new_msg_id(), GroupMemberRole(carol_id, GroupRole.OBSERVER))
    await _forward_to(alice, "carol", MsgForward(bob_id, "bob", now_ms(), change))
    await probe(alice, [carol])
    assert (await _row(carol, "carol")).role == "observer"
