"""An edit, deletion or reaction that arrives before its message (the message forwarded late,
the change sent directly) is kept and applied when the message comes, with the usual checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from simplextui.chat.events import MessageReceived
from simplextui.chat.groups.early import MAX_EARLY
from simplextui.protocol.chat_events import (
    ChatMessage,
    MsgContent,
    MsgDelete,
    MsgNew,
    MsgReact,
    MsgUpdate,
    new_msg_id,
)
from simplextui.store.chat_models import GroupEarlyChange
from tests.chat.helpers import Pair
from tests.groups.helpers import member_id, probe
from tests.groups.test_identity import _by_author, _send_as_is


async def test_changes_before_their_message_apply_when_it_comes(trio: list[Pair]) -> None:
    alice, bob, carol = trio
    edited, moderated, untouched = new_msg_id(), new_msg_id(), new_msg_id()
    bob_id = await member_id(alice, "bob")
    # bob's edit and alice's (the owner's) moderation come first; alice's "edit" of a message
    # of bob's is not hers to make
    await _send_as_is(bob, ChatMessage(new_msg_id(), MsgUpdate(edited, MsgContent("after"))))
    await _send_as_is(alice, ChatMessage(new_msg_id(), MsgDelete(moderated, bob_id)))
    await _send_as_is(alice, ChatMessage(new_msg_id(), MsgUpdate(untouched, MsgContent("x"))),
                      ChatMessage(new_msg_id(), MsgReact(edited, "👍", True, bob_id)))
    await probe(alice, [carol])
    for msg_id, text in ((edited, "before"), (moderated, "spam"), (untouched, "mine")):
        await _send_as_is(bob, ChatMessage(msg_id, MsgNew(MsgContent(text))))
    await probe(bob, [carol])
    for msg_id in (edited, moderated, untouched):
        assert [e for e in carol[1].of(MessageReceived) if e.msg_id == msg_id]
    seen = {m: (await _by_author(carol, m))["bob"] for m in (edited, moderated, untouched)}
    assert (seen[edited].text, seen[edited].edited) == ("after", True)
    assert [(r.reaction, r.from_) for r in seen[edited].reactions] == [("👍", "alice")]
    assert seen[moderated].deleted
    assert (seen[untouched].text, seen[untouched].edited) == ("mine", False)
    ctx: Any = carol[0]._inbound.ctx  # type: ignore[union-attr]
    async with ctx.db.session() as s:  # alice's stray edit is still kept (bounded)
        assert await s.scalar(select(func.count()).select_from(GroupEarlyChange)) == 1


async def test_early_changes_are_bounded_per_sender(trio: list[Pair]) -> None:
    _, bob, carol = trio
    await _send_as_is(bob, *[ChatMessage(new_msg_id(), MsgUpdate(new_msg_id(), MsgContent("x")))
                             for _ in range(MAX_EARLY + 5)])
    await probe(bob, [carol])
    ctx: Any = carol[0]._inbound.ctx  # type: ignore[union-attr]
    async with ctx.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(GroupEarlyChange)) == MAX_EARLY
