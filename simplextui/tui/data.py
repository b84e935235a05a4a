"""Read-only queries the TUI needs beyond the command language: the chat list (contacts and
groups, unread counts, last message) and keyset pages of one chat's messages, with their
reactions and, in groups, their senders.

No Textual here. Writes always go through ``ChatCore.execute`` (the command language); these
reads use the core's database directly, so a 100,000-message chat opens by reading one page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, and_, func, literal_column, select
from sqlalchemy.orm import aliased

from simplextui.store.chat_models import (
    ChatItem,
    ChatReaction,
    Contact,
    ContactRequest,
    ContactStatus,
    Direction,
    Group,
    GroupMember,
    GroupStatus,
    ItemStatus,
)
from simplextui.store.db import Database
from simplextui.store.group_link_models import GroupLink
from simplextui.tui.chatkeys import chat_ref, is_group_key

__all__ = ["ChatData", "ChatKey", "ChatSummary", "ContactRow", "GroupRow", "ItemRow",
           "RequestRow", "chat_ref", "is_group_key"]


@dataclass(frozen=True, slots=True)
class ChatKey:
    """Which rows of ``chat_items`` make one chat: a contact's or a group's."""

    group: bool
    id: int

    def where(self) -> ColumnElement[bool]:
        column = ChatItem.group_id if self.group else ChatItem.contact_id
        return column == self.id


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
    group: bool = False
    last_sender: str | None = None  # in groups: who wrote the last message
    last_event: bool = False  # the last item is a notice (joined, left...)
    inviter: str | None = None  # an invitation to a group: who sent it

    @property
    def connected(self) -> bool:
        return self.status == ContactStatus.CONNECTED

    @property
    def key(self) -> str:
        return f"#{self.name}" if self.group else self.name

    @property
    def invited(self) -> bool:
        return self.group and self.status == GroupStatus.INVITED


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
    quote_from: str | None = None  # a group reply: the quoted member (when not this user)
    reactions: tuple[tuple[str, bool], ...] = ()  # (reaction, mine), in arrival order
    sender: str | None = None  # a received group message: the member's name
    event: bool = False  # a notice line (joined, left, removed...), not a message
    forwarded: bool = False  # a group message that came through the introducer

    @property
    def unread(self) -> bool:
        return not self.mine and self.status == ItemStatus.NEW


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A group's profile and this user's place in it."""

    name: str
    display_name: str
    description: str
    status: str
    role: str
    symmetric: bool


@dataclass(frozen=True, slots=True)
class ContactRow:
    name: str
    full_name: str


@dataclass(frozen=True, slots=True)
class RequestRow:
    name: str
    display_name: str
    full_name: str
    bio: str
    created_at: int


_QUOTED = aliased(GroupMember)  # a group reply's quoted author
_ITEMS = select(*ChatItem.__table__.columns, GroupMember.local_name.label("sender"),
                _QUOTED.local_name.label("quote_sender")) \
    .outerjoin(GroupMember, GroupMember.id == ChatItem.member_id) \
    .outerjoin(_QUOTED, (_QUOTED.group_id == ChatItem.group_id)
               & (_QUOTED.member_id == ChatItem.quote_member_id))


# Unread: received and still new. Written as literals so that SQLite can use the partial
# index ``ix_chat_items_unread`` (it cannot prove a bound parameter matches its condition).
_UNREAD = and_(ChatItem.direction == literal_column(f"'{Direction.RCV.value}'"),
               ChatItem.status == literal_column(f"'{ItemStatus.NEW.value}'"))


def _last_id(of_chat: ColumnElement[bool]) -> ScalarSelect[Any]:
    """The id of a chat's latest item: one index seek per chat (``(contact_id, id)`` and
    ``(group_id, id)``), where a GROUP BY would read every item of every chat."""
    return select(func.max(ChatItem.id)).where(of_chat).scalar_subquery()


def _is_event(item: Any) -> bool:
    """Notice items (``kind`` "event"); the column comes with a later migration."""
    return getattr(item, "kind", None) == "event"


def _sender(item: Any) -> str | None:
    """A received group item's author: the member, else the name its forwarder gave."""
    if item.direction != Direction.RCV:
        return None
    return item.sender or getattr(item, "author_name", None)


def _row(item: Any, reactions: Sequence[tuple[str, bool]]) -> ItemRow:
    return ItemRow(
        id=item.id, msg_id=item.shared_msg_id, mine=item.direction == Direction.SND,
        text=item.text, status=item.status, ts=item.sent_at or item.created_at,
        edited=item.edited, deleted=item.deleted, quote_msg_id=item.quote_msg_id,
        quote_text=item.quote_text, quote_mine=item.quote_sent,
        quote_from=getattr(item, "quote_sender", None),
        reactions=tuple(reactions), sender=_sender(item), event=_is_event(item),
        forwarded=bool(item.forwarded))


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
                    ChatItem.contact_id.is_not(None), _UNREAD).group_by(ChatItem.contact_id))
            unread: dict[int | None, int] = {contact_id: n for contact_id, n in counts}
            last_ids = [i for i in (await s.execute(select(
                _last_id(ChatItem.contact_id == Contact.id)).where(
                    Contact.local_name.is_not(None)))).scalars() if i is not None]
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
        rows.extend(await self._groups())
        rows.sort(key=lambda r: (-r.last_ts, r.name))
        return rows

    async def _groups(self) -> list[ChatSummary]:
        async with self.db.session() as s:
            groups = list((await s.execute(select(Group))).scalars())
            if not groups:
                return []
            counts = await s.execute(
                select(ChatItem.group_id, func.count()).where(
                    ChatItem.group_id.is_not(None), _UNREAD).group_by(ChatItem.group_id))
            unread: dict[int | None, int] = {group_id: n for group_id, n in counts}
            last_ids = [i for i in (await s.execute(select(  # one per group: FROM groups
                _last_id(ChatItem.group_id == Group.id)).select_from(Group))).scalars()
                if i is not None]
            last = {row.group_id: row for row in (await s.execute(
                _ITEMS.where(ChatItem.id.in_(last_ids)))).all()}
            inviters = dict((await s.execute(
                select(Contact.id, Contact.local_name).where(Contact.id.in_(
                    [g.inviter_contact_id for g in groups if g.inviter_contact_id])))).all())
        rows = []
        for g in groups:
            item = last.get(g.id)
            rows.append(ChatSummary(
                contact_id=g.id, name=g.local_name, display_name=g.display_name,
                full_name=g.description, status=g.status, verified=False,
                unread=unread.get(g.id, 0), last_text=item.text if item else None,
                last_ts=(item.sent_at or item.created_at) if item else g.updated_at,
                last_mine=bool(item and item.direction == Direction.SND),
                last_deleted=bool(item and item.deleted), group=True,
                last_sender=_sender(item) if item else None,
                last_event=bool(item and _is_event(item)),
                inviter=inviters.get(g.inviter_contact_id) if g.inviter_contact_id else None))
        return rows

    async def group_id(self, name: str) -> int | None:
        async with self.db.session() as s:
            return (await s.execute(
                select(Group.id).where(Group.local_name == name))).scalar_one_or_none()

    async def group(self, name: str) -> GroupRow | None:
        async with self.db.session() as s:
            g = (await s.execute(
                select(Group).where(Group.local_name == name))).scalar_one_or_none()
        if g is None:
            return None
        return GroupRow(g.local_name, g.display_name, g.description, g.status, g.role,
                        g.symmetric)

    async def group_link_role(self, name: str) -> str | None:
        """The role the group's link (hosted by this user) grants; None without a link."""
        async with self.db.session() as s:
            return (await s.execute(
                select(GroupLink.role).join(Group, Group.id == GroupLink.group_id)
                .where(Group.local_name == name))).scalar_one_or_none()

    async def chat_key(self, key: str) -> ChatKey | None:
        """The rows of the chat with ``key`` (``alice`` or ``#team``); None if there is none."""
        if is_group_key(key):
            group_id = await self.group_id(key[1:])
            return None if group_id is None else ChatKey(True, group_id)
        contact_id = await self.contact_id(key)
        return None if contact_id is None else ChatKey(False, contact_id)

    async def contacts(self) -> list[ContactRow]:
        """Connected contacts by name (for picking who to invite)."""
        async with self.db.session() as s:
            rows = (await s.execute(
                select(Contact.local_name, Contact.full_name).where(
                    Contact.local_name.is_not(None),
                    Contact.status == ContactStatus.CONNECTED)
                .order_by(Contact.local_name))).all()
        return [ContactRow(name or "", full) for name, full in rows]

    async def contact_id(self, name: str) -> int | None:
        async with self.db.session() as s:
            return (await s.execute(
                select(Contact.id).where(Contact.local_name == name))).scalar_one_or_none()

    async def requests(self) -> list[RequestRow]:
        async with self.db.session() as s:
            rows = (await s.execute(select(ContactRequest).order_by(ContactRequest.id))).scalars()
            return [RequestRow(r.local_name, r.display_name, r.full_name, r.bio, r.created_at)
                    for r in rows]

    async def page_before(self, chat: ChatKey, before_id: int | None, limit: int
                          ) -> list[ItemRow]:
        """Up to ``limit`` messages older than ``before_id`` (or the latest), oldest first."""
        stmt = _ITEMS.where(chat.where())
        if before_id is not None:
            stmt = stmt.where(ChatItem.id < before_id)
        return await self._rows(stmt.order_by(ChatItem.id.desc()).limit(limit), reverse=True)

    async def page_after(self, chat: ChatKey, after_id: int, limit: int) -> list[ItemRow]:
        """Up to ``limit`` messages newer than ``after_id``, oldest first."""
        return await self._rows(
            _ITEMS.where(chat.where(), ChatItem.id > after_id)
            .order_by(ChatItem.id).limit(limit))

    async def by_msg_ids(self, chat: ChatKey, msg_ids: Iterable[str]) -> list[ItemRow]:
        ids = list(set(msg_ids))
        if not ids:
            return []
        return await self._rows(_ITEMS.where(chat.where(),
                                             ChatItem.shared_msg_id.in_(ids)))

    async def first_unread_id(self, chat: ChatKey) -> int | None:
        async with self.db.session() as s:
            return (await s.execute(select(func.min(ChatItem.id)).where(
                chat.where(), ChatItem.direction == Direction.RCV,
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
