"""Group messages the chat committed but never handed to the agent, sent at start.

Like direct messages (``chat/resend.py``): sending a group message commits its item first and
then hands it to the agent for every connected member; a process that ends in between leaves
an item ``pending`` with no delivery row, in no outbox. At start each such item is sent to the
members connected now that were members when it was written (one who joined later must not get
what was said before it came: history may be off), under its own shared message id (a member
that has it already, e.g. from the pending copy kept for members not connected at the time,
drops the repeat).
"""

from __future__ import annotations

import logging

from sqlalchemy import Select, exists, select

from simplextui.chat.context import ChatContext
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.delivery import deliveries_of
from simplextui.chat.groups.send import send_to_many
from simplextui.protocol.chat_events import ChatMessage, MsgContent, MsgNew, Quote
from simplextui.store.chat_models import (
    ChatItem,
    Direction,
    Group,
    GroupDelivery,
    GroupStatus,
    ItemKind,
    ItemStatus,
)

__all__ = ["resend_unsent_group_items", "unsent_group_query"]

log = logging.getLogger("simplextui.chat.groups")


def unsent_group_query() -> Select[ChatItem, Group]:
    """The committed, never-sent messages of active groups, oldest first (read through the
    partial index ``ix_chat_items_unsent``: its terms are in the WHERE)."""
    return (select(ChatItem, Group).join(Group, ChatItem.group_id == Group.id).where(
        ChatItem.direction == Direction.SND, ChatItem.status == ItemStatus.PENDING,
        ChatItem.kind == ItemKind.MSG, ChatItem.deleted.is_(False),
        Group.status == GroupStatus.CONNECTED,
        ~exists().where(GroupDelivery.item_id == ChatItem.id))
        .order_by(ChatItem.id))


async def resend_unsent_group_items(ctx: ChatContext) -> int:
    """Send every committed, never-sent group message to the members connected now; how
    many messages."""
    async with ctx.db.session() as s:
        rows = (await s.execute(unsent_group_query())).all()
    deliveries = deliveries_of(ctx)
    sent_count = 0
    for item, group in rows:
        quote = None
        if item.quote_msg_id is not None:
            quote = Quote(item.quote_msg_id, MsgContent(item.quote_text or ""),
                          sent=bool(item.quote_sent), member_id=item.quote_member_id)
        message = ChatMessage(item.shared_msg_id, MsgNew(MsgContent(item.text), quote))
        async with ctx.db.session() as s:  # not to members who came after it was written
            members = [m for m in await gq.connected_members(s, group.id)
                       if m.created_at <= item.created_at]
        if not members:
            continue  # nobody to send to yet (members not connected get the pending copy)
        deliveries.begin()
        sent: dict[str, int] = {}
        try:
            sent = await send_to_many(ctx, [m.conn_id for m in members if m.conn_id], message)
        except Exception as exc:  # one message must not keep the others (or the start) back
            log.warning("could not send the unsent message %s to #%s: %s",
                        item.shared_msg_id, group.local_name, exc)
            continue
        finally:
            await deliveries.record(group, item.id, members, sent)
        sent_count += 1
    if sent_count:
        log.info("sent %d group message(s) left unsent when the client last stopped",
                 sent_count)
    return sent_count
