"""The agent's tables (layer 5 state), on the shared declarative ``Base``.

Everything the agent needs to resume after a crash lives here: connections with their
ratchet state and message-integrity counters, queue credentials, the outbox of encrypted
messages not yet accepted by a server, the inbox of received messages not yet processed by
the chat layer, contact requests, contact addresses, digests of recently received queue
messages (to drop redeliveries before decryption) and a journal of events not yet delivered.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from simplextui.store.base import Base


class AgentConnection(Base):
    """One duplex connection. ``state``: see :class:`simplextui.agent.repo.ConnState`."""

    __tablename__ = "agent_connections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # inviter | joiner
    state: Mapped[str] = mapped_column(String(16))
    pq: Mapped[bool]
    my_info: Mapped[bytes | None] = mapped_column(LargeBinary)  # until our INFO is sent
    peer_info: Mapped[bytes | None] = mapped_column(LargeBinary)
    inviter_keys: Mapped[bytes | None] = mapped_column(LargeBinary)  # until the confirmation
    ratchet: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_sent_id: Mapped[int] = mapped_column(default=0)
    last_sent_hash: Mapped[bytes] = mapped_column(LargeBinary)
    last_rcvd_id: Mapped[int] = mapped_column(default=0)
    last_rcvd_hash: Mapped[bytes] = mapped_column(LargeBinary)
    link: Mapped[str | None] = mapped_column(String(1024))  # our invitation link, to show
    link_owner: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # to delete its record
    # The outbox sends this connection's messages in order; after a failure it waits until
    # retry_at (backoff; or a slow retry while the peer's queue is full, until QCONT).
    retry_at: Mapped[float] = mapped_column(default=0.0)
    send_attempts: Mapped[int] = mapped_column(default=0)
    quota_paused: Mapped[bool] = mapped_column(default=False)
    # Delete the connection once no pending outbox row of it is left (deferred deletion).
    closing: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[float]


class AgentQueue(Base):
    """Credentials of one queue: ``role`` rcv (ours, we receive), snd (the peer's, we send),
    contact (someone's address we sent a request to), address (our address's queue)."""

    __tablename__ = "agent_queues"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conn_id: Mapped[str | None] = mapped_column(
        ForeignKey("agent_connections.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    server: Mapped[str] = mapped_column(String(400))
    recipient_id: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    creds: Mapped[dict[str, Any]] = mapped_column(JSON)  # RecipientQueue / SenderQueue dict
    secured: Mapped[bool] = mapped_column(default=False)

    __table_args__ = ({"sqlite_autoincrement": True},)  # ids are never reused


class AgentOutbox(Base):
    """A command to run for a connection, in ``id`` order: SKEY a queue, or SEND a body.

    A sent MSG keeps its row (without the body) until the peer's receipt arrives.
    """

    __tablename__ = "agent_outbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conn_id: Mapped[str] = mapped_column(ForeignKey("agent_connections.id", ondelete="CASCADE"))
    queue_id: Mapped[int] = mapped_column(ForeignKey("agent_queues.id", ondelete="CASCADE"))
    op: Mapped[str] = mapped_column(String(8))  # skey | send
    kind: Mapped[str] = mapped_column(String(8))  # CONF REQ INFO MSG RCVD QCONT DEL
    agent_msg_id: Mapped[int | None]
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    msg_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending sent failed
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[float]

    __table_args__ = (
        Index("ix_agent_outbox_state_id", "state", "id"),
        Index("ix_agent_outbox_conn_msg", "conn_id", "agent_msg_id"),
        {"sqlite_autoincrement": True},  # a round in flight names rows by id
    )


class AgentInbox(Base):
    """A received MSG committed before its server ack, kept until the chat layer has
    processed it (``message_processed``) and its receipt is queued."""

    __tablename__ = "agent_inbox"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conn_id: Mapped[str] = mapped_column(ForeignKey("agent_connections.id", ondelete="CASCADE"))
    agent_msg_id: Mapped[int]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    msg_hash: Mapped[bytes] = mapped_column(LargeBinary)
    broker_ts_ms: Mapped[int]
    integrity: Mapped[str] = mapped_column(String(64))  # ok | skipped:A:B | bad_hash | bad_id
    processed: Mapped[bool] = mapped_column(default=False)
    # False: its sender wants no delivery receipt (kind N): deleted once processed
    receipt: Mapped[bool] = mapped_column(default=True, server_default="1")

    __table_args__ = (
        Index("ix_agent_inbox_conn_msg", "conn_id", "agent_msg_id"),
        Index("ix_agent_inbox_processed", "processed", "id"),
        {"sqlite_autoincrement": True},
    )


class AgentContactRequest(Base):
    """A contact request received at our address, waiting to be accepted or rejected."""

    __tablename__ = "agent_contact_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    invitation: Mapped[bytes] = mapped_column(LargeBinary)  # encoded InvitationData
    info: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float]


class AgentAddress(Base):
    """A contact address: its contact-mode queue, request keys and link record. At most one
    is ``personal`` (the user's own, ``create_address``); others are the chat layer's (e.g.
    one per group link, kind ``g``, with ``app_data`` in the record)."""

    __tablename__ = "agent_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[str] = mapped_column(String(32))  # what the agent API names it by
    kind: Mapped[str] = mapped_column(String(1), server_default="a")  # link kind
    personal: Mapped[bool] = mapped_column(default=False, server_default=false())
    app_data: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed in the user data
    link: Mapped[str] = mapped_column(String(1024))
    queue_id: Mapped[int] = mapped_column(ForeignKey("agent_queues.id", ondelete="CASCADE"))
    link_owner: Mapped[dict[str, Any]] = mapped_column(JSON)
    keys: Mapped[bytes] = mapped_column(LargeBinary)  # AddressKeys.to_bytes()
    created_at: Mapped[float]

    __table_args__ = (UniqueConstraint("address_id", name="uq_agent_address_address_id"),)


class AgentReceivedDigest(Base):
    """SHA-256 of recently received queue message bodies, per receiving queue.

    A message redelivered by the server (we crashed before the ack) or sent twice by the
    peer's outbox (it crashed before recording the server's OK) has the same bytes: it is
    recognised here and dropped before the ratchet sees it.
    """

    __tablename__ = "agent_received_digests"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    recipient_id: Mapped[bytes] = mapped_column(LargeBinary)
    digest: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        UniqueConstraint("recipient_id", "digest", name="uq_agent_received_digests_queue"),
        {"sqlite_autoincrement": True},
    )


class AgentPendingEvent(Base):
    """An agent event committed with the change it reports, deleted once delivered, so
    that events survive a crash (at-least-once; MessageReceived uses the inbox instead)."""

    __tablename__ = "agent_pending_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = ({"sqlite_autoincrement": True},)


class AgentPendingJoin(Base):
    """A join whose SKEY has not been confirmed yet: the sender key sent with it (kept so
    that a retry sends the same key, which the server accepts again) and the receive queue
    made for the connection. Deleted when the join commits or the invitation is refused."""

    __tablename__ = "agent_pending_joins"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    server: Mapped[str] = mapped_column(String(400))  # the invitation's queue
    sender_id: Mapped[bytes] = mapped_column(LargeBinary)
    sender: Mapped[dict[str, Any]] = mapped_column(JSON)  # SenderQueue dict, key pair included
    rcv: Mapped[dict[str, Any]] = mapped_column(JSON)  # RecipientQueue dict: our reply queue
    created_at: Mapped[float]

    __table_args__ = (
        UniqueConstraint("server", "sender_id", name="uq_agent_pending_joins_queue"),
        {"sqlite_autoincrement": True},
    )


class AgentPendingDeletion(Base):
    """Server-side clean-up of something deleted here, retried until its server answers:
    ``kind`` queue (DEL of our receive queue), link (LDEL of our link record) or send (the
    farewell DEL message to the peer's queue, ``body``). ``creds`` as the transport dicts."""

    __tablename__ = "agent_pending_deletions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    server: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(8))
    creds: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(default=0)
    retry_at: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[float]

    __table_args__ = ({"sqlite_autoincrement": True},)
