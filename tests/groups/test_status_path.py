"""Sent/delivered statuses on member connections (``GroupDeliveries.status_on``).

Most statuses on a member connection are for group protocol messages (introductions,
reports), which have no delivery row: they are settled by one read, without the chat's writer
lock. A status for an id a group send in flight may still store is kept for that send.
"""

from __future__ import annotations

import asyncio
from typing import Any

from simplextui.chat.context import ChatContext
from simplextui.chat.events import GroupItemStatus
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.delivery import deliveries_of
from simplextui.store.chat_models import ItemStatus
from tests.chat.helpers import ok
from tests.groups.helpers import build_group

T = 30.0


def _ctx(user: Any) -> ChatContext:
    ctx = user[0]._ctx
    assert isinstance(ctx, ChatContext)
    return ctx


async def _conn_of(user: Any, name: str) -> str:
    async with user[0].db.session() as s:
        group = await gq.by_name(s, "team")
        assert group is not None
        member = await gq.member_by_name(s, group.id, name)
        assert member is not None and member.conn_id is not None
        return member.conn_id


async def test_a_protocol_message_status_needs_no_writer_lock(make_user: Any) -> None:
    """While another task holds the writer lock, a status for an id with no delivery row
    (a protocol message) is settled; a connection that is not a member's is not claimed."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob, carol])
    ctx, conn = _ctx(alice), await _conn_of(alice, "bob")
    deliveries = deliveries_of(ctx)
    async with ctx._lock:  # type: ignore[attr-defined]
        assert await asyncio.wait_for(
            deliveries.status_on(conn, 987_654, ItemStatus.DELIVERED), T) is True
        assert await asyncio.wait_for(
            deliveries.status_on("no-such-connection", 1, ItemStatus.SENT), T) is False


async def test_a_status_during_a_group_send_is_kept_for_it(make_user: Any) -> None:
    """A status that may belong to a group send whose ids are not stored yet is kept (and
    applied when they are); an item's real statuses still move it to delivered."""
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group([alice, bob, carol])
    ctx, conn = _ctx(alice), await _conn_of(alice, "bob")
    deliveries = deliveries_of(ctx)
    async with alice[0].db.session() as s:
        group = await gq.by_name(s, "team")
    assert group is not None
    deliveries.begin()
    try:
        assert await deliveries.status_on(conn, 987_654, ItemStatus.SENT) is True
        assert deliveries._early.get((conn, 987_654)) == ItemStatus.SENT
    finally:
        await deliveries.record(group, 0, [], {})  # ends the send (no such item)
    assert not deliveries._early
    r = await ok(alice[0], "#team hello")
    done = await alice[1].wait(GroupItemStatus, T, msg_id=r.msg_id, status="delivered")
    assert (done.delivered, done.total) == (2, 2)
