"""``/tail #GROUP``, notice lines in the conversation, and group delivery status."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from simplextui.chat.events import (
    GroupItemStatus,
    MemberLeft,
    MemberRemoved,
    MemberRoleChanged,
    MessageReceived,
)
from simplextui.chat.responses import HistoryResponse
from simplextui.store.chat_models import ChatItem, GroupMember
from tests.chat.helpers import error, ok
from tests.groups.helpers import T, build_group


async def _notices(user: Any) -> list[tuple[str | None, str]]:
    """(member the notice is about, text), oldest first."""
    async with user[0].db.session() as s:
        rows = await s.execute(
            select(GroupMember.local_name, ChatItem.text)
            .outerjoin(GroupMember, ChatItem.member_id == GroupMember.id)
            .where(ChatItem.kind == "event").order_by(ChatItem.id))
        return [(name, text) for name, text in rows.all()]


async def test_tail_shows_the_last_messages_with_authors(make_user: Any) -> None:
    alice, bob = [await make_user(n) for n in ("alice", "bob")]
    await build_group([alice, bob])
    for i in range(3):
        r = await ok(bob[0], f"#team b{i}")
        await alice[1].wait(MessageReceived, T, msg_id=r.msg_id)
    await ok(alice[0], "#team a0")
    tail = await ok(alice[0], "/tail #team 3")
    assert isinstance(tail, HistoryResponse) and tail.chat == "#team"
    assert [(m.from_, m.text, m.direction) for m in tail.messages] == [
        ("bob", "b1", "rcv"), ("bob", "b2", "rcv"), ("alice", "a0", "snd")]
    assert len((await ok(alice[0], "/tail #team")).messages) == 4  # default 10
    assert "no group" in await error(alice[0], "/tail #nope")
    assert "N must be" in await error(alice[0], "/tail #team 0")


async def test_notice_lines_for_joins_roles_leaves_removals(make_user: Any) -> None:
    alice, bob, carol, dave = [await make_user(n) for n in ("alice", "bob", "carol", "dave")]
    await build_group([alice, bob, carol, dave])
    await ok(alice[0], "/mr team bob admin")
    await carol[1].wait(MemberRoleChanged, T, group="team", member="bob")
    await ok(carol[0], "/l team")
    await bob[1].wait(MemberLeft, T, group="team", member="carol")
    await ok(bob[0], "/rm team dave")
    await alice[1].wait(MemberRemoved, T, group="team", member="dave")
    await dave[1].wait(MemberRemoved, T, group="team", member="dave")
    await ok(alice[0], "/gp team Team2")
    a = await _notices(alice)
    assert a[0] == (None, "you created the group")
    for line in [("bob", "bob joined"), ("carol", "carol joined"), ("dave", "dave joined"),
                 ("bob", "bob is now admin"), ("carol", "carol left"),
                 ("dave", "dave was removed by bob"), (None, "you changed the group profile")]:
        assert line in a, line
    b = await _notices(bob)
    assert b[0] == (None, "you joined")
    assert ("carol", "carol joined") in b and ("dave", "dave joined") in b
    assert ("alice", "alice joined") not in b  # bob met alice; alice did not join after him
    assert ("dave", "you removed dave") in b and ("carol", "carol left") in b
    d = await _notices(dave)
    assert (None, "you were removed by bob") in d
    assert len(a) == len(set(a))  # no repeats


async def test_group_delivery_status(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob, carol])
    r = await ok(alice[0], "#team hello")
    done = await alice[1].wait(GroupItemStatus, T, msg_id=r.msg_id, status="delivered")
    assert (done.group, done.delivered, done.total) == ("team", 2, 2)
    # k of n, moving only forward: (sent, 0) when the server took it for both, then a
    # receipt at a time (the first may come before the last server answer)
    events = [(e.status, e.delivered, e.total) for e in alice[1].of(GroupItemStatus)
              if e.msg_id == r.msg_id]
    order = {"pending": 0, "sent": 1, "delivered": 2}
    assert events == sorted(events, key=lambda e: (order[e[0]], e[1]))
    assert events[-1] == ("delivered", 2, 2)
    assert [k for _, k, _ in events if k] == [1, 2]
    tail = await ok(alice[0], "/tail #team 1")
    assert tail.messages[0].status == "delivered"
