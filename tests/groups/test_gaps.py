"""Gaps of the first group version: nothing lost when the introducer is gone before a pair
connects, a rejection stops the introducer's forwarding, a link host racing another admin."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from simplextui.chat.events import (
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MemberLeft,
    MemberPendingApproval,
    MemberRemoved,
    MessageReceived,
)
from simplextui.chat.groups import links
from simplextui.chat.groups import store as gq
from simplextui.chat.responses import LinkResponse
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    decode_chat_message,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import MemberRejected, new_member_id
from simplextui.store.chat_models import GroupIntro, GroupPendingMessage
from tests.chat.helpers import connect, ok
from tests.groups.helpers import (
    T,
    hold_forwards,
    invite_and_accept,
    invite_and_join,
    spy_authored,
)


def _hold(user: Any) -> tuple[asyncio.Event, asyncio.Event, list[asyncio.Task[Any]]]:
    """Hold the member invitations forwarded to ``user`` until the event is set: the pair
    stays introduced, not connected, as long as the test wants."""
    release, arrived = asyncio.Event(), asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    groups = user[0]._inbound.groups
    original = groups._member_forward

    async def held(group: Any, sender: Any, event: Any) -> None:
        arrived.set()

        async def later() -> None:
            await asyncio.wait_for(release.wait(), 4 * T)
            await original(group, sender, event)
        tasks.append(asyncio.get_running_loop().create_task(later()))
    groups._member_forward = held
    return release, arrived, tasks


async def _statuses(user: Any) -> dict[str, str]:
    r = await ok(user[0], "/ms team")
    return {m.name: m.status for m in r.members if not m.me}


async def _pending_rows(core: Any) -> int:
    async with core.db.session() as s:
        return (await s.execute(select(func.count()).select_from(GroupPendingMessage))
                ).scalar_one()


async def test_messages_after_the_introducer_left_reach_the_pair(make_user: Any) -> None:
    """alice introduces carol to bob and leaves before the pair connects; what bob and carol
    send meanwhile (nobody forwards it) arrives once they connect, across a restart."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    release, arrived, tasks = _hold(bob)  # bob joins carol's invitation only later
    await connect(alice, carol, T)
    await invite_and_accept(alice, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    # the invitation reached bob (held there), so alice has nothing in flight: she leaves
    await asyncio.wait_for(arrived.wait(), T)
    assert (await ok(alice[0], "/l team")).message == "you left #team"
    await bob[1].wait(MemberLeft, T, group="team", member="alice")
    await carol[1].wait(MemberLeft, T, group="team", member="alice")
    assert (await _statuses(bob))["carol"] == "introduced"
    from_bob = (await ok(bob[0], "#team from bob, nobody forwards")).msg_id
    from_carol = (await ok(carol[0], "#team from carol, nobody forwards")).msg_id
    assert await _pending_rows(bob[0]) == 1 and await _pending_rows(carol[0]) == 1
    core, rec = carol
    await asyncio.wait_for(core.stop(), T)  # the kept message survives a restart
    carol = await make_user("carol", data_dir=core.data_dir, recorder=rec)
    # bob now joins carol's invitation: the pair connects and each sends what it kept
    release.set()
    await asyncio.gather(*tasks)
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    got = await carol[1].wait(MessageReceived, T, msg_id=from_bob)
    assert got.from_ == "bob" and got.text == "from bob, nobody forwards"
    got = await bob[1].wait(MessageReceived, T, msg_id=from_carol)
    assert got.from_ == "carol"
    # once each: a probe after the kept messages on the same connections
    for sender, receiver in ((bob, carol), (carol, bob)):
        probe = (await ok(sender[0], "#team probe")).msg_id
        await receiver[1].wait(MessageReceived, T, msg_id=probe)
        ids = [e.msg_id for e in receiver[1].of(MessageReceived)]
        assert len(ids) == len(set(ids)) == 2
    assert await _pending_rows(bob[0]) == 0 and await _pending_rows(carol[0]) == 0


async def test_message_forwarded_and_kept_is_shown_once(make_user: Any) -> None:
    """With the introducer present, a message sent before the pair connects arrives forwarded
    and again directly once the pair connects: shown once."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    release, arrived, tasks = _hold(bob)
    await connect(alice, carol, T)
    await invite_and_accept(alice, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    await asyncio.wait_for(arrived.wait(), T)
    authored = spy_authored(carol)  # every copy carol gets, before deduplication
    m = (await ok(bob[0], "#team before we connect")).msg_id
    assert await _pending_rows(bob[0]) == 1  # kept for carol, introduced at bob's side
    got = await carol[1].wait(MessageReceived, T, msg_id=m)  # forwarded by alice
    assert got.from_ == "bob"
    assert authored == [("bob", m, True)]
    release.set()
    await asyncio.gather(*tasks)
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await _until_no_pending(bob[0])  # bob sent the kept copy over the new connection
    # alice knows the pair is connected: she forwards nothing sent from now on
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    probe = (await ok(bob[0], "#team probe")).msg_id  # after the kept copy
    await carol[1].wait(MessageReceived, T, msg_id=probe)
    assert authored == [("bob", m, True), ("bob", m, False), ("bob", probe, False)]
    assert [e.msg_id for e in carol[1].of(MessageReceived)] == [m, probe]
    tail = await ok(carol[0], "/tail #team 10")
    assert [t.text for t in tail.messages] == ["before we connect", "probe"]


async def _until_no_pending(core: Any) -> None:
    """Bounded wait until ``core`` has handed every kept message to its agent."""
    for _ in range(int(T / 0.05)):
        if await _pending_rows(core) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{core.user_name} still keeps group messages")


async def test_link_host_racing_another_admin_connects_everyone(
        make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """alice lets carol in by her group link while admin bob invites dave: the pair nobody
    introduced (carol, dave) is introduced once, by alice, the link host (carol's member id is
    made the greatest, so the catch-up is alice's to make)."""
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team", role="admin")
    link = await ok(alice[0], "/create link #team")
    assert isinstance(link, LinkResponse)
    await connect(bob, dave, T)
    tasks = hold_forwards([alice, bob], needed=2)
    await ok(bob[0], "/a team dave")
    monkeypatch.setattr(links, "new_member_id", lambda: "z" * 16)  # carol's, the greatest
    await ok(carol[0], f"/c {link.link}")
    monkeypatch.undo()
    await dave[1].wait(GroupInvitationReceived, T, group="team")
    await ok(dave[0], "/j team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="dave")
    await dave[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    await bob[1].wait(MemberConnectedAll, T, group="team", member="dave")
    catch_ups = {}
    for core, _ in (alice, bob):
        async with core.db.session() as s:
            rows = (await s.execute(select(GroupIntro).where(GroupIntro.catch_up))).scalars()
            catch_ups[core.user_name] = len(list(rows))
    assert catch_ups == {"alice": 1, "bob": 0}
    users = [alice, bob, carol, dave]
    for user in users:
        assert set((await _statuses(user)).values()) == {"connected"}, user[0].user_name
    sent = {(await ok(core, f"#team hi from {core.user_name}")).msg_id: core.user_name
            for core, _ in users}
    for core, rec in users:
        for msg_id, author in sent.items():
            if author != core.user_name:
                assert (await rec.wait(MessageReceived, T, msg_id=msg_id)).from_ == author
    await asyncio.gather(*tasks)


async def test_rejection_stops_forwarding_between_the_pair(make_user: Any) -> None:
    """bob rejects dave (added by carol): carol stops forwarding between them, dave learns
    bob will not connect; the rest of the group is unaffected."""
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await ok(alice[0], "/g team")
    await ok(alice[0], "/set symmetric #team on")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    await connect(bob, carol, T)
    await invite_and_join(bob, carol, "team")
    await ok(bob[0], "/set approval #team 3")
    await connect(carol, dave, T)
    await invite_and_accept(carol, dave, "team")
    await bob[1].wait(MemberPendingApproval, T, group="team", member="dave")
    await dave[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    before = (await ok(bob[0], "#team before the rejection")).msg_id
    await dave[1].wait(MessageReceived, T, msg_id=before)  # forwarded by carol meanwhile
    await ok(bob[0], "/reject #team dave")
    for _ in range(int(T / 0.05)):  # dave learns it through carol
        if (await _statuses(dave)).get("bob") == "rejected":
            break
        await asyncio.sleep(0.05)
    assert (await _statuses(dave))["bob"] == "rejected"
    # carol, dave's inviter, is done introducing it: connected to all who accepted it
    await carol[1].wait(MemberConnectedAll, T, group="team", member="dave")
    async with carol[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        bob_row = await gq.member_by_name(s, group.id, "bob")
        assert bob_row is not None
        assert not await gq.open_intros_with(s, bob_row.id)  # nothing forwarded any more
    assert await _pending_rows(bob[0]) == 0 and await _pending_rows(dave[0]) == 0
    # bob's messages no longer reach dave: carol received it, then her probe reaches dave
    after = (await ok(bob[0], "#team after the rejection")).msg_id
    await carol[1].wait(MessageReceived, T, msg_id=after)
    probe = (await ok(carol[0], "#team probe")).msg_id
    await dave[1].wait(MessageReceived, T, msg_id=probe)
    assert after not in [e.msg_id for e in dave[1].of(MessageReceived)]
    # everyone else still talks to dave, and dave to them
    hi = (await ok(dave[0], "#team hi")).msg_id
    for user in (alice, carol):
        await user[1].wait(MessageReceived, T, msg_id=hi)
    assert (await _statuses(alice))["dave"] == "connected"


async def test_messages_after_the_introducer_was_removed_reach_the_pair(make_user: Any) -> None:
    """admin bob introduces carol to alice; alice removes bob before she and carol connect:
    what they send meanwhile arrives once they connect, and carol learns of the removal."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team", role="admin")
    release, arrived, tasks = _hold(alice)  # alice joins carol's invitation only later
    await connect(bob, carol, T)
    await invite_and_accept(bob, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    await asyncio.wait_for(arrived.wait(), T)
    await ok(alice[0], "/rm team bob")
    await bob[1].wait(MemberRemoved, T, group="team", member="bob")
    from_alice = (await ok(alice[0], "#team from alice after bob")).msg_id
    from_carol = (await ok(carol[0], "#team from carol after bob")).msg_id
    await carol[1].wait(MemberRemoved, T, group="team", member="bob")  # forwarded by bob
    release.set()
    await asyncio.gather(*tasks)
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    assert (await carol[1].wait(MessageReceived, T, msg_id=from_alice)).from_ == "alice"
    assert (await alice[1].wait(MessageReceived, T, msg_id=from_carol)).from_ == "carol"
    # alice's kept copy of the removal came before her message: applied once
    assert len(carol[1].of(MemberRemoved)) == 1
    assert (await _statuses(carol))["bob"] == "removed"


def test_rejection_event_round_trip_and_bad_input() -> None:
    event = MemberRejected(new_member_id(), new_member_id())
    message = ChatMessage(new_msg_id(), event)
    body = encode_chat_message(message)
    assert b'"x.grp.mem.rej"' in body
    assert decode_chat_message(body).event == event
    bad = body.replace(event.by_member_id.encode(), b"not an id!")
    with pytest.raises(ChatEventError, match="bad memberId"):
        decode_chat_message(bad)


async def test_approval_after_the_introducer_left_delivers_what_was_kept(make_user: Any) -> None:
    """bob adds carol and leaves while carol waits for alice's approval; what alice and carol
    send meanwhile reaches the other once alice approves and they connect."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g team")
    await ok(alice[0], "/set symmetric #team on")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    await ok(alice[0], "/set approval #team 2")
    await connect(bob, carol, T)
    await invite_and_accept(bob, carol, "team")
    await alice[1].wait(MemberPendingApproval, T, group="team", member="carol")
    assert (await ok(bob[0], "/l team")).message == "you left #team"
    await alice[1].wait(MemberLeft, T, group="team", member="bob")
    await carol[1].wait(MemberLeft, T, group="team", member="bob")
    from_alice = (await ok(alice[0], "#team while carol waits")).msg_id
    from_carol = (await ok(carol[0], "#team while I wait")).msg_id
    await ok(alice[0], "/approve #team carol")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    assert (await carol[1].wait(MessageReceived, T, msg_id=from_alice)).from_ == "alice"
    assert (await alice[1].wait(MessageReceived, T, msg_id=from_carol)).from_ == "carol"
