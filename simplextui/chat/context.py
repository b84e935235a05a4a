"""State shared by the command handlers and the agent-event handlers of one chat core."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat import contacts as contacts_q
from simplextui.chat import messages as items_q
from simplextui.chat.agent_api import AgentAPI
from simplextui.chat.errors import ChatError
from simplextui.chat.events import ChatEvent, MessageStatus
from simplextui.chat.view import MessageView, QuoteView, ReactionView
from simplextui.protocol.chat_events import ChatEvent as WireEvent
from simplextui.protocol.chat_events import (
    ChatMessage,
    MsgNew,
    Quote,
    encode_chat_message,
    new_msg_id,
)
from simplextui.store.chat_models import (
    ChatItem,
    ChatReaction,
    ChatUser,
    Contact,
    ContactStatus,
    Direction,
    ItemStatus,
)
from simplextui.store.db import Database

__all__ = ["ChatContext", "wants_receipt"]


def wants_receipt(event: WireEvent) -> bool:
    """Does a chat event ask the peer's agent for a delivery receipt? New messages only."""
    return isinstance(event, MsgNew)

log = logging.getLogger("simplextui.chat")

Emit = Callable[[ChatEvent], Awaitable[None]]


class ChatContext:
    def __init__(self, db: Database, agent: AgentAPI, user: ChatUser, emit: Emit) -> None:
        self.db = db
        self.agent = agent
        self.user = user  # a detached copy, updated together with its row
        self.emit = emit
        # One writer at a time: a read-then-write of a command and of an agent event never
        # interleave. Never held across an agent call.
        self._lock = asyncio.Lock()
        # Sends between ``agent.send`` and recording its id; statuses that come meanwhile.
        self._inflight: Counter[str] = Counter()
        self._early_status: dict[tuple[str, int], ItemStatus] = {}

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on exit, under the writer lock."""
        async with self._lock, self.db.session() as session, session.begin():
            yield session

    # --- contacts ---------------------------------------------------------------------------

    @staticmethod
    async def contact(session: AsyncSession, name: str) -> Contact:
        contact = await contacts_q.by_name(session, name)
        if contact is None:
            raise ChatError(f"no contact @{name} (/contacts lists them)")
        return contact

    @staticmethod
    def require_connected(contact: Contact) -> str:
        """The contact's connection id, if messages can be sent to it now."""
        if contact.status == ContactStatus.DELETED or contact.conn_id is None:
            raise ChatError(f"@{contact.local_name} deleted the connection")
        if contact.status != ContactStatus.CONNECTED:
            raise ChatError(f"@{contact.local_name} is not connected yet")
        return contact.conn_id

    # --- sending ----------------------------------------------------------------------------

    async def send_event(self, conn_id: str, event: WireEvent, msg_id: str | None = None
                         ) -> tuple[str, int]:
        """Encode and hand one chat event to the agent's outbox; (shared id, agent id).
        Only new messages ask for a delivery receipt (as SimpleX): edits, reactions, read
        receipts and protocol events (group introductions...) would double the traffic."""
        msg_id = msg_id or new_msg_id()
        body = encode_chat_message(ChatMessage(msg_id, event))
        return msg_id, await self.agent.send(conn_id, body, receipt=wants_receipt(event))

    async def send_item(self, contact: Contact, event: WireEvent, text: str,
                        quote: Quote | None) -> ChatItem:
        """Send a new message: its item is committed first (pending), then the agent's id is
        recorded; a status event that overtakes the recording is kept and applied then."""
        conn_id = self.require_connected(contact)
        msg_id = new_msg_id()
        body = encode_chat_message(ChatMessage(msg_id, event))  # size errors before any write
        async with self.tx() as s:
            item = await items_q.insert_sent(s, contact.id, msg_id, text, quote)
        return await self.hand_over(contact, conn_id, item, body, drop_on_error=True)

    async def hand_over(self, contact: Contact, conn_id: str, item: ChatItem, body: bytes, *,
                        drop_on_error: bool) -> ChatItem:
        """Give a committed, pending item's ``body`` to the agent and record the agent's id.
        ``drop_on_error``: if the agent refuses it, delete the item (nothing was sent)."""
        msg_id = item.shared_msg_id
        self._inflight[conn_id] += 1
        try:
            try:
                agent_msg_id = await self.agent.send(conn_id, body)
            except BaseException:
                if drop_on_error:
                    async with self.tx() as s:
                        await s.delete(await s.merge(item))
                raise
            async with self.tx() as s:
                item = await s.merge(item)
                item.agent_msg_id = agent_msg_id
                early = self._early_status.pop((conn_id, agent_msg_id), None)
                changed = early is not None and items_q.advance_status(item, early)
        finally:
            self._inflight[conn_id] -= 1
            if self._inflight[conn_id] <= 0:
                del self._inflight[conn_id]
                for key in [k for k in self._early_status if k[0] == conn_id]:
                    del self._early_status[key]
        if changed:
            await self.emit(MessageStatus(f"@{contact.local_name}", msg_id, item.status))
        return item

    def keep_early_status(self, conn_id: str, agent_msg_id: int, status: ItemStatus) -> None:
        """A status for an agent id no item has yet: keep it if a send is in flight."""
        if self._inflight.get(conn_id):
            key = (conn_id, agent_msg_id)
            old = self._early_status.get(key)
            if old is None or items_q.SENT_ORDER[status] > items_q.SENT_ORDER[old]:
                self._early_status[key] = status

    # --- views ------------------------------------------------------------------------------

    def item_view(self, item: ChatItem, contact: Contact,
                  reactions: Sequence[ChatReaction] = ()) -> MessageView:
        me = self.user.display_name
        peer = contact.local_name or ""
        quote = None
        if item.quote_msg_id is not None:
            quote = QuoteView(item.quote_msg_id, item.quote_text or "",
                              me if item.quote_sent else peer)
        return MessageView(
            chat=f"@{peer}", msg_id=item.shared_msg_id, direction=item.direction,
            from_=me if item.direction == Direction.SND else peer, text=item.text,
            status=item.status, ts=item.sent_at or item.created_at, edited=item.edited,
            deleted=item.deleted, quote=quote,
            reactions=[ReactionView(r.reaction, me if r.sent else peer) for r in reactions])
