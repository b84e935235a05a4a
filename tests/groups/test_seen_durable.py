"""Changes received directly from their author are remembered in the database: a forwarded
copy of one, however late (here a replay by the introducer), is dropped after a restart too,
and cannot undo a newer change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from simplextui.chat.clock import now_ms
from simplextui.chat.events import MessageReceived, ReactionChanged
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.seen import SeenChanges
from simplextui.protocol.chat_events import ChatMessage, MsgReact
from simplextui.protocol.group_events import MsgForward
from simplextui.store.chat_models import GroupSeenChange
from tests.chat.helpers import Pair, ok
from tests.groups.helpers import T, member_id, probe
from tests.groups.test_forward_bound import _forward_to
from tests.groups.test_identity import _by_author, _send_as_is


async def test_a_replayed_change_is_dropped_after_a_restart(trio: list[Pair],
                                                            restart: Any) -> None:
    alice, bob, carol = trio
    m = await ok(bob[0], "#team react to me")
    await carol[1].wait(MessageReceived, T, msg_id=m.msg_id)
    bob_id = await member_id(carol, "bob")
    added = ChatMessage("R" * 16, MsgReact(m.msg_id, "👍", True, bob_id))
    await _send_as_is(bob, added)
    await carol[1].wait(ReactionChanged, T, msg_id=m.msg_id, add=True)
    await _send_as_is(bob, ChatMessage("S" * 16, MsgReact(m.msg_id, "👍", False, bob_id)))
    await carol[1].wait(ReactionChanged, T, msg_id=m.msg_id, add=False)

    carol = await restart(carol)
    # the introducer passes the old "add" on again, numbered within bob's bound (0 here)
    replay = ChatMessage(added.msg_id, added.event, seq=0)
    await _forward_to(alice, "carol", MsgForward(bob_id, "bob", now_ms(), replay))
    await probe(alice, [carol])
    assert (await _by_author(carol, m.msg_id))["bob"].reactions == []


async def test_seen_changes_are_pruned_per_group(trio: list[Pair]) -> None:
    """Only the newest ``limit`` changes of a group are remembered."""
    _, _, carol = trio
    ctx: Any = carol[0]._inbound.ctx  # type: ignore[union-attr]
    seen = SeenChanges(ctx, limit=3, prune_every=1)
    author = await member_id(carol, "bob")
    async with ctx.db.session() as s:
        group = await gq.by_name(s, "team")
    assert group is not None
    group_id = group.id
    keys = [(group_id, author, f"{i:016d}") for i in range(5)]
    for key in keys:
        await seen.add(key)
        await seen.add(key)  # a repeat changes nothing
    assert [await seen.seen(k) for k in keys] == [False, False, True, True, True]
    async with ctx.db.session() as s:
        count = await s.scalar(select(func.count()).select_from(GroupSeenChange).where(
            GroupSeenChange.group_id == group_id))
    assert count == 3
