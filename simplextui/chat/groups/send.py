"""Sending group events: to many members at once (one agent transaction), and forwarding."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from simplextui.agent.errors import ConnectionNotFound, ConnectionNotReady
from simplextui.chat.context import ChatContext, wants_receipt
from simplextui.chat.profiles import profile_of
from simplextui.protocol.chat_events import (
    ChatEvent,
    ChatMessage,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import MemberSelf
from simplextui.store.chat_models import Group, GroupMember

__all__ = ["member_self_info", "send_to_many"]

log = logging.getLogger("simplextui.chat.groups")


def member_self_info(ctx: ChatContext, group: Group, member: GroupMember | None = None
                     ) -> bytes:
    """Connection info of a member connection: this user's member id and profile, and for
    a connection with ``member``, this user's last sequence number from before it learned of
    it (``groups.sequence``)."""
    seq = member.learned_seq if member is not None else None
    event = MemberSelf(group.member_id, profile_of(ctx.user), seq_before=seq)
    return encode_chat_message(ChatMessage(new_msg_id(), event))


async def send_to_many(ctx: ChatContext, conn_ids: Sequence[str], message: ChatMessage
                       ) -> dict[str, int]:
    """One message to many member connections, committed in one agent transaction; the
    agent message id on each connection that took it. Only new messages ask for delivery
    receipts (their delivery status counts them); protocol events and forwards do not."""
    if not conn_ids:
        return {}
    body = encode_chat_message(message)
    receipt = wants_receipt(message.event)
    try:
        ids = await ctx.agent.send_many([(conn_id, body) for conn_id in conn_ids],
                                        receipt=receipt)
    except (ConnectionNotFound, ConnectionNotReady):
        # one connection went meanwhile (a leave or removal being applied): the others must
        # still get it, each in its own transaction
        sent: dict[str, int] = {}
        for conn_id in conn_ids:
            try:
                sent[conn_id] = await ctx.agent.send(conn_id, body, receipt=receipt)
            except (ConnectionNotFound, ConnectionNotReady) as exc:
                log.info("member connection %s is gone: not sent there (%s)", conn_id, exc)
        return sent
    return dict(zip(conn_ids, ids, strict=True))


def wrap(event: ChatEvent, msg_id: str | None = None) -> ChatMessage:
    return ChatMessage(msg_id or new_msg_id(), event)
