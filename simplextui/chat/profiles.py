"""The user's own profile: stored once per database, sent as ``x.info`` to every contact."""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    Profile,
    ProfileInfo,
    decode_chat_message,
    encode_chat_message,
    new_msg_id,
)
from simplextui.store.chat_models import ChatUser

__all__ = ["USER_ID", "create_user", "decode_storable", "info_body", "load_user", "parse_info",
           "profile_of"]

USER_ID = 1


async def load_user(session: AsyncSession) -> ChatUser | None:
    return await session.get(ChatUser, USER_ID)


async def create_user(session: AsyncSession, display_name: str) -> ChatUser:
    user = ChatUser(id=USER_ID, display_name=display_name, full_name="", bio="",
                    auto_accept=False, created_at=now_ms())
    session.add(user)
    return user


def profile_of(user: ChatUser) -> Profile:
    return Profile(user.display_name, user.full_name, user.bio)


def info_body(user: ChatUser) -> bytes:
    """The ``x.info`` chat message with the user's profile (connection info, profile updates)."""
    return encode_chat_message(ChatMessage(new_msg_id(), ProfileInfo(profile_of(user))))


def decode_storable(body: bytes) -> ChatMessage:
    """``decode_chat_message``, also refusing text the database cannot store.

    JSON may escape lone surrogates (``"\\ud800"``): such a string is not Unicode text, so
    storing it fails. Refused here, the message is skipped like any malformed one, instead of
    failing the handler again on every delivery and never being acknowledged."""
    message = decode_chat_message(body)
    try:
        json.dumps(message.event.params(), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ChatEventError(f"text that is not valid Unicode ({exc.reason})") from None
    return message


def parse_info(body: bytes) -> Profile:
    """The profile in a peer's connection info; raises ``ChatEventError`` if there is none."""
    message = decode_storable(body)
    if not isinstance(message.event, ProfileInfo):
        raise ChatEventError(f"connection info must be x.info, not {message.event_name}")
    return message.event.profile
