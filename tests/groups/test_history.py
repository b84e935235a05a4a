"""History for new members: the inviter sends the last N messages, each once, with authors."""

from __future__ import annotations

from typing import Any

from simplextui.chat.events import MemberLeft, MessageReceived
from simplextui.chat.responses import HistoryResponse
from tests.chat.helpers import connect, ok
from tests.groups.helpers import T, build_group, invite_and_join


async def _tail(user: Any, n: int = 50) -> list[tuple[str, str]]:
    r = await ok(user[0], f"/tail #team {n}")
    assert isinstance(r, HistoryResponse) and r.chat == "#team"
    return [(m.from_, m.text) for m in r.messages]


async def test_new_member_gets_the_last_messages_once_in_order(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    sent = []
    for i, (user, other) in enumerate(((alice, bob), (bob, alice), (alice, bob), (bob, alice),
                                       (alice, bob))):
        r = await ok(user[0], f"#team m{i}")
        await other[1].wait(MessageReceived, T, msg_id=r.msg_id)  # one order for everyone
        sent.append((user[0].user_name, f"m{i}", r.msg_id))
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team")
    for author, text, msg_id in sent:
        got = await carol[1].wait(MessageReceived, T, msg_id=msg_id)
        assert (got.from_, got.text, got.chat) == (author, text, "#team")
    assert await _tail(carol) == [(a, t) for a, t, _ in sent]
    # each exactly once: a live message after the history is stored next to it, nothing twice
    live = await ok(bob[0], "#team after")
    await carol[1].wait(MessageReceived, T, msg_id=live.msg_id)
    ids = [e.msg_id for e in carol[1].of(MessageReceived)]
    assert len(ids) == len(set(ids)) == len(sent) + 1
    assert await _tail(carol) == [(a, t) for a, t, _ in sent] + [("bob", "after")]


async def test_history_count_and_off(make_user: Any) -> None:
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await build_group([alice, bob])
    for i in range(4):
        await ok(alice[0], f"#team m{i}")
    await ok(alice[0], "/set history #team 2")
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team")
    for text in ("m2", "m3"):
        await carol[1].wait(MessageReceived, T, text=text)
    await ok(alice[0], "/set history #team off")
    await connect(alice, dave, T)
    await invite_and_join(alice, dave, "team")
    marker = await ok(alice[0], "#team marker")  # after any history on the same connection
    await dave[1].wait(MessageReceived, T, msg_id=marker.msg_id)
    assert await _tail(dave) == [("alice", "marker")]
    assert await _tail(carol) == [("alice", "m2"), ("alice", "m3"), ("alice", "marker")]


async def test_history_keeps_the_name_of_an_author_who_left(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob])
    r = await ok(bob[0], "#team bye all")
    await alice[1].wait(MessageReceived, T, msg_id=r.msg_id)
    await ok(bob[0], "/l team")
    await alice[1].wait(MemberLeft, T, group="team", member="bob")
    await connect(alice, carol, T)
    await invite_and_join(alice, carol, "team")
    got = await carol[1].wait(MessageReceived, T, msg_id=r.msg_id)
    assert (got.from_, got.text) == ("bob", "bye all")
    assert await _tail(carol) == [("bob", "bye all")]
