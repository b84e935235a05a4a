"""The chat layer's tables: the user's profile, contacts, contact requests, messages, reactions.

Times are integer milliseconds since the epoch (UTC). Enumerated states are short strings
(``ContactStatus`` ...), checked in Python, so that new states need no table rebuild.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from simplextui.store.base import Base

__all__ = [
    "ChatItem",
    "ChatReaction",
    "ChatUser",
    "Contact",
    "ContactRequest",
    "ContactStatus",
    "Direction",
    "ItemStatus",
]


class ContactStatus(StrEnum):
    PENDING = "pending"  # link created or joined, or request accepted; handshake not complete
    CONNECTED = "connected"
    DELETED = "deleted"  # the peer deleted the connection; history is kept


class Direction(StrEnum):
    SND = "snd"
    RCV = "rcv"


class ItemStatus(StrEnum):
    """Sent items move pending → sent → delivered → read; received items new → read."""

    PENDING = "pending"  # committed to the agent's outbox
    SENT = "sent"  # the server accepted it
    DELIVERED = "delivered"  # the peer's agent received it
    READ = "read"  # the peer read it (or, for received items, this user did)
    NEW = "new"  # received, not yet read


class ChatUser(Base):
    """The local user's profile: exactly one row (id 1) per database."""

    __tablename__ = "chat_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(128), default="")
    bio: Mapped[str] = mapped_column(String(500), default="")
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Contact(Base):
    """A peer (or a pending connection, before the handshake gives it a name)."""

    __tablename__ = "chat_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # How this user addresses the contact (@alice, @alice_1); NULL while pending without a name.
    local_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")  # the peer's own choice
    full_name: Mapped[str] = mapped_column(String(128), default="")
    bio: Mapped[str] = mapped_column(String(500), default="")
    conn_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the agent's
    status: Mapped[str] = mapped_column(String(16), default=ContactStatus.PENDING)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    via_address: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ContactRequest(Base):
    """A request that arrived at this user's contact address, waiting for /accept or /reject."""

    __tablename__ = "chat_contact_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)  # the agent's
    local_name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(128), default="")
    bio: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)


class ChatItem(Base):
    """One message in a direct chat, sent or received."""

    __tablename__ = "chat_items"
    __table_args__ = (
        UniqueConstraint("contact_id", "shared_msg_id",
                         name="uq_chat_items_contact_id_shared_msg_id"),
        # keyset paging: WHERE contact_id = ? AND id < ? ORDER BY id DESC LIMIT n
        Index("ix_chat_items_contact_id_id", "contact_id", "id"),
        # status updates from the agent, which knows its own per-connection message ids
        Index("ix_chat_items_contact_id_agent_msg_id", "contact_id", "agent_msg_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("chat_contacts.id", ondelete="CASCADE"))
    shared_msg_id: Mapped[str] = mapped_column(String(24))
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    quote_msg_id: Mapped[str | None] = mapped_column(String(24))
    quote_text: Mapped[str | None] = mapped_column(Text)
    quote_sent: Mapped[bool | None] = mapped_column(Boolean)  # quoted item was sent by this user
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    agent_msg_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)  # local time of sending or receiving
    sent_at: Mapped[int | None] = mapped_column(BigInteger)  # server time, for received items
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ChatReaction(Base):
    __tablename__ = "chat_reactions"
    __table_args__ = (
        UniqueConstraint("item_id", "sent", "reaction",
                         name="uq_chat_reactions_item_id_sent_reaction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("chat_items.id", ondelete="CASCADE"))
    sent: Mapped[bool] = mapped_column(Boolean)  # True: this user's reaction
    reaction: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)
