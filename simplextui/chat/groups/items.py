"""Group messages after they were sent: replies that quote them, edits and deletions by their
author, deletion of another member's message by an admin (moderation), reactions of members.

The wire events are the direct chat's (``x.msg.new`` with a quote, ``x.msg.update``,
``x.msg.del``, ``x.msg.react``), sent to every connected member, forwarded by introducers
and kept for members not connected yet like new messages. A group message is known by its
author and its id (ids are unique per author only): a quote names the quoted author by member
id, a deletion by an admin the author of the deleted message, a reaction the reacted one's.
Receivers check that an edit or a plain deletion comes from the message's author, and that
a moderation comes from an admin or owner whose role is not below the author's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat import messages as items_q
from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.errors import ChatError
from simplextui.chat.events import (
    ChatEvent,
    MessageDeleted,
    MessageUpdated,
    ReactionChanged,
)
from simplextui.chat.groups import commands as gc
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.delivery import deliveries_of
from simplextui.chat.groups.early import has_early, keep_early, take_early
from simplextui.chat.groups.pending import keep_pending
from simplextui.chat.groups.seen import SeenChanges
from simplextui.chat.groups.send import send_to_many, wrap
from simplextui.chat.groups.sequence import numbered
from simplextui.chat.refs import ByMsgId, MsgRef
from simplextui.chat.responses import ChatResponse, SentResponse
from simplextui.protocol.chat_events import (
    ChatMessage,
    MsgContent,
    MsgDelete,
    MsgNew,
    MsgReact,
    MsgUpdate,
    Quote,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import GroupRole
from simplextui.store.chat_models import (
    ChatItem,
    ChatReaction,
    Direction,
    Group,
    GroupMember,
    GroupStatus,
    ItemKind,
)

__all__ = [
    "ITEM_EVENTS",
    "MAX_MEMBER_REACTIONS",
    "GroupItems",
    "checked_quote_columns",
    "post_message",
    "quote_columns",
]

log = logging.getLogger("simplextui.chat.groups")

ITEM_EVENTS = (MsgUpdate, MsgDelete, MsgReact)  # about an earlier message of the group

# Distinct reactions one member keeps on one message (SimpleX's limit): more are refused, so a
# modified client cannot flood every member's database (and pending copies) with them.
MAX_MEMBER_REACTIONS = 3


async def post_message(ctx: ChatContext, group: Group, event: MsgNew) -> SentResponse:
    """Send a new message (or a reply) to the group: stored, kept for members not connected
    yet, sent to every connected member, its delivery tracked per member."""
    if GroupRole(group.role) is GroupRole.OBSERVER:
        raise ChatError(f"#{group.local_name}: observers cannot send messages")
    message = wrap(event, new_msg_id())
    encode_chat_message(message)  # size errors before any write
    deliveries = deliveries_of(ctx)
    async with ctx.tx() as s:
        message = await numbered(s, group.id, message)
        columns = {} if event.quote is None else quote_columns(group, event.quote, None)
        item = await gq.insert_item(s, group, None, message.msg_id, event.content.text,
                                    quote=columns)
        members = await gq.connected_members(s, group.id)
        await keep_pending(s, group.id, message)  # for members not connected yet
    assert item is not None  # a fresh shared id
    deliveries.begin()
    sent: dict[str, int] = {}
    try:
        sent = await send_to_many(ctx, [m.conn_id for m in members if m.conn_id], message)
    finally:
        await deliveries.record(group, item.id, members, sent)
    return SentResponse(f"#{group.local_name}", message.msg_id, event.content.text)


def quote_columns(group: Group, quote: Quote, author: GroupMember | None) -> dict[str, object]:
    """The chat item columns of ``quote`` in a message by ``author`` (None: this user):
    ``quote_sent`` when the quoted message is this user's, else its author's member id."""
    if author is None:  # this user's reply: the quote is as built here
        mine, member_id = quote.sent, quote.member_id
    elif quote.sent:  # the author quoted itself
        mine, member_id = False, author.member_id
    elif quote.member_id == group.member_id:
        mine, member_id = True, None
    else:  # another member (None: an author the sender did not name)
        mine, member_id = False, quote.member_id
    return {"quote_msg_id": quote.msg_id, "quote_text": quote.content.text,
            "quote_sent": mine, "quote_member_id": member_id}


async def checked_quote_columns(s: AsyncSession, group: Group, quote: Quote,
                                author: GroupMember) -> dict[str, object]:
    """``quote_columns`` of a received reply, its author and text taken from this user's own
    copy of the quoted message when there is one: a member cannot show others words the
    quoted author never wrote, nor name someone else as its author."""
    columns = quote_columns(group, quote, author)
    # the quoted message is known by its author and id; if the named author has no message
    # with that id here, the one message with that id (a wrong or missing author name)
    quoted_author = author.member_id if quote.sent else quote.member_id
    quoted = (None if quoted_author is None
              else await gq.item_by_author(s, group.id, quoted_author, quote.msg_id))
    if quoted is None:
        quoted = await _only_item(s, group, quote.msg_id)
    if quoted is not None and not quoted.deleted:
        mine = quoted.direction == Direction.SND
        columns.update(quote_text=quoted.text, quote_sent=mine,
                       quote_member_id=None if mine else await _author_member_id(s, quoted))
    return columns


class GroupItems:
    """The reply, edit, delete and react commands of groups, and the same events received."""

    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx
        self.seen = SeenChanges(ctx)

    def handlers(self) -> dict[type, Callable[[Any], Awaitable[ChatResponse]]]:
        return {gc.ReplyGroup: self.reply, gc.EditGroupMessage: self.edit,
                gc.DeleteGroupMessage: self.delete, gc.ReactGroup: self.react}

    # --- commands ---------------------------------------------------------------------------

    async def reply(self, cmd: gc.ReplyGroup) -> ChatResponse:
        group = await self._group(cmd.group)
        async with self.ctx.db.session() as s:
            quoted = await self._find(s, group, cmd.ref, own=False)
            author = await _author_member_id(s, quoted)
        quote = Quote(quoted.shared_msg_id, MsgContent(quoted.text),
                      sent=quoted.direction == Direction.SND, member_id=author)
        return await post_message(self.ctx, group, MsgNew(MsgContent(cmd.text), quote))

    async def edit(self, cmd: gc.EditGroupMessage) -> ChatResponse:
        group = await self._not_observer(cmd.group, "edit messages")
        async with self.ctx.db.session() as s:
            item = await self._find(s, group, cmd.ref, own=True)
        if item.text == cmd.text:
            raise ChatError("the new text is the same as the old one")
        await self._send(group, MsgUpdate(item.shared_msg_id, MsgContent(cmd.text)))
        async with self.ctx.tx() as s:
            row = await s.get(ChatItem, item.id)
            if row is not None:
                row.text, row.edited, row.updated_at = cmd.text, True, now_ms()
        return SentResponse(f"#{group.local_name}", item.shared_msg_id, cmd.text)

    async def delete(self, cmd: gc.DeleteGroupMessage) -> ChatResponse:
        """This user's own message, or (moderation) another member's: for everyone."""
        group = await self._not_observer(cmd.group, "delete messages")
        async with self.ctx.db.session() as s:
            item = await self._find(s, group, cmd.ref, own=None)
            author = await _author(s, item)
            author_id = await _author_member_id(s, item)
        if item.direction == Direction.SND:
            event = MsgDelete(item.shared_msg_id)
        else:
            mine = GroupRole(group.role)
            theirs = GroupRole(author.role) if author is not None else GroupRole.MEMBER
            if mine.rank < GroupRole.ADMIN.rank or mine.rank < theirs.rank:
                raise ChatError("only admins and owners delete other members' messages "
                                "(not those of a higher role)")
            if author_id is None:
                raise ChatError("the author of this message is not known here")
            event = MsgDelete(item.shared_msg_id, author_id)
        await self._send(group, event)
        async with self.ctx.tx() as s:
            row = await s.get(ChatItem, item.id)
            if row is not None:
                row.text, row.deleted, row.updated_at = "", True, now_ms()
        return SentResponse(f"#{group.local_name}", item.shared_msg_id)

    async def react(self, cmd: gc.ReactGroup) -> ChatResponse:
        group = await self._group(cmd.group)
        if GroupRole(group.role) is GroupRole.OBSERVER:
            raise ChatError(f"#{group.local_name}: observers cannot react")
        async with self.ctx.db.session() as s:
            item = await self._find(s, group, cmd.ref, own=None)
            await items_q.refuse_unchanged_reaction(s, item.id, cmd.reaction, cmd.add)
            mine = await _reaction_count(s, item.id, None)
            author_id = await _author_member_id(s, item)
        if cmd.add and mine >= MAX_MEMBER_REACTIONS:  # the others would drop it
            raise ChatError(f"at most {MAX_MEMBER_REACTIONS} reactions of yours per message")
        await self._send(group, MsgReact(item.shared_msg_id, cmd.reaction, cmd.add,
                                         author_id or group.member_id))
        async with self.ctx.tx() as s:
            await items_q.set_reaction(s, item.id, True, cmd.reaction, cmd.add)
        return SentResponse(f"#{group.local_name}", item.shared_msg_id)

    async def _group(self, name: str) -> Group:
        from simplextui.chat.groups.lookup import find_group

        return await find_group(self.ctx, name, GroupStatus.CONNECTED)

    async def _not_observer(self, name: str, what: str) -> Group:
        """The group; refused to an observer, as every member refuses its changes (its copy
        would differ from everyone else's)."""
        group = await self._group(name)
        if GroupRole(group.role) is GroupRole.OBSERVER:
            raise ChatError(f"#{group.local_name}: observers cannot {what}")
        return group

    async def _send(self, group: Group, event: MsgUpdate | MsgDelete | MsgReact) -> None:
        async with self.ctx.tx() as s:
            message = await numbered(s, group.id, wrap(event))
            members = await gq.connected_members(s, group.id)
            await keep_pending(s, group.id, message)
        await send_to_many(self.ctx, [m.conn_id for m in members if m.conn_id], message)

    async def _find(self, s: AsyncSession, group: Group, ref: MsgRef, *, own: bool | None
                    ) -> ChatItem:
        """The message ``ref`` names (``own``: only this user's; False: anyone's)."""
        query = select(ChatItem).where(ChatItem.group_id == group.id,
                                       ChatItem.kind == ItemKind.MSG,
                                       ChatItem.deleted.is_(False))
        if own:
            query = query.where(ChatItem.direction == Direction.SND)
        if isinstance(ref, ByMsgId):  # two authors may use one id: this user's, or the first
            item = (await s.execute(query.where(ChatItem.shared_msg_id == ref.msg_id).order_by(
                (ChatItem.direction == Direction.SND).desc(), ChatItem.id).limit(1))
                    ).scalar_one_or_none()
            if item is None and own:
                other = (await s.execute(select(ChatItem.id).where(
                    ChatItem.group_id == group.id, ChatItem.shared_msg_id == ref.msg_id))
                         ).first()
                if other is not None:
                    raise ChatError("you can only edit your own messages")
            what = ref.msg_id
        else:
            pattern = ref.prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            item = (await s.execute(query.where(ChatItem.text.like(pattern + "%", escape="\\"))
                                    .order_by(ChatItem.id.desc()).limit(1))).scalar_one_or_none()
            what = f"starting with {ref.prefix!r}"
        if item is None:
            mine = "of yours " if own else ""
            raise ChatError(f"no message {mine}{what} in #{group.local_name}")
        return item

    # --- received -----------------------------------------------------------------------------

    def allowed(self, group: Group, author: GroupMember,
                event: MsgUpdate | MsgDelete | MsgReact) -> bool:
        """Role rules checked before forwarding: observers only read; moderation needs an
        admin (whether above the author's role is checked when applied)."""
        role = GroupRole(author.role)
        if role is GroupRole.OBSERVER:
            log.warning("#%s: %s from observer %s refused", group.local_name,
                        type(event).__name__, author.local_name)
            return False
        if isinstance(event, MsgDelete) and event.member_id is not None \
                and role.rank < GroupRole.ADMIN.rank:
            log.warning("#%s: %s may not delete others' messages", group.local_name,
                        author.local_name)
            return False
        return True

    async def apply(self, group: Group, author: GroupMember,
                    event: MsgUpdate | MsgDelete | MsgReact, out: list[ChatEvent],
                    message: ChatMessage | None = None) -> None:
        """Apply ``author``'s edit, deletion or reaction (received directly or forwarded);
        a change of a message not received yet is kept (``message``: the change as received)
        and applied when it arrives (``apply_early``)."""
        if not self.allowed(group, author, event):
            return
        chat, name = f"#{group.local_name}", author.local_name or ""
        async with self.ctx.tx() as s:
            item = await _target(s, group, author, event)
            target = _target_author(author, event)
            if item is None and message is not None and target is not None:
                await keep_early(s, group.id, author, (target, event.msg_id), message)
                log.info("#%s: %s about a message not received yet kept", group.local_name,
                         type(event).__name__)
                return
            if item is None or item.deleted:
                log.info("#%s: %s about an unknown or deleted message ignored",
                         group.local_name, type(event).__name__)
                return
            if isinstance(event, MsgReact):
                if event.add and await _reaction_count(s, item.id, author.id) \
                        >= MAX_MEMBER_REACTIONS:
                    log.warning("#%s: more than %d reactions of %s to one message refused",
                                group.local_name, MAX_MEMBER_REACTIONS, name)
                    return
                if await items_q.set_reaction(s, item.id, False, event.reaction, event.add,
                                              member_id=author.id):
                    out.append(ReactionChanged(chat, name, event.msg_id, event.reaction,
                                               event.add))
                return
            if isinstance(event, MsgDelete) and event.member_id is not None:
                if not await self._may_moderate(s, group, author, item, event.member_id):
                    return
            elif not _authored_by(item, author):
                log.warning("#%s: %s tried to change a message it did not send",
                            group.local_name, name)
                return
            if isinstance(event, MsgDelete):
                item.text, item.deleted, item.updated_at = "", True, now_ms()
                out.append(MessageDeleted(chat, name, event.msg_id))
            elif item.text != event.content.text:
                item.text, item.edited, item.updated_at = event.content.text, True, now_ms()
                out.append(MessageUpdated(chat, name, event.msg_id, event.content.text))

    async def apply_early(self, group: Group, author_member_id: str, msg_id: str,
                          out: list[ChatEvent]) -> None:
        """Message ``msg_id`` of ``author_member_id`` just arrived: apply the edits,
        deletions and reactions that came before it (nothing if it is not here after all)."""
        async with self.ctx.db.session() as s:
            if not await has_early(s, group.id, author_member_id, msg_id):
                return
        async with self.ctx.tx() as s:
            if await gq.item_by_author(s, group.id, author_member_id, msg_id) is None:
                return
            early = await take_early(s, group.id, author_member_id, msg_id)
        for sender, message in early:
            if isinstance(message.event, ITEM_EVENTS):
                await self.apply(group, sender, message.event, out)

    async def _may_moderate(self, s: AsyncSession, group: Group, moderator: GroupMember,
                            item: ChatItem, author_id: str) -> bool:
        """Did ``author_id`` write ``item``, and ``moderator``'s role reach the author's?"""
        if author_id == group.member_id:
            wrote, role = item.direction == Direction.SND, GroupRole(group.role)
        else:
            author = await gq.member_by_id(s, group.id, author_id)
            if author is not None:
                wrote, role = _authored_by(item, author), GroupRole(author.role)
            else:  # history of a member unknown here (it left before this user joined)
                wrote = item.direction == Direction.RCV and item.author_member_id == author_id
                role = GroupRole.MEMBER
        mine = GroupRole(moderator.role)
        if not wrote or mine.rank < GroupRole.ADMIN.rank or mine.rank < role.rank:
            log.warning("#%s: deletion by %s of a message it may not delete refused",
                        group.local_name, moderator.local_name)
            return False
        return True


async def _reaction_count(s: AsyncSession, item_id: int, member_id: int | None) -> int:
    """How many reactions ``member_id`` (None: this user) keeps on item ``item_id``."""
    by = (ChatReaction.sent.is_(True) if member_id is None
          else ChatReaction.member_id == member_id)
    return (await s.scalar(select(func.count()).select_from(ChatReaction).where(
        ChatReaction.item_id == item_id, by))) or 0


async def _target(s: AsyncSession, group: Group, sender: GroupMember,
                  event: MsgUpdate | MsgDelete | MsgReact) -> ChatItem | None:
    """The message a change of ``sender``'s is about, known by (author, msg id): an edit or
    a plain deletion is about the sender's own message, a moderation or a reaction names the
    author. A reaction without an author (an older client) is placed only when one message
    has that id."""
    author_id = _target_author(sender, event)
    if author_id is not None:
        return await gq.item_by_author(s, group.id, author_id, event.msg_id)
    return await _only_item(s, group, event.msg_id)


def _target_author(sender: GroupMember, event: MsgUpdate | MsgDelete | MsgReact) -> str | None:
    """The member id of the author of the message ``event`` is about (None: not named)."""
    if isinstance(event, MsgUpdate) or (isinstance(event, MsgDelete) and event.member_id is None):
        return sender.member_id
    return event.member_id


async def _only_item(s: AsyncSession, group: Group, msg_id: str) -> ChatItem | None:
    """The group's message ``msg_id`` when only one author used that id, else None."""
    found = (await s.execute(select(ChatItem).where(
        ChatItem.group_id == group.id, ChatItem.shared_msg_id == msg_id,
        ChatItem.kind == ItemKind.MSG).limit(2))).scalars().all()
    return found[0] if len(found) == 1 else None


def _authored_by(item: ChatItem, member: GroupMember) -> bool:
    return item.direction == Direction.RCV and (
        item.member_id == member.id or item.author_member_id == member.member_id)


async def _author(s: AsyncSession, item: ChatItem) -> GroupMember | None:
    if item.direction == Direction.SND or item.member_id is None:
        return None
    return await s.get(GroupMember, item.member_id)


async def _author_member_id(s: AsyncSession, item: ChatItem) -> str | None:
    """The group member id of a received item's author (None: this user's item)."""
    if item.direction == Direction.SND:
        return None
    author = await _author(s, item)
    return author.member_id if author is not None else item.author_member_id
