"""A group message is known by its author and its message id: a member reusing another
member's message id makes a second message, and neither hides nor takes over the first."""

from __future__ import annotations

from typing import Any

from simplextui.chat.events import MessageReceived, MessageUpdated, ReactionChanged
from simplextui.chat.groups import store as gq
from simplextui.protocol.chat_events import (
    ChatMessage,
    MsgContent,
    MsgNew,
    MsgReact,
    MsgUpdate,
    Quote,
    encode_chat_message,
)
from tests.chat.helpers import Pair, ok
from tests.groups.helpers import T, member_id, probe


async def _send_as_is(user: Pair, *messages: ChatMessage, group: str = "team") -> None:
    """``user``'s modified client sends ``messages`` (msgIds chosen) to every member."""
    core = user[0]
    async with core.db.session() as s:
        g = await gq.by_name(s, group)
        assert g is not None
        conns = [m.conn_id for m in await gq.connected_members(s, g.id) if m.conn_id]
    ctx: Any = core._inbound.ctx  # type: ignore[union-attr]
    for conn in conns:
        for message in messages:
            await ctx.agent.send(conn, encode_chat_message(message))


async def _by_author(user: Pair, msg_id: str) -> dict[str, Any]:
    """``user``'s messages with id ``msg_id``, by author name."""
    r = await ok(user[0], "/tail #team 50")
    return {m.from_: m for m in r.messages if m.msg_id == msg_id}


async def test_a_reused_message_id_is_another_authors_message(trio: list[Pair]) -> None:
    alice, bob, carol = trio
    m = await ok(alice[0], "#team alice's words")
    for _, rec in (bob, carol):
        await rec.wait(MessageReceived, T, msg_id=m.msg_id)
    # bob's client sends its own message with alice's id (it knows it: it received it)
    await _send_as_is(bob, ChatMessage(m.msg_id, MsgNew(MsgContent("bob's words"))))
    await probe(bob, [alice, carol])
    for user in (alice, carol):
        got = [e for e in user[1].of(MessageReceived) if e.msg_id == m.msg_id]
        assert [e.from_ for e in got if e.from_ == "bob"] == ["bob"]
    seen = await _by_author(carol, m.msg_id)
    assert {a: v.text for a, v in seen.items()} == {"alice": "alice's words",
                                                     "bob": "bob's words"}

    # alice's edit and reaction are about her message only, wherever bob's copy is
    await ok(alice[0], f"/edit #team {m.msg_id} alice, edited")
    await ok(alice[0], f"/react #team {m.msg_id} 👍")
    await carol[1].wait(ReactionChanged, T, msg_id=m.msg_id, from_="alice")
    await bob[1].wait(ReactionChanged, T, msg_id=m.msg_id, from_="alice")
    # and bob's edit of his (client's) message only touches his
    await _send_as_is(bob, ChatMessage("C" * 16, MsgUpdate(m.msg_id, MsgContent("bob, edited"))))
    for _, rec in (alice, carol):
        await rec.wait(MessageUpdated, T, msg_id=m.msg_id, from_="bob")
    for user in (alice, carol):
        seen = await _by_author(user, m.msg_id)
        assert (seen["alice"].text, [r.reaction for r in seen["alice"].reactions]) == (
            "alice, edited", ["👍"])
        assert (seen["bob"].text, seen["bob"].reactions) == ("bob, edited", [])
    seen = await _by_author(bob, m.msg_id)
    assert (seen["alice"].text, [r.reaction for r in seen["alice"].reactions]) == (
        "alice, edited", ["👍"])


async def test_reactions_and_quotes_name_the_author(trio: list[Pair]) -> None:
    """carol reacts to and quotes bob's message reusing alice's id: the reaction lands on
    bob's message and the quote shows bob's words, at alice's too."""
    alice, bob, carol = trio
    m = await ok(alice[0], "#team the original")
    for _, rec in (bob, carol):
        await rec.wait(MessageReceived, T, msg_id=m.msg_id)
    await _send_as_is(bob, ChatMessage(m.msg_id, MsgNew(MsgContent("the copy"))))
    await probe(bob, [alice, carol])
    bob_id = await member_id(carol, "bob")
    # carol's client reacts to and replies to bob's message, naming bob as its author
    await _send_as_is(carol, ChatMessage("A" * 16, MsgReact(m.msg_id, "🚀", True, bob_id)))
    reply = ChatMessage("B" * 16, MsgNew(MsgContent("re"), Quote(
        m.msg_id, MsgContent("whatever carol claims"), member_id=bob_id)))
    await _send_as_is(carol, reply)
    await probe(carol, [alice, bob])
    seen = await _by_author(alice, m.msg_id)
    assert seen["alice"].reactions == []
    assert [r.reaction for r in seen["bob"].reactions] == ["🚀"]
    got = await alice[1].wait(MessageReceived, T, msg_id=reply.msg_id)
    assert got.quote is not None and (got.quote.text, got.quote.from_) == ("the copy", "bob")
