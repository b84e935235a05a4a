"""Pending group messages: what this user sent while a member was introduced but not connected.

Until a pair is connected, its introducer forwards their messages. The introducer may leave,
be removed or go away before the pair connects, and a message sent just before that may reach
it too late to be forwarded. So (like SimpleX's pending group messages) a sender also keeps,
in its database, each message (``x.msg.new``; its edits, deletions and reactions too) and
removal (``x.grp.mem.del``) it sends while a member is ``introduced`` or ``pending_approval``
at its side, and sends them to that member
directly, in order, with their original shared msg ids, right when the pair connects. The
receiver shows each once (the ``(group, author, msgId)`` index drops the forwarded copy or this
one).
Role and profile changes are not kept: a late copy could undo a newer change by someone else.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.agent.errors import AgentError
from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.groups import store as gq
from simplextui.protocol.chat_events import ChatMessage, encode_chat_message
from simplextui.store.chat_models import GroupMember, GroupPendingMessage, MemberStatus

__all__ = ["MAX_PENDING", "drop_pending", "keep_pending", "send_pending"]

log = logging.getLogger("simplextui.chat.groups")

MAX_PENDING = 1000  # per member; beyond it the oldest go (the forwarded copy is all there is)
WAITING = (MemberStatus.INTRODUCED, MemberStatus.PENDING_APPROVAL)


async def keep_pending(s: AsyncSession, group_id: int, message: ChatMessage) -> int:
    """Keep ``message`` for every member of the group introduced but not connected to this
    user (inside the sender's transaction); for how many."""
    waiting = (await s.execute(select(GroupMember.id).where(
        GroupMember.group_id == group_id,
        GroupMember.status.in_([m.value for m in WAITING])))).scalars().all()
    if not waiting:
        return 0
    body, now = encode_chat_message(message), now_ms()
    for member_id in waiting:
        s.add(GroupPendingMessage(group_id=group_id, member_id=member_id,
                                  shared_msg_id=message.msg_id, body=body, created_at=now))
    await s.flush()
    for member_id in waiting:
        await gq.keep_newest(s, GroupPendingMessage, GroupPendingMessage.member_id == member_id,
                             MAX_PENDING)
    return len(waiting)


async def drop_pending(s: AsyncSession, member_id: int) -> None:
    """The member will not be connected to (left, removed, rejected): forget its messages."""
    await s.execute(delete(GroupPendingMessage).where(
        GroupPendingMessage.member_id == member_id))


async def send_pending(ctx: ChatContext, member: GroupMember) -> int:
    """The pair just connected: send ``member`` what was kept for it, oldest first; how many.
    Rows go once handed to the agent (a crash in between sends a copy again: dropped by the
    receiver)."""
    async with ctx.db.session() as s:
        rows = (await s.execute(select(GroupPendingMessage).where(
            GroupPendingMessage.member_id == member.id).order_by(
            GroupPendingMessage.id))).scalars().all()
    if not rows or member.conn_id is None:
        return 0
    sent: list[int] = []
    try:
        for row in rows:
            await ctx.agent.send(member.conn_id, row.body)
            sent.append(row.id)
    except AgentError as exc:  # the connection went meanwhile; the rest stays for a repeat
        log.warning("pending group messages for %s not sent: %s", member.local_name, exc)
    if sent:
        async with ctx.tx() as s:
            await s.execute(delete(GroupPendingMessage).where(GroupPendingMessage.id.in_(sent)))
    log.info("sent %d pending group message(s) to %s", len(sent), member.local_name)
    return len(sent)
