"""Read-only queries the TUI needs beyond the command language: the chat list (unread counts,
last message) and keyset pages of one chat's messages, with their reactions.

No Textual here. Writes always go through ``ChatCore.execute`` (the command language); these
reads use the core's database directly, so a 100,000-message chat opens by reading one page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from simplextui.store.chat_models import (
    ChatItem,
    ChatReaction,
    Contact,
    ContactRequest,
    ContactStatus,
    Direction,
    ItemStatus,
)
from simplextui.store.db import Database

__all__ = ["ChatData", "ChatSummary", "ItemRow", "RequestRow"]


@dataclass(frozen=True, slots=True)
class ChatSummary:
    """One row of the chat list."""

    contact_id: int
    name: str
    display_name: str
    full_name: str
    status: str
    verified: bool
    unread: int
    last_text: str | None
    last_ts: int
    last_mine: bool
    last_deleted: bool

    @property
    def connected(self) -> bool:
        return self.status == ContactStatus.CONNECTED


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One message as the conversation view draws it."""

    id: int  # database id: the keyset for paging
    msg_id: str
    mine: bool
    text: str
    status: str
    ts: int
    edited: bool = False
    deleted: bool = False
    quote_msg_id: str | None = None
    quote_text: str | None = None
    quote_mine: bool | None = None
    reactions: tuple[tuple[str, bool], ...] = ()  # (reaction, mine), in arrival order

    @property
    def unread(self) -> bool:
        return not self.mine and self.status == ItemStatus.NEW


@dataclass(frozen=True, slots=True)
class RequestRow:
    name: str
    display_name: str
    full_name: str
    bio: str
    created_at: int


_ITEMS = select(*ChatItem.__table__.columns)


def _row(item: Any, reactions: Sequence[tuple[str, bool]]) -> ItemRow:
    return ItemRow(
        id=item.id, msg_id=item.shared_msg_id, mine=item.direction == Direction.SND,
        text=item.text, status=item.status, ts=item.sent_at or item.created_at,
        edited=item.edited, deleted=item.deleted, quote_msg_id=item.quote_msg_id,
        quote_text=item.quote_text, quote_mine=item.quote_sent,
        reactions=tuple(reactions))


class ChatData:
    """Queries over one client database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def chats(self) -> list[ChatSummary]:
        """Named contacts, most recent activity first, with unread counts and last message."""
        async with self.db.session() as s:
            contacts = list((await s.execute(
                select(Contact).where(Contact.local_name.is_not(None)))).scalars())
            counts = await s.execute(
                select(ChatItem.contact_id, func.count()).where(
                    ChatItem.direction == Direction.RCV, ChatItem.status == ItemStatus.NEW)
                .group_by(ChatItem.contact_id))
            unread: dict[int | None, int] = {contact_id: n for contact_id, n in counts}
            last_ids = list((await s.execute(
                select(func.max(ChatItem.id)).group_by(ChatItem.contact_id))).scalars())
            last = {item.contact_id: item for item in (await s.execute(
                select(ChatItem).where(ChatItem.id.in_(last_ids)))).scalars()}
        rows = []
        for c in contacts:
            item = last.get(c.id)
            rows.append(ChatSummary(
                contact_id=c.id, name=c.local_name or "", display_name=c.display_name,
                full_name=c.full_name, status=c.status, verified=c.verified,
                unread=unread.get(c.id, 0), last_text=item.text if item else None,
                last_ts=(item.sent_at or item.created_at) if item else c.updated_at,
                last_mine=bool(item and item.direction == Direction.SND),
                last_deleted=bool(item and item.deleted)))
        rows.sort(key=lambda r: (-r.last_ts, r.name))
        return rows

    async def contact_id(self, name: str) -> int | None:
        async with self.db.session() as s:
            return (await s.execute(
                select(Contact.id).where(Contact.local_name == name))).scalar_one_or_none()

    async def requests(self) -> list[RequestRow]:
        async with self.db.session() as s:
            rows = (await s.execute(select(ContactRequest).order_by(ContactRequest.id))).scalars()
            return [RequestRow(r.local_name, r.display_name, r.full_name, r.bio, r.created_at)
                    for r in rows]

    async def page_before(self, contact_id: int, before_id: int | None, limit: int
                          ) -> list[ItemRow]:
        """Up to ``limit`` messages older than ``before_id`` (or the latest), oldest first."""
        stmt = _ITEMS.where(ChatItem.contact_id == contact_id)
        if before_id is not None:
            stmt = stmt.where(ChatItem.id < before_id)
        return await self._rows(stmt.order_by(ChatItem.id.desc()).limit(limit), reverse=True)

    async def page_after(self, contact_id: int, after_id: int, limit: int) -> list[ItemRow]:
        """Up to ``limit`` messages newer than ``after_id``, oldest first."""
        return await self._rows(
            _ITEMS.where(ChatItem.contact_id == contact_id, ChatItem.id > after_id)
            .order_by(ChatItem.id).limit(limit))

    async def by_msg_ids(self, contact_id: int, msg_ids: Iterable[str]) -> list[ItemRow]:
        ids = list(set(msg_ids))
        if not ids:
            return []
        return await self._rows(_ITEMS.where(ChatItem.contact_id == contact_id,
                                             ChatItem.shared_msg_id.in_(ids)))

    async def first_unread_id(self, contact_id: int) -> int | None:
        async with self.db.session() as s:
            return (await s.execute(select(func.min(ChatItem.id)).where(
                ChatItem.contact_id == contact_id, ChatItem.direction == Direction.RCV,
                ChatItem.status == ItemStatus.NEW))).scalar_one_or_none()

    async def _rows(self, stmt: Select[Any], reverse: bool = False) -> list[ItemRow]:
        """Rows of ``stmt`` (plain columns, no ORM objects: pages are read often)."""
        async with self.db.engine.connect() as conn:
            items = list((await conn.execute(stmt)).all())
            if reverse:
                items.reverse()
            reactions: dict[int, list[tuple[str, bool]]] = {}
            if items:
                result = await conn.execute(
                    select(ChatReaction.item_id, ChatReaction.reaction, ChatReaction.sent)
                    .where(ChatReaction.item_id.in_([i.id for i in items]))
                    .order_by(ChatReaction.id))
                for item_id, reaction, sent in result:
                    reactions.setdefault(item_id, []).append((reaction, sent))
        return [_row(i, reactions.get(i.id, ())) for i in items]
