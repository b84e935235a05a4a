"""Chat items (messages) and reactions: inserts, lookups, keyset-paged history, states.

History is paged by ``(contact_id, id)`` through the ``ix_chat_items_contact_id_id`` index:
the last N items of a chat cost the same with 100 or 1,000,000 rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Executable, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.chat.errors import ChatError
from simplextui.protocol.chat_events import Quote
from simplextui.store.chat_models import (
    ChatItem,
    ChatReaction,
    Contact,
    Direction,
    ItemStatus,
)

__all__ = [
    "SENT_ORDER",
    "advance_status",
    "by_agent_id",
    "by_shared_id",
    "find_by_prefix",
    "history",
    "insert_received",
    "insert_sent",
    "mark_received_read",
    "reactions_of",
    "set_reaction",
]

# A sent item's status only moves forward (events may arrive out of order).
SENT_ORDER = {ItemStatus.PENDING: 0, ItemStatus.SENT: 1, ItemStatus.DELIVERED: 2,
              ItemStatus.READ: 3}


async def insert_sent(session: AsyncSession, contact_id: int, shared_msg_id: str, text: str,
                      quote: Quote | None) -> ChatItem:
    now = now_ms()
    item = ChatItem(contact_id=contact_id, shared_msg_id=shared_msg_id,
                    direction=Direction.SND, text=text, status=ItemStatus.PENDING,
                    created_at=now, updated_at=now, edited=False, deleted=False,
                    **_quote_columns(quote))
    session.add(item)
    await session.flush()
    return item


async def insert_received(session: AsyncSession, contact_id: int, shared_msg_id: str,
                          text: str, quote: Quote | None, agent_msg_id: int,
                          broker_ts_ms: int) -> ChatItem | None:
    """Insert a received message; None if this chat already has ``shared_msg_id`` (a repeat).

    The quote's ``sent`` flag is the sender's view: their "I sent it" is this user's "received".
    """
    now = now_ms()
    columns = _quote_columns(quote)
    if quote is not None:
        columns["quote_sent"] = not quote.sent
    stmt = sqlite_insert(ChatItem).values(
        contact_id=contact_id, shared_msg_id=shared_msg_id, direction=Direction.RCV, text=text,
        status=ItemStatus.NEW, agent_msg_id=agent_msg_id, created_at=now, sent_at=broker_ts_ms,
        updated_at=now, edited=False, deleted=False, **columns,
    ).on_conflict_do_nothing(index_elements=["contact_id", "shared_msg_id"])
    result = await session.execute(stmt)
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await by_shared_id(session, contact_id, shared_msg_id)


def _quote_columns(quote: Quote | None) -> dict[str, object]:
    if quote is None:
        return {}
    return {"quote_msg_id": quote.msg_id, "quote_text": quote.content.text,
            "quote_sent": quote.sent}


async def by_shared_id(session: AsyncSession, contact_id: int, shared_msg_id: str
                       ) -> ChatItem | None:
    result = await session.execute(select(ChatItem).where(
        ChatItem.contact_id == contact_id, ChatItem.shared_msg_id == shared_msg_id))
    return result.scalar_one_or_none()


async def by_agent_id(session: AsyncSession, contact_id: int, agent_msg_id: int
                      ) -> ChatItem | None:
    result = await session.execute(select(ChatItem).where(
        ChatItem.contact_id == contact_id, ChatItem.agent_msg_id == agent_msg_id,
        ChatItem.direction == Direction.SND))
    return result.scalars().first()


async def find_by_prefix(session: AsyncSession, contact_id: int, prefix: str,
                         direction: Direction | None = None) -> ChatItem | None:
    """The latest not-deleted item of the chat whose text starts with ``prefix`` (exactly)."""
    stmt = select(ChatItem).where(
        ChatItem.contact_id == contact_id, ChatItem.deleted.is_(False),
        func.substr(ChatItem.text, 1, len(prefix)) == prefix)
    if direction is not None:
        stmt = stmt.where(ChatItem.direction == direction)
    result = await session.execute(stmt.order_by(ChatItem.id.desc()).limit(1))
    return result.scalar_one_or_none()


async def history(session: AsyncSession, contact_id: int | None, limit: int,
                  before_id: int | None = None) -> list[tuple[ChatItem, Contact]]:
    """The last ``limit`` items (of one chat, or all) before ``before_id``, oldest first."""
    stmt = select(ChatItem, Contact).join(Contact, ChatItem.contact_id == Contact.id)
    if contact_id is not None:
        stmt = stmt.where(ChatItem.contact_id == contact_id)
    if before_id is not None:
        stmt = stmt.where(ChatItem.id < before_id)
    result = await session.execute(stmt.order_by(ChatItem.id.desc()).limit(limit))
    rows = [(item, contact) for item, contact in result.all()]
    rows.reverse()
    return rows


def advance_status(item: ChatItem, status: ItemStatus) -> bool:
    """Move a sent item's status forward to ``status``; False if it is already there or past."""
    if SENT_ORDER.get(ItemStatus(item.status), 0) >= SENT_ORDER[status]:
        return False
    item.status = status
    item.updated_at = now_ms()
    return True


async def mark_received_read(session: AsyncSession, contact_id: int) -> list[str]:
    """Mark the chat's unread received items read; their shared ids, oldest first."""
    result = await session.execute(
        select(ChatItem.shared_msg_id).where(
            ChatItem.contact_id == contact_id, ChatItem.direction == Direction.RCV,
            ChatItem.status == ItemStatus.NEW).order_by(ChatItem.id))
    ids = list(result.scalars())
    if ids:
        await session.execute(update(ChatItem).where(
            ChatItem.contact_id == contact_id, ChatItem.direction == Direction.RCV,
            ChatItem.status == ItemStatus.NEW).values(status=ItemStatus.READ))
    return ids


async def set_reaction(session: AsyncSession, item_id: int, sent: bool, reaction: str,
                       add: bool, member_id: int | None = None) -> bool:
    """Add or remove one reaction (``member_id``: a group member's); False if nothing
    changed."""
    stmt: Executable
    if add:
        insert = sqlite_insert(ChatReaction).values(
            item_id=item_id, sent=sent, member_id=member_id, reaction=reaction,
            created_at=now_ms())
        if member_id is None:
            stmt = insert.on_conflict_do_nothing(
                index_elements=["item_id", "sent", "reaction"],
                index_where=ChatReaction.member_id.is_(None))
        else:
            stmt = insert.on_conflict_do_nothing(
                index_elements=["item_id", "member_id", "reaction"],
                index_where=ChatReaction.member_id.is_not(None))
    else:
        by = (ChatReaction.member_id.is_(None) if member_id is None
              else ChatReaction.member_id == member_id)
        stmt = delete(ChatReaction).where(ChatReaction.item_id == item_id,
                                          ChatReaction.sent == sent, by,
                                          ChatReaction.reaction == reaction)
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def refuse_unchanged_reaction(session: AsyncSession, item_id: int, reaction: str,
                                    add: bool) -> None:
    """As SimpleX: adding a reaction this user already gave, or removing one it did not
    give, is an error (and nothing is sent)."""
    given = (await session.execute(select(ChatReaction.id).where(
        ChatReaction.item_id == item_id, ChatReaction.sent.is_(True),
        ChatReaction.reaction == reaction).limit(1))).first() is not None
    if given == add:
        raise ChatError(f"you already reacted {reaction} to it" if add
                        else f"you have no {reaction} reaction on it to remove")


async def reactions_of(session: AsyncSession, item_ids: Iterable[int]
                       ) -> dict[int, Sequence[ChatReaction]]:
    ids = list(item_ids)
    out: dict[int, list[ChatReaction]] = {}
    if not ids:
        return {}
    result = await session.execute(
        select(ChatReaction).where(ChatReaction.item_id.in_(ids)).order_by(ChatReaction.id))
    for reaction in result.scalars():
        out.setdefault(reaction.item_id, []).append(reaction)
    return dict(out)
