"""Server tables (SQLAlchemy 2.0 typed ORM); hot paths use Core statements on them."""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class QueueRecord(Base):
    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient_id: Mapped[bytes] = mapped_column(LargeBinary(24), unique=True)
    sender_id: Mapped[bytes] = mapped_column(LargeBinary(24), unique=True)
    mode: Mapped[str] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(1), default="A")  # A active, O off (suspended)
    recipient_mac_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    delivery_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    server_sender_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The server's sender-side private key is kept only until the sender secures the queue.
    server_sender_private: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    sender_public: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    sender_mac_key: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class MessageRecord(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_queue_seq", "queue_id", "seq"),
                      Index("ix_messages_created", "created_at"))

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    msg_id: Mapped[bytes] = mapped_column(LargeBinary(24))
    kind: Mapped[str] = mapped_column(String(1))
    flags: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)  # ms since the epoch
    body: Mapped[bytes] = mapped_column(LargeBinary)


class LinkRecord(Base):
    __tablename__ = "links"

    link_id: Mapped[bytes] = mapped_column(LargeBinary(24), primary_key=True)
    owner_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    server_public: Mapped[bytes] = mapped_column(LargeBinary(32))
    owner_mac_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    fixed_data: Mapped[bytes] = mapped_column(LargeBinary)
    user_data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


queues = cast(Table, QueueRecord.__table__)
messages = cast(Table, MessageRecord.__table__)
links = cast(Table, LinkRecord.__table__)
