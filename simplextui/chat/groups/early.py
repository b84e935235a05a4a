"""Edits, deletions and reactions that arrive before the message they are about.

A member's message and its later edit can travel different ways: the message forwarded by the
introducer (it was said before the author knew of this user), the edit directly (kept for this
user until the pair connected). The edit may then come first. It is kept (the encoded change
as received, at most ``MAX_EARLY`` per sender, the oldest going first) and applied, with the
same checks, when the message arrives.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.chat.groups import store as gq
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    decode_chat_message,
    encode_chat_message,
)
from simplextui.store.chat_models import GroupEarlyChange, GroupMember

__all__ = ["MAX_EARLY", "has_early", "keep_early", "take_early"]

log = logging.getLogger("simplextui.chat.groups")

MAX_EARLY = 100  # per sender: a modified client cannot fill every member's database


async def keep_early(s: AsyncSession, group_id: int, sender: GroupMember,
                     target: tuple[str, str], message: ChatMessage) -> None:
    """Keep ``sender``'s change ``message`` about message ``target`` (author's member id,
    msg id), not received yet."""
    s.add(GroupEarlyChange(group_id=group_id, author_member_id=target[0], msg_id=target[1],
                           sender_id=sender.id, body=encode_chat_message(message),
                           created_at=now_ms()))
    await s.flush()
    await gq.keep_newest(s, GroupEarlyChange, GroupEarlyChange.sender_id == sender.id,
                         MAX_EARLY)


async def has_early(s: AsyncSession, group_id: int, author_member_id: str, msg_id: str
                    ) -> bool:
    """Were changes kept for this message? (A read, before any write transaction: every
    received message asks.)"""
    found = await s.scalar(select(GroupEarlyChange.id).where(
        GroupEarlyChange.group_id == group_id,
        GroupEarlyChange.author_member_id == author_member_id,
        GroupEarlyChange.msg_id == msg_id).limit(1))
    return found is not None


async def take_early(s: AsyncSession, group_id: int, author_member_id: str, msg_id: str
                     ) -> list[tuple[GroupMember, ChatMessage]]:
    """The changes kept for the message just received, oldest first, with their senders;
    they are removed."""
    rows = (await s.execute(select(GroupEarlyChange).where(
        GroupEarlyChange.group_id == group_id,
        GroupEarlyChange.author_member_id == author_member_id,
        GroupEarlyChange.msg_id == msg_id).order_by(GroupEarlyChange.id))).scalars().all()
    out: list[tuple[GroupMember, ChatMessage]] = []
    for row in rows:
        sender = await s.get(GroupMember, row.sender_id)
        try:
            message = decode_chat_message(row.body)
        except ChatEventError as exc:  # (it was decoded once: a newer version's leftovers)
            log.warning("an early change could not be read again: %s", exc)
            continue
        if sender is not None:
            out.append((sender, message))
    if rows:
        await s.execute(delete(GroupEarlyChange).where(
            GroupEarlyChange.id.in_([r.id for r in rows])))
    return out
