"""Handling agent events: requests, connections, received messages, delivery states.

The agent delivers every event at least once, so each handler is idempotent: a repeat changes
nothing and emits nothing (it only finishes what a crash interrupted: a contact request still
pending is auto-accepted then). A received message is committed to the chat tables first, then
``message_processed`` tells the agent (which then acknowledges it and sends the receipt), and
only then are frontends told; a message seen before (same shared msg id) is only acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.agent import events as ae
from simplextui.agent.errors import AgentError
from simplextui.chat import contacts as contacts_q
from simplextui.chat import messages as items_q
from simplextui.chat.actions import accept
from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.events import (
    ChatEvent,
    ConnectionErrorEvent,
    ContactConnected,
    ContactDeleted,
    ContactRequestReceived,
    ContactUpdated,
    IntegrityError,
    MessageDeleted,
    MessageReceived,
    MessageStatus,
    MessageUpdated,
    ReactionChanged,
)
from simplextui.chat.groups.decline import receive_decline
from simplextui.chat.groups.inbound import GroupInbound, receive_invitation
from simplextui.chat.groups.links import GroupLinkInbound  # GROUP-LINKS hook
from simplextui.chat.profiles import decode_storable, parse_info
from simplextui.chat.view import QuoteView
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    MsgDelete,
    MsgNew,
    MsgReact,
    MsgRead,
    MsgUpdate,
    Profile,
    ProfileInfo,
    UnknownEvent,
)
from simplextui.protocol.group_events import GroupDecline, GroupInvitation
from simplextui.store.chat_models import (
    ChatItem,
    ChatUser,
    Contact,
    ContactRequest,
    ContactStatus,
    Direction,
    ItemStatus,
)

__all__ = ["Inbound"]

log = logging.getLogger("simplextui.chat")
UNKNOWN_PEER = "contact"


class Inbound:
    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx
        self.groups = GroupInbound(ctx)
        self.group_links = GroupLinkInbound(ctx)  # GROUP-LINKS hook

    async def handle(self, event: ae.AgentEvent) -> None:
        match event:
            case ae.MessageReceived():
                await self.message(event)
            case ae.MessageSent():
                await self.status(event.conn_id, event.agent_msg_id, ItemStatus.SENT)
            case ae.DeliveryReceipt():
                await self.status(event.conn_id, event.agent_msg_id, ItemStatus.DELIVERED)
            case ae.Connected():
                await self.connected(event)
            case ae.ConnectionRequest():
                await self.request(event)
            case ae.ConnectionDeleted():
                await self.deleted(event)
            case ae.ConnectionError():
                await self.error(event)
            case _:
                log.info("ignoring unknown agent event %s", type(event).__name__)

    # --- connections --------------------------------------------------------------------------

    async def request(self, event: ae.ConnectionRequest) -> None:
        if await self.group_links.request(event):  # GROUP-LINKS hook: a join by group link
            return
        profile = _profile_or_placeholder(event.info, "contact request")
        async with self.ctx.tx() as s:
            known = await contacts_q.request_by_id(s, event.request_id)
            if known is None:
                name = await contacts_q.allocate_name(s, profile.display_name)
                s.add(ContactRequest(request_id=event.request_id, local_name=name,
                                     display_name=profile.display_name,
                                     full_name=profile.full_name, bio=profile.bio,
                                     created_at=now_ms()))
            else:
                name = known.local_name
        if known is None:
            await self.ctx.emit(ContactRequestReceived(name, profile.display_name,
                                                       profile.full_name, profile.bio))
        # A repeat (the agent delivers again after a crash) is not shown again, but a request
        # still pending is accepted now if the crash came before auto-accept did it.
        if self.ctx.user.auto_accept:
            try:
                await accept(self.ctx, event.request_id)
            except Exception as exc:
                log.warning("auto-accepting %s failed: %s", name, exc)
                await self.ctx.emit(ConnectionErrorEvent(f"auto-accept failed: {exc}", name))

    async def connected(self, event: ae.Connected) -> None:
        if await self.group_links.connected(event):  # GROUP-LINKS hook: a refused join
            return
        if await self.groups.connected(event):
            return
        profile = _profile_or_placeholder(event.peer_info, "connection info")
        async with self.ctx.tx() as s:
            contact = await contacts_q.get_or_create_pending(s, event.conn_id)
            if contact.status != ContactStatus.PENDING:
                return  # a repeat
            if contact.local_name is None:
                contact.local_name = await contacts_q.allocate_name(s, profile.display_name)
            contacts_q.set_profile(contact, profile)
            contact.status = ContactStatus.CONNECTED
            contact.updated_at = now_ms()
        await self.ctx.emit(ContactConnected(contact.local_name, profile.display_name,
                                             profile.full_name, profile.bio))

    async def deleted(self, event: ae.ConnectionDeleted) -> None:
        if await self.groups.deleted(event) or not event.by_peer:
            return  # a member connection, or this user's own deferred deletion
        async with self.ctx.tx() as s:
            contact = await contacts_q.by_conn(s, event.conn_id)
            if contact is None or contact.status == ContactStatus.DELETED:
                return
            contact.status = ContactStatus.DELETED
            contact.updated_at = now_ms()
        if contact.local_name is not None:
            await self.ctx.emit(ContactDeleted(contact.local_name))

    async def error(self, event: ae.ConnectionError) -> None:
        name = None
        if event.conn_id is not None:
            async with self.ctx.db.session() as s:
                contact = await contacts_q.by_conn(s, event.conn_id)
            name = contact.local_name if contact is not None else None
        log.warning("connection error (%s): %s", name or event.conn_id, event.error)
        await self.ctx.emit(ConnectionErrorEvent(event.error, name))

    # --- delivery states ----------------------------------------------------------------------

    async def status(self, conn_id: str, agent_msg_id: int, status: ItemStatus) -> None:
        if await self.groups.status(conn_id, agent_msg_id, status):  # a member connection
            return
        async with self.ctx.tx() as s:
            contact = await contacts_q.by_conn(s, conn_id)
            if contact is None:
                return
            item = await items_q.by_agent_id(s, contact.id, agent_msg_id)
            if item is None:  # not a message (an edit, a receipt...) or not yet recorded
                self.ctx.keep_early_status(conn_id, agent_msg_id, status)
                return
            if not items_q.advance_status(item, status):
                return
        await self.ctx.emit(MessageStatus(f"@{contact.local_name}", item.shared_msg_id, status))

    # --- messages -------------------------------------------------------------------------------

    async def message(self, event: ae.MessageReceived) -> None:
        if await self.groups.message(event):
            return
        emitted: list[ChatEvent] = []
        unused_conns: list[str] = []  # member connections a declined invitation leaves behind
        async with self.ctx.tx() as s:
            contact = await contacts_q.by_conn(s, event.conn_id)
            if contact is not None and contact.local_name is None:
                # not expected (Connected comes first), but never drop a message for it
                log.warning("message on a connection not connected yet: naming it now")
                contact.local_name = await contacts_q.allocate_name(
                    s, contact.display_name or UNKNOWN_PEER)
            if contact is not None and contact.local_name is not None:
                if not event.integrity.ok:
                    emitted.append(IntegrityError(contact.local_name, str(event.integrity)))
                message = _decode(event.body, contact.local_name)
                if message is not None:
                    emitted += await _apply(s, self.ctx.user, contact, message, event,
                                            unused_conns)
            else:
                log.warning("message for unknown connection %s dropped", event.conn_id)
        for conn_id in unused_conns:
            with contextlib.suppress(AgentError):
                await self.ctx.agent.delete_connection(conn_id)
        await self.ctx.agent.message_processed(event.conn_id, event.agent_msg_id)
        for chat_event in emitted:
            await self.ctx.emit(chat_event)


def _decode(body: bytes, name: str) -> ChatMessage | None:
    try:
        message = decode_storable(body)
    except ChatEventError as exc:
        log.warning("malformed chat message from @%s ignored: %s", name, exc)
        return None
    if isinstance(message.event, UnknownEvent):
        log.info("unknown chat event %s from @%s ignored", message.event.event, name)
        return None
    return message


async def _apply(s: AsyncSession, user: ChatUser, contact: Contact, message: ChatMessage,
                 received: ae.MessageReceived, unused_conns: list[str]) -> list[ChatEvent]:
    """Apply one received chat event to the chat's rows; the frontend events it causes."""
    name = contact.local_name or ""
    chat = f"@{name}"
    event = message.event
    if isinstance(event, MsgNew):
        item = await items_q.insert_received(s, contact.id, message.msg_id, event.content.text,
                                             event.quote, received.agent_msg_id,
                                             received.broker_ts_ms)
        if item is None:
            return []  # seen before
        quote = None
        if event.quote is not None:
            quote = QuoteView(event.quote.msg_id, event.quote.content.text,
                              name if event.quote.sent else user.display_name)
        return [MessageReceived(chat, name, event.content.text, message.msg_id,
                                item.sent_at or item.created_at, quote)]
    if isinstance(event, MsgUpdate | MsgDelete):
        item = await _peer_item(s, contact, event.msg_id)
        if item is None or item.deleted:
            return []
        if isinstance(event, MsgDelete):
            item.text, item.deleted, item.updated_at = "", True, now_ms()
            return [MessageDeleted(chat, name, event.msg_id)]
        if item.text == event.content.text:
            return []
        item.text, item.edited, item.updated_at = event.content.text, True, now_ms()
        return [MessageUpdated(chat, name, event.msg_id, event.content.text)]
    if isinstance(event, MsgReact):
        item = await items_q.by_shared_id(s, contact.id, event.msg_id)
        if item is None or item.deleted:
            log.info("reaction to unknown message %s from %s ignored", event.msg_id, chat)
            return []
        if not await items_q.set_reaction(s, item.id, False, event.reaction, event.add):
            return []
        return [ReactionChanged(chat, name, event.msg_id, event.reaction, event.add)]
    if isinstance(event, MsgRead):
        return [MessageStatus(chat, item.shared_msg_id, ItemStatus.READ)
                for item in await _sent_items(s, contact.id, event.msg_ids)
                if items_q.advance_status(item, ItemStatus.READ)]
    if isinstance(event, GroupInvitation):
        return await receive_invitation(s, contact, event)
    if isinstance(event, GroupDecline):
        return await receive_decline(s, contact, event, unused_conns)
    if isinstance(event, ProfileInfo):
        if not contacts_q.set_profile(contact, event.profile):
            return []
        p = event.profile
        return [ContactUpdated(name, p.display_name, p.full_name, p.bio)]
    return []


async def _sent_items(s: AsyncSession, contact_id: int, msg_ids: Sequence[str]
                     ) -> list[ChatItem]:
    """This user's messages among ``msg_ids`` (a read receipt's, up to 500), in their
    order, with one query instead of one per id."""
    rows = await s.execute(select(ChatItem).where(
        ChatItem.contact_id == contact_id, ChatItem.direction == Direction.SND,
        ChatItem.shared_msg_id.in_(set(msg_ids))))
    by_id = {item.shared_msg_id: item for item in rows.scalars()}
    return [by_id.pop(msg_id) for msg_id in msg_ids if msg_id in by_id]


async def _peer_item(s: AsyncSession, contact: Contact, msg_id: str) -> ChatItem | None:
    """The peer's own message ``msg_id``: a peer may only edit or delete what it sent."""
    item = await items_q.by_shared_id(s, contact.id, msg_id)
    if item is not None and item.direction != Direction.RCV:
        log.warning("@%s tried to change a message it did not send", contact.local_name)
        return None
    return item


def _profile_or_placeholder(info: bytes, what: str) -> Profile:
    try:
        return parse_info(info)
    except ChatEventError as exc:
        log.warning("%s without a valid profile (%s): using a placeholder name", what, exc)
        return Profile(UNKNOWN_PEER)
