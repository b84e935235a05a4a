"""Sending group events: to many members at once (one agent transaction), and forwarding."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from simplextui.chat.context import ChatContext
from simplextui.chat.profiles import profile_of
from simplextui.protocol.chat_events import (
    ChatEvent,
    ChatMessage,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import MemberSelf
from simplextui.store.chat_models import Group

__all__ = ["member_self_info", "send_to", "send_to_many"]

log = logging.getLogger("simplextui.chat.groups")


def member_self_info(ctx: ChatContext, group: Group) -> bytes:
    """Connection info of a member connection: this user's member id and profile."""
    event = MemberSelf(group.member_id, profile_of(ctx.user))
    return encode_chat_message(ChatMessage(new_msg_id(), event))


async def send_to(ctx: ChatContext, conn_id: str, event: ChatEvent) -> None:
    await ctx.send_event(conn_id, event)


async def send_to_many(ctx: ChatContext, conn_ids: Sequence[str], message: ChatMessage
                       ) -> dict[str, int]:
    """One message to many member connections, committed in one agent transaction; the
    agent message id on each connection."""
    if not conn_ids:
        return {}
    body = encode_chat_message(message)
    send_many = getattr(ctx.agent, "send_many", None)
    if send_many is not None:
        ids = await send_many([(conn_id, body) for conn_id in conn_ids])
        return dict(zip(conn_ids, ids, strict=True))
    return {conn_id: await ctx.agent.send(conn_id, body)  # an agent without batching
            for conn_id in conn_ids}


def wrap(event: ChatEvent, msg_id: str | None = None) -> ChatMessage:
    return ChatMessage(msg_id or new_msg_id(), event)
