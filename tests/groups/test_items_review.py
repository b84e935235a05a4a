"""Review of group replies, edits, deletions and reactions: forged or misplaced changes are
refused by every receiver, and the rules hold for messages whose author is not known to the
receiver (history of a member who left before it joined)."""

from __future__ import annotations

import asyncio
from typing import Any

from simplextui.chat.events import (
    MemberConnectedEvent,
    MemberLeft,
    MemberRoleChanged,
    MessageDeleted,
    MessageReceived,
    MessageUpdated,
    ReactionChanged,
)
from simplextui.chat.groups.items import ITEM_EVENTS, MAX_MEMBER_REACTIONS
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    MsgContent,
    MsgDelete,
    MsgReact,
    MsgUpdate,
    decode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import MsgForward
from tests.chat.helpers import Pair, connect, error, ok
from tests.groups.helpers import (
    MESH_WAIT,
    T,
    build_group,
    forge,
    invite_and_accept,
    invite_and_join,
    member_id,
    nothing,
    probe,
    send_unsent,
    tail_by_id,
    wait_mesh,
)


async def test_moderating_a_history_message_of_a_member_who_left_reaches_new_members(
        make_user: Any) -> None:
    """bob writes and leaves; carol joins later and gets his message as history, its author
    unknown to her. The owner's moderation of it must delete her copy too (before, carol
    refused it: "not written by the member it names", as bob is no member row of hers)."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    spam = await ok(bob[0], "#team buy cheap stuff")
    await alice[1].wait(MessageReceived, T, msg_id=spam.msg_id)
    await ok(bob[0], "/l team")
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team")
    got = await carol[1].wait(MessageReceived, T, msg_id=spam.msg_id)  # history
    assert got.from_ == "bob"

    await ok(alice[0], f"/delete #team {spam.msg_id}")
    await carol[1].wait(MessageDeleted, T, msg_id=spam.msg_id, from_="alice")
    assert (await tail_by_id(carol))[spam.msg_id].deleted


async def test_a_member_keeps_at_most_a_few_reactions_per_message(trio: list[Pair]) -> None:
    """A modified client adding reaction after reaction to one message (each stored, shown,
    forwarded and kept pending by everyone) is held to MAX_MEMBER_REACTIONS, as in SimpleX;
    this user's own client refuses one more."""
    alice, bob, carol = trio
    m = await ok(alice[0], "#team react to this")
    for _, rec in (bob, carol):
        await rec.wait(MessageReceived, T, msg_id=m.msg_id)
    flood = [MsgReact(m.msg_id, r, True) for r in ("1", "2", "3", "4", "5", "6")]
    await forge(bob, *flood)
    await probe(bob, [alice, carol])
    for user in (alice, carol):
        seen = (await tail_by_id(user))[m.msg_id]
        by_bob = [r.reaction for r in seen.reactions if r.from_ == "bob"]
        assert by_bob == ["1", "2", "3"][:MAX_MEMBER_REACTIONS]
        assert len(user[1].of(ReactionChanged)) == MAX_MEMBER_REACTIONS
    # a removal makes room again
    await forge(bob, MsgReact(m.msg_id, "1", False), MsgReact(m.msg_id, "7", True))
    await probe(bob, [alice, carol], "probe 2")
    by_bob = [r.reaction for r in (await tail_by_id(alice))[m.msg_id].reactions if r.from_ == "bob"]
    assert sorted(by_bob) == ["2", "3", "7"]

    for reaction in ("👍", "❤️", "🚀"):
        await ok(carol[0], f"/react #team {m.msg_id} {reaction}")
    assert "at most" in await error(carol[0], f"/react #team {m.msg_id} 😂")


async def test_forwarded_changes_from_a_non_introducer_are_refused(trio: list[Pair]) -> None:
    """bob "forwards" an edit, a deletion and a reaction as carol: he did not introduce her to
    alice (alice introduced everyone), so alice ignores them."""
    alice, bob, carol = trio
    m = await ok(carol[0], "#team carol's words")
    for _, rec in (alice, bob):
        await rec.wait(MessageReceived, T, msg_id=m.msg_id)
    carol_id = await member_id(bob, "carol")
    for inner in (MsgUpdate(m.msg_id, MsgContent("bob's words")), MsgReact(m.msg_id, "👎", True),
                  MsgDelete(m.msg_id)):
        await forge(bob, MsgForward(carol_id, "carol", 0, ChatMessage(new_msg_id(), inner)))
    await probe(bob, [alice, carol])
    seen = (await tail_by_id(alice))[m.msg_id]
    assert (seen.text, seen.edited, seen.deleted, seen.reactions) == (
        "carol's words", False, False, [])
    assert not alice[1].of(MessageUpdated) and not alice[1].of(MessageDeleted)
    assert not alice[1].of(ReactionChanged)


async def test_group_changes_do_not_reach_direct_chat_messages(trio: list[Pair]) -> None:
    """An edit, deletion or reaction sent in the group naming a direct chat message's id (the
    receiver's own or the sender's) changes nothing."""
    alice, bob, _ = trio
    mine = await ok(alice[0], "@bob just between us")
    theirs = await ok(bob[0], "@alice and back")
    await bob[1].wait(MessageReceived, T, msg_id=mine.msg_id)
    await alice[1].wait(MessageReceived, T, msg_id=theirs.msg_id)
    for msg_id in (mine.msg_id, theirs.msg_id):
        await forge(bob, MsgUpdate(msg_id, MsgContent("changed")), MsgReact(msg_id, "👎", True),
                    MsgDelete(msg_id))
    await probe(bob, [alice])
    direct = await tail_by_id(alice, "@bob")
    for msg_id, text in ((mine.msg_id, "just between us"), (theirs.msg_id, "and back")):
        assert (direct[msg_id].text, direct[msg_id].deleted, direct[msg_id].reactions) == (
            text, False, [])


async def test_an_observer_only_reads(make_user: Any) -> None:
    """carol, an observer, forges a reaction, an edit and a deletion of bob's message and a
    moderation: none is applied by alice or bob."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team", role="observer")
    await wait_mesh([alice, bob, carol])
    m = await ok(bob[0], "#team bob's words")
    await carol[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert "observers cannot react" in await error(carol[0], f"+1 #team {m.msg_id}")
    bob_id = await member_id(carol, "bob")
    await forge(carol, MsgReact(m.msg_id, "👎", True), MsgUpdate(m.msg_id, MsgContent("x")),
                MsgDelete(m.msg_id), MsgDelete(m.msg_id, bob_id))
    await ok(carol[0], "/l team")  # after the forgeries, on the same connections
    for _, rec in (alice, bob):
        await rec.wait(MemberLeft, T, group="team", member="carol")
    for user in (alice, bob):
        seen = (await tail_by_id(user))[m.msg_id]
        assert (seen.text, seen.deleted, seen.reactions) == ("bob's words", False, [])


async def test_a_message_left_unsent_does_not_go_to_members_who_joined_after_it(
        make_user: Any, restart: Any) -> None:
    """alice's message is committed but never handed to the agent (a crash); carol joins
    before the next start, with history off. The next start sends it to bob, who was a member
    when it was written, and not to carol (who must not see what was said before she came)."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await ok(alice[0], "/set history #team off")
    lost = await send_unsent(alice, "before carol came")
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team")
    await wait_mesh([alice, bob, carol])

    alice = await restart(alice)
    await bob[1].wait(MessageReceived, T, msg_id=lost.msg_id)
    await probe(alice, [bob, carol])  # after the resend, on the same connections
    assert not [e for e in carol[1].of(MessageReceived) if e.msg_id == lost.msg_id]
    assert lost.msg_id not in await tail_by_id(carol)


async def test_a_late_forwarded_copy_does_not_undo_a_newer_change(make_user: Any) -> None:
    """carol reacts and edits while bob holds her invitation: alice forwards both, and carol
    keeps copies for bob. alice's forwards reach bob late (alice was offline, say): after the
    pair connected, the kept copies arrived directly, and carol removed the reaction and
    edited again. The late forwarded copies must not bring the old reaction and text back."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    await wait_mesh([alice, bob])
    groups: Any = bob[0]._inbound.groups  # type: ignore[union-attr]
    release_invitation, release_forwards = asyncio.Event(), asyncio.Event()
    held: list[asyncio.Task[Any]] = []
    original_forward, original_message = groups._member_forward, groups.message

    async def later(event: asyncio.Event, call: Any, *args: Any) -> None:
        await asyncio.wait_for(event.wait(), MESH_WAIT)
        await call(*args)

    def hold_invitation(group: Any, sender: Any, event: Any) -> Any:
        held.append(asyncio.get_running_loop().create_task(
            later(release_invitation, original_forward, group, sender, event)))
        return nothing()

    async def hold_forwarded_changes(event: Any) -> bool:
        try:
            inner = decode_chat_message(event.body).event
        except ChatEventError:
            inner = None
        if isinstance(inner, MsgForward) and isinstance(inner.msg.event, ITEM_EVENTS):
            held.append(asyncio.get_running_loop().create_task(
                later(release_forwards, original_message, event)))
            return True
        return bool(await original_message(event))

    groups._member_forward = hold_invitation
    groups.message = hold_forwarded_changes
    await connect(alice, carol, T)
    await invite_and_accept(alice, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    first = await ok(bob[0], "#team welcome carol")
    await carol[1].wait(MessageReceived, T, msg_id=first.msg_id)  # forwarded by alice
    mine = await ok(carol[0], "#team thanks")
    await bob[1].wait(MessageReceived, T, msg_id=mine.msg_id)
    await ok(carol[0], f"/react #team {first.msg_id} 🚀")
    await ok(carol[0], f"/edit #team {mine.msg_id} thanks v1")

    release_invitation.set()  # the pair connects: carol's kept copies reach bob directly
    await bob[1].wait(ReactionChanged, MESH_WAIT, msg_id=first.msg_id, add=True)
    await bob[1].wait(MessageUpdated, MESH_WAIT, msg_id=mine.msg_id, text="thanks v1")
    await wait_mesh([alice, bob, carol])
    await ok(carol[0], f"/unreact #team {first.msg_id} 🚀")
    await ok(carol[0], f"/edit #team {mine.msg_id} thanks v2")
    await bob[1].wait(MessageUpdated, T, msg_id=mine.msg_id, text="thanks v2")
    await bob[1].wait(ReactionChanged, T, msg_id=first.msg_id, add=False)

    release_forwards.set()  # alice's forwards of the first reaction and edit, late
    await asyncio.gather(*held)
    groups.message = original_message
    await probe(alice, [bob])
    seen = await tail_by_id(bob)
    assert seen[mine.msg_id].text == "thanks v2"
    assert seen[first.msg_id].reactions == []



async def test_a_member_made_observer_cannot_change_its_old_messages(trio: list[Pair]) -> None:
    """Receivers refuse every change from an observer: its own client must refuse too, or its
    copy of the message would differ from everyone else's."""
    alice, bob, carol = trio
    m = await ok(bob[0], "#team said while a member")
    for _, rec in (alice, carol):
        await rec.wait(MessageReceived, T, msg_id=m.msg_id)
    await ok(alice[0], "/mr team bob observer")
    await bob[1].wait(MemberRoleChanged, T, role="observer")
    assert "observers" in await error(bob[0], f"/edit #team {m.msg_id} changed")
    assert "observers" in await error(bob[0], f"/delete #team {m.msg_id}")
    seen = (await tail_by_id(bob))[m.msg_id]
    assert (seen.text, seen.edited, seen.deleted) == ("said while a member", False, False)


async def test_an_admin_moderates_admins_and_members_not_the_owner(trio: list[Pair]) -> None:
    """Moderation needs a role at least the author's: bob (admin) deletes carol's (admin)
    message for everyone; his forged moderation of alice's (owner) message is refused."""
    alice, bob, carol = trio
    for name in ("bob", "carol"):
        await ok(alice[0], f"/mr team {name} admin")
        for _, rec in (bob, carol):
            await rec.wait(MemberRoleChanged, T, role="admin", member=name)
    owners = await ok(alice[0], "#team the owner speaks")
    admins = await ok(carol[0], "#team an admin speaks")
    for _, rec in (bob,):
        await rec.wait(MessageReceived, T, msg_id=owners.msg_id)
        await rec.wait(MessageReceived, T, msg_id=admins.msg_id)
    await alice[1].wait(MessageReceived, T, msg_id=admins.msg_id)
    await carol[1].wait(MessageReceived, T, msg_id=owners.msg_id)
    assert "higher role" in await error(bob[0], f"/delete #team {owners.msg_id}")
    await ok(bob[0], f"/delete #team {admins.msg_id}")
    for _, rec in (alice, carol):
        await rec.wait(MessageDeleted, T, msg_id=admins.msg_id, from_="bob")
    await forge(bob, MsgDelete(owners.msg_id, await member_id(bob, "alice")))
    await probe(bob, [alice, carol])
    for user in (alice, carol):
        assert not (await tail_by_id(user))[owners.msg_id].deleted
