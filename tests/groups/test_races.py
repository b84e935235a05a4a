"""Races and faults: two admins inviting at once, the same message directly and forwarded."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from simplextui.chat.events import (
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MemberLeft,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.store.chat_models import GroupIntro
from tests.chat.helpers import connect, ok
from tests.groups.helpers import (
    T,
    hold_forwards,
    invite_and_accept,
    invite_and_join,
    probe,
    spy_authored,
)


async def test_two_admins_inviting_at_once_connect_everyone(make_user: Any) -> None:
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team", role="admin")
    await connect(alice, carol, T)
    await connect(bob, dave, T)
    tasks = hold_forwards([alice, bob], needed=2)
    await ok(alice[0], "/a team carol")
    await ok(bob[0], "/a team dave")
    for user in (carol, dave):
        await user[1].wait(GroupInvitationReceived, T, group="team")
        await ok(user[0], "/j team")
    # the pair no invitation covered is introduced once, by the inviter of the greater id
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="dave")
    await dave[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    await bob[1].wait(MemberConnectedAll, T, group="team", member="dave")
    catch_ups = 0
    for core, _ in (alice, bob):
        async with core.db.session() as s:
            rows = (await s.execute(select(GroupIntro).where(GroupIntro.catch_up))).scalars()
            catch_ups += len(list(rows))
    assert catch_ups == 1
    users = [alice, bob, carol, dave]
    for core, _ in users:
        r = await ok(core, "/ms team")
        assert {m.status for m in r.members if not m.me} == {"connected"}, core.user_name
    sent = {(await ok(core, f"#team hi from {core.user_name}")).msg_id: core.user_name
            for core, _ in users}
    for core, rec in users:
        for msg_id, author in sent.items():
            if author != core.user_name:
                got = await rec.wait(MessageReceived, T, msg_id=msg_id)
                assert got.from_ == author
    # each once (the last probe after everything else on the same connections)
    await probe(alice, users[1:], timeout=T)
    for _, rec in users[1:]:
        ids = [e.msg_id for e in rec.of(MessageReceived)]
        assert len(ids) == len(set(ids)) == len(sent)
    await asyncio.gather(*tasks)


async def _never(*_: Any) -> None:
    return None


async def test_message_directly_and_forwarded_is_shown_once(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group_pair(alice, bob)
    # alice never hears that bob and carol connected: she keeps forwarding between them
    alice[0]._inbound.groups._member_connected = _never  # type: ignore[union-attr]
    authored = spy_authored(carol)  # every copy carol gets, before deduplication
    await connect(alice, carol, T)
    await invite_and_accept(alice, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    ids = [(await ok(bob[0], f"#team twice {i}")).msg_id for i in range(3)]
    for msg_id in ids:
        await carol[1].wait(MessageReceived, T, msg_id=msg_id)
        await alice[1].wait(MessageReceived, T, msg_id=msg_id)
    # alice forwarded each before she showed it; a probe from alice comes after those on
    # alice's connection to carol, one from bob after the direct copies
    probes = [await probe(alice, [carol], "probe from alice"),
              await probe(bob, [carol], "probe from bob")]
    # bob and carol are connected: the forwarded copies (numbered above the bound bob told
    # carol) are refused on receipt, before they are applied (test_forward_bound.py)
    copies = [(msg_id, fwd) for author, msg_id, fwd in authored if msg_id in ids]
    assert all(author == "bob" for author, msg_id, _ in authored if msg_id in ids)
    assert sorted(copies) == sorted([(i, False) for i in ids])
    got = [e.msg_id for e in carol[1].of(MessageReceived)]
    assert sorted(got) == sorted([*ids, *probes])
    tail = await ok(carol[0], "/tail #team 10")
    assert [m.text for m in tail.messages] == ["twice 0", "twice 1", "twice 2",
                                               "probe from alice", "probe from bob"]


async def test_inviter_leaving_mid_introduction_passes_them_on_first(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group_pair(alice, bob)
    # hold carol's invitation for bob at alice until alice has asked to leave
    release = asyncio.Event()
    groups = alice[0]._inbound.groups  # type: ignore[union-attr]
    original = groups._member_invitation
    tasks: list[asyncio.Task[Any]] = []
    arrived = asyncio.Event()

    def held(group: Any, sender: Any, event: Any) -> Any:
        arrived.set()

        async def later() -> None:
            await asyncio.wait_for(release.wait(), T)
            await original(group, sender, event)
        tasks.append(asyncio.get_running_loop().create_task(later()))
        return _never()
    groups._member_invitation = held
    await connect(alice, carol, T)
    await invite_and_accept(alice, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    await asyncio.wait_for(arrived.wait(), T)
    r = await ok(alice[0], "/l team")
    assert "introduction(s) in flight" in r.message
    release.set()
    await asyncio.gather(*tasks)
    # alice passed the invitation on, then left; bob and carol connect without her
    await bob[1].wait(MemberLeft, T, group="team", member="alice")
    await carol[1].wait(MemberLeft, T, group="team", member="alice")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    m = await ok(carol[0], "#team just us")
    got = await bob[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert got.from_ == "carol"


async def test_second_leave_leaves_at_once(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group_pair(alice, bob)
    # carol's invitation for bob reaches alice and is dropped: the introduction stays in flight
    arrived = asyncio.Event()

    def dropped(*_: Any) -> Any:
        arrived.set()
        return _never()
    alice[0]._inbound.groups._member_invitation = dropped  # type: ignore[union-attr]
    await connect(alice, carol, T)
    await invite_and_accept(alice, carol, "team")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    await asyncio.wait_for(arrived.wait(), T)
    first = await ok(alice[0], "/l team")
    assert "1 introduction(s) in flight" in first.message
    assert await _group_status(alice) == "leaving"
    second = await ok(alice[0], "/l team")
    assert second.message == "you left #team"
    assert await _group_status(alice) == "left"
    await bob[1].wait(MemberLeft, T, group="team", member="alice")
    await carol[1].wait(MemberLeft, T, group="team", member="alice")


async def _group_status(user: Any) -> str:
    async with user[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        return str(group.status)


async def build_group_pair(alice: Any, bob: Any) -> None:
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
