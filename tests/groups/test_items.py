"""Replies, edits, deletions (own, and an admin's moderation) and reactions in a group, with
three real agents; forged ones (a member changing another's message, a member moderating)
are refused by every receiver."""

from __future__ import annotations

import asyncio
from typing import Any

from simplextui.chat.events import (
    MemberConnectedEvent,
    MessageDeleted,
    MessageReceived,
    MessageUpdated,
    ReactionChanged,
)
from simplextui.protocol.chat_events import MsgContent, MsgDelete, MsgNew, MsgUpdate, Quote
from tests.chat.helpers import Pair, connect, error, ok
from tests.groups.helpers import (
    MESH_WAIT,
    T,
    build_group,
    forge,
    invite_and_accept,
    member_id,
    nothing,
    probe,
    send_unsent,
    spy_authored,
    tail_by_id,
    wait_mesh,
)


async def test_reply_edit_react_delete_reach_every_member(trio: list[Pair]) -> None:
    alice, bob, carol = trio
    first = await ok(bob[0], "#team hello all")
    for _, rec in (alice, carol):
        await rec.wait(MessageReceived, T, msg_id=first.msg_id)

    reply = await ok(carol[0], "> #team (hello) hi bob")
    got = await alice[1].wait(MessageReceived, T, msg_id=reply.msg_id)
    assert got.quote is not None and (got.quote.msg_id, got.quote.text, got.quote.from_) == (
        first.msg_id, "hello all", "bob")
    got = await bob[1].wait(MessageReceived, T, msg_id=reply.msg_id)
    assert got.quote is not None and got.quote.from_ == "bob"  # bob's own message, by name

    await ok(bob[0], "! #team (hello) hello everyone")
    for _, rec in (alice, carol):
        got_edit = await rec.wait(MessageUpdated, T, msg_id=first.msg_id)
        assert (got_edit.chat, got_edit.from_, got_edit.text) == (
            "#team", "bob", "hello everyone")

    await ok(alice[0], "+1 #team hello")
    await ok(carol[0], f"/react #team {first.msg_id} ❤️")
    for _, rec in (bob, carol):
        got_react = await rec.wait(ReactionChanged, T, from_="alice")
        assert (got_react.msg_id, got_react.reaction, got_react.add) == (first.msg_id, "👍", True)
    await bob[1].wait(ReactionChanged, T, from_="carol", reaction="❤️")

    seen = (await tail_by_id(bob))[first.msg_id]
    assert (seen.text, seen.edited) == ("hello everyone", True)
    assert sorted((r.reaction, r.from_) for r in seen.reactions) == [("❤️", "carol"),
                                                                     ("👍", "alice")]
    replied = (await tail_by_id(alice))[reply.msg_id]
    assert replied.quote is not None and replied.quote.from_ == "bob"

    assert "already reacted" in await error(alice[0], "+1 #team hello")  # nothing sent
    await ok(alice[0], "-1 #team hello")  # taken back
    assert "no 👍 reaction" in await error(alice[0], "-1 #team hello")
    got_react = await bob[1].wait(ReactionChanged, T, from_="alice", add=False)
    assert got_react.reaction == "👍"

    await ok(bob[0], "\\ #team hello")
    for _, rec in (alice, carol):
        await rec.wait(MessageDeleted, T, msg_id=first.msg_id, from_="bob")
    assert (await tail_by_id(carol))[first.msg_id].deleted
    assert "no message" in await error(bob[0], "! #team (hello) again")


async def test_a_reply_to_this_users_own_message_names_them(trio: list[Pair]) -> None:
    alice, bob, _ = trio
    mine = await ok(alice[0], "#team who is in?")
    await bob[1].wait(MessageReceived, T, msg_id=mine.msg_id)
    reply = await ok(bob[0], f"/reply #team {mine.msg_id} me")
    got = await alice[1].wait(MessageReceived, T, msg_id=reply.msg_id)
    assert got.quote is not None and got.quote.from_ == "alice"  # this user's display name


async def test_admins_moderate_members_do_not(trio: list[Pair]) -> None:
    alice, bob, carol = trio
    m = await ok(carol[0], "#team something regrettable")
    for _, rec in (alice, bob):
        await rec.wait(MessageReceived, T, msg_id=m.msg_id)
    assert "only admins and owners" in await error(bob[0], f"/delete #team {m.msg_id}")
    assert "only edit your own" in await error(bob[0], f"/edit #team {m.msg_id} fixed")

    await ok(alice[0], f"/delete #team {m.msg_id}")  # the owner moderates
    for _, rec in (bob, carol):  # carol's own copy goes too
        await rec.wait(MessageDeleted, T, msg_id=m.msg_id, from_="alice")
    assert (await tail_by_id(carol))[m.msg_id].deleted


async def test_forged_changes_of_others_messages_are_refused(trio: list[Pair]) -> None:
    alice, bob, carol = trio
    m = await ok(carol[0], "#team carol's words")
    for _, rec in (alice, bob):
        await rec.wait(MessageReceived, T, msg_id=m.msg_id)
    carol_id = await member_id(alice, "carol")
    # bob's modified client edits carol's message and "moderates" it, though a member
    await forge(bob, MsgUpdate(m.msg_id, MsgContent("bob's words")),
                MsgDelete(m.msg_id, carol_id))
    await probe(bob, [alice, carol])  # what bob sent before was processed
    for user in (alice, carol):
        seen = (await tail_by_id(user))[m.msg_id]
        assert (seen.text, seen.edited, seen.deleted) == ("carol's words", False, False)
        assert not user[1].of(MessageUpdated) and not user[1].of(MessageDeleted)


async def test_changes_are_forwarded_while_a_pair_is_not_connected(make_user: Any) -> None:
    """carol joins while bob holds her invitation: her reply, its edit and her reaction reach
    bob through alice (the introducer), and a later delete too once they are connected."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await wait_mesh([alice, bob])
    release = asyncio.Event()
    groups: Any = bob[0]._inbound.groups  # type: ignore[union-attr]
    original = groups._member_forward

    async def held(group: Any, sender: Any, event: Any) -> None:
        await asyncio.wait_for(release.wait(), MESH_WAIT)
        await original(group, sender, event)

    def hold(group: Any, sender: Any, event: Any) -> Any:  # not awaited inline: the
        held_tasks.append(asyncio.get_running_loop().create_task(held(group, sender, event)))
        return nothing()  # messages behind it on alice's connection go on meanwhile

    held_tasks: list[asyncio.Task[Any]] = []
    groups._member_forward = hold
    await connect(alice, carol, T)
    await invite_and_accept(alice, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    seen = spy_authored(bob)

    first = await ok(bob[0], "#team welcome carol")
    await carol[1].wait(MessageReceived, T, msg_id=first.msg_id)  # forwarded by alice
    reply = await ok(carol[0], "> #team (welcome) thanks!")
    await ok(carol[0], "! #team (thanks) thanks, bob!")
    await ok(carol[0], "+^ #team welcome")
    got = await bob[1].wait(MessageReceived, T, msg_id=reply.msg_id)
    assert got.quote is not None and got.quote.from_ == "bob"
    await bob[1].wait(MessageUpdated, T, msg_id=reply.msg_id, text="thanks, bob!")
    await bob[1].wait(ReactionChanged, T, msg_id=first.msg_id, from_="carol", reaction="🚀")
    assert {(author, forwarded) for author, _, forwarded in seen} == {("carol", True)}

    release.set()
    await asyncio.gather(*held_tasks)
    await wait_mesh([alice, bob, carol])
    await ok(carol[0], "\\ #team thanks")
    await bob[1].wait(MessageDeleted, T, msg_id=reply.msg_id, from_="carol")



async def test_a_message_committed_but_never_sent_goes_out_at_the_next_start(
        make_user: Any, restart: Any) -> None:
    """The process ends after the item was committed and before the agent took it (here the
    agent refuses, as a crash would leave it): the next start sends it, under its own id."""
    alice, bob = await make_user("alice"), await make_user("bob")
    await build_group([alice, bob])
    lost = await send_unsent(alice, "did this get through?")

    alice = await restart(alice)
    got = await bob[1].wait(MessageReceived, T, chat="#team", text="did this get through?")
    assert got.msg_id == lost.msg_id
    await probe(alice, [bob])
    assert len([e for e in bob[1].of(MessageReceived) if e.msg_id == lost.msg_id]) == 1
    again = await restart(alice)  # sent now: not sent again
    await probe(again, [bob])
    assert len([e for e in bob[1].of(MessageReceived) if e.msg_id == lost.msg_id]) == 1


async def test_tail_of_all_chats_has_group_messages_too(make_user: Any) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    await build_group([alice, bob])
    direct = await ok(alice[0], "@bob just between us")
    await bob[1].wait(MessageReceived, T, msg_id=direct.msg_id)
    shared = await ok(bob[0], "#team for everyone")
    await alice[1].wait(MessageReceived, T, msg_id=shared.msg_id)
    reply = await ok(alice[0], "> #team (for) noted")
    await ok(alice[0], f"/react #team {shared.msg_id} 👍")
    messages = (await ok(alice[0], "/tail 3")).messages
    assert [(m.chat, m.from_, m.text) for m in messages] == [
        ("@bob", "alice", "just between us"), ("#team", "bob", "for everyone"),
        ("#team", "alice", "noted")]
    assert [(r.reaction, r.from_) for r in messages[1].reactions] == [("👍", "alice")]
    assert messages[2].msg_id == reply.msg_id and messages[2].quote is not None
    assert messages[2].quote.from_ == "bob"
    assert [m.text for m in (await ok(alice[0], "/tail 1")).messages] == ["noted"]


async def test_a_reply_cannot_put_words_in_the_quoted_authors_mouth(trio: list[Pair]) -> None:
    """bob's modified client quotes alice's real message with other words, naming carol as
    its author: receivers show alice's words and alice, from their own copy."""
    alice, bob, carol = trio
    said = await ok(alice[0], "#team lunch is at noon")
    for _, rec in (bob, carol):
        await rec.wait(MessageReceived, T, msg_id=said.msg_id)
    carol_id = await member_id(alice, "carol")
    forged = MsgNew(MsgContent("see?"), Quote(said.msg_id, MsgContent("lunch is cancelled"),
                                              member_id=carol_id))
    await forge(bob, forged)
    for name, rec in (("alice", alice[1]), ("carol", carol[1])):
        got = await rec.wait(MessageReceived, T, text="see?")
        assert got.quote is not None, name
        assert (got.quote.text, got.quote.from_) == ("lunch is at noon", "alice"), name
