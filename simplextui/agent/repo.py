"""The agent's database queries: synchronous SQLAlchemy Core on a ``Connection``.

They run on the agent's database thread (:mod:`simplextui.agent.dbthread`), where a whole
unit of work costs one thread hop; callers own the transaction, so that one change (ratchet
state + inbox row + digest + event) commits at once. Rows come back as ``Row`` objects
(attribute access by column name), typed ``Any``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from simplextui.agent.events import AgentEvent, event_from_json, event_to_json
from simplextui.store.agent_models import (
    AgentAddress,
    AgentConnection,
    AgentContactRequest,
    AgentInbox,
    AgentOutbox,
    AgentPendingEvent,
    AgentQueue,
    AgentReceivedDigest,
)
from simplextui.store.base import Base


def _t(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


CONN = _t(AgentConnection)
QUEUE = _t(AgentQueue)
OUTBOX = _t(AgentOutbox)
INBOX = _t(AgentInbox)
REQUEST = _t(AgentContactRequest)
ADDRESS = _t(AgentAddress)
DIGEST = _t(AgentReceivedDigest)
EVENT = _t(AgentPendingEvent)


class ConnState:
    INVITED = "invited"  # inviter (one-time link): waiting for the joiner's confirmation
    REQUESTED = "requested"  # inviter (contact request sent): waiting for the confirmation
    CONFIRMED = "confirmed"  # inviter: confirmation processed, our INFO not yet sent
    JOINED = "joined"  # joiner: confirmation queued, waiting for the inviter's INFO
    CONNECTED = "connected"

    AWAITING_CONFIRMATION = frozenset({INVITED, REQUESTED})


class QueueRole:
    RCV = "rcv"
    SND = "snd"
    CONTACT = "contact"
    ADDRESS = "address"


# -------------------------------------------------------------------------- connections


def insert_connection(c: Connection, **values: Any) -> None:
    values.setdefault("created_at", time.time())
    c.execute(insert(CONN).values(**values))


def get_connection(c: Connection, conn_id: str) -> Any:
    return c.execute(select(CONN).where(CONN.c.id == conn_id)).first()


def update_connection(c: Connection, conn_id: str, **values: Any) -> None:
    c.execute(update(CONN).where(CONN.c.id == conn_id).values(**values))


def delete_connection(c: Connection, conn_id: str) -> None:
    """Children first: this must work with or without SQLite foreign key enforcement."""
    c.execute(delete(OUTBOX).where(OUTBOX.c.conn_id == conn_id))
    c.execute(delete(INBOX).where(INBOX.c.conn_id == conn_id))
    c.execute(delete(QUEUE).where(QUEUE.c.conn_id == conn_id))
    c.execute(delete(CONN).where(CONN.c.id == conn_id))


def connection_ids(c: Connection) -> list[str]:
    return list(c.execute(select(CONN.c.id)).scalars())


def connections_with_links(c: Connection) -> list[Any]:
    """Connections past the invitation stage that still own a link record to delete."""
    return list(c.execute(select(CONN.c.id, CONN.c.link_owner).where(
        CONN.c.link_owner.is_not(None), CONN.c.state != ConnState.INVITED)).all())


# ------------------------------------------------------------------------------- queues


def insert_queue(c: Connection, *, conn_id: str | None, role: str, server: str,
                 creds: dict[str, Any], recipient_id: bytes | None = None,
                 secured: bool = False) -> int:
    result = c.execute(insert(QUEUE).values(
        conn_id=conn_id, role=role, server=server, creds=creds, recipient_id=recipient_id,
        secured=secured).returning(QUEUE.c.id))
    return int(result.scalar_one())


def get_queue(c: Connection, queue_id: int) -> Any:
    return c.execute(select(QUEUE).where(QUEUE.c.id == queue_id)).first()


def connection_queues(c: Connection, conn_id: str) -> list[Any]:
    return list(c.execute(select(QUEUE).where(QUEUE.c.conn_id == conn_id)).all())


def receiving_queues(c: Connection) -> list[Any]:
    return list(c.execute(select(QUEUE).where(
        QUEUE.c.role.in_((QueueRole.RCV, QueueRole.ADDRESS)))).all())


def mark_secured(c: Connection, queue_ids: Iterable[int]) -> None:
    ids = list(queue_ids)
    if ids:
        c.execute(update(QUEUE).where(QUEUE.c.id.in_(ids)).values(secured=True))


# ------------------------------------------------------------------------------- outbox


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    conn_id: str
    queue_id: int
    op: str
    kind: str
    agent_msg_id: int | None
    body: bytes | None
    creds: dict[str, Any]
    created_at: float = 0.0  # with ``id``, names the row even where SQLite reuses ids


def insert_outbox(c: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        # Core executemany takes its columns from the first row: give every row all of them.
        base = {"agent_msg_id": None, "body": None, "msg_hash": None, "state": "pending",
                "attempts": 0, "created_at": time.time()}
        c.execute(insert(OUTBOX), [{**base, **r} for r in rows])


def due_outbox(c: Connection, server: str, now: float, limit: int) -> list[OutboxItem]:
    """Pending rows to ``server`` of connections not waiting for a retry, in order,
    without their bodies (see :func:`outbox_bodies`)."""
    stmt = (select(OUTBOX.c.id, OUTBOX.c.conn_id, OUTBOX.c.queue_id, OUTBOX.c.op,
                   OUTBOX.c.kind, OUTBOX.c.agent_msg_id, QUEUE.c.creds, OUTBOX.c.created_at)
            .join(QUEUE, QUEUE.c.id == OUTBOX.c.queue_id)
            .join(CONN, CONN.c.id == OUTBOX.c.conn_id)
            .where(OUTBOX.c.state == "pending", QUEUE.c.server == server,
                   CONN.c.retry_at <= now)
            .order_by(OUTBOX.c.id).limit(limit))
    return [OutboxItem(r[0], r[1], r[2], r[3], r[4], r[5], None, r[6], r[7])
            for r in c.execute(stmt).all()]


def outbox_bodies(c: Connection, ids: Sequence[int]) -> dict[int, bytes | None]:
    if not ids:
        return {}
    rows = c.execute(select(OUTBOX.c.id, OUTBOX.c.body).where(OUTBOX.c.id.in_(ids)))
    return {r[0]: r[1] for r in rows.all()}


def next_outbox_due(c: Connection, server: str) -> float | None:
    stmt = (select(func.min(CONN.c.retry_at))
            .join(OUTBOX, OUTBOX.c.conn_id == CONN.c.id)
            .join(QUEUE, QUEUE.c.id == OUTBOX.c.queue_id)
            .where(OUTBOX.c.state == "pending", QUEUE.c.server == server))
    value = c.execute(stmt).scalar()
    return None if value is None else float(value)


def outbox_servers(c: Connection) -> list[str]:
    stmt = (select(QUEUE.c.server).distinct()
            .join(OUTBOX, OUTBOX.c.queue_id == QUEUE.c.id)
            .where(OUTBOX.c.state == "pending"))
    return list(c.execute(stmt).scalars())


def _items(items: Sequence[OutboxItem]) -> Any:
    return tuple_(OUTBOX.c.id, OUTBOX.c.created_at).in_(
        [(i.id, i.created_at) for i in items])


def delete_items(c: Connection, items: Sequence[OutboxItem]) -> None:
    """Delete the rows of a round (a row deleted meanwhile, e.g. by its receipt, is not
    mistaken for a newer row that got its id)."""
    if items:
        c.execute(delete(OUTBOX).where(_items(items)))


def mark_items(c: Connection, items: Sequence[OutboxItem], **values: Any) -> None:
    if items:
        c.execute(update(OUTBOX).where(_items(items)).values(**values))


def delete_outbox(c: Connection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        c.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(ids)))


def sent_message(c: Connection, conn_id: str, agent_msg_id: int) -> Any:
    """The outbox row of a MSG we sent (id and hash), kept until its receipt."""
    return c.execute(select(OUTBOX.c.id, OUTBOX.c.msg_hash).where(
        OUTBOX.c.conn_id == conn_id, OUTBOX.c.agent_msg_id == agent_msg_id,
        OUTBOX.c.kind == "MSG")).first()


# -------------------------------------------------------------------------------- inbox


def insert_inbox(c: Connection, **values: Any) -> None:
    c.execute(insert(INBOX).values(**values))


def unprocessed_inbox(c: Connection) -> list[Any]:
    return list(c.execute(select(INBOX).where(INBOX.c.processed.is_(False))
                          .order_by(INBOX.c.id)).all())


def mark_processed(c: Connection, conn_id: str, agent_msg_id: int) -> int:
    result = c.execute(update(INBOX).where(
        INBOX.c.conn_id == conn_id, INBOX.c.agent_msg_id == agent_msg_id,
        INBOX.c.processed.is_(False)).values(processed=True))
    return int(result.rowcount or 0)


def processed_inbox(c: Connection, conn_id: str, limit: int) -> list[tuple[int, int, bytes]]:
    """(row id, agent message id, hash) of processed rows, for a receipt."""
    rows = c.execute(select(INBOX.c.id, INBOX.c.agent_msg_id, INBOX.c.msg_hash)
                     .where(INBOX.c.conn_id == conn_id, INBOX.c.processed.is_(True))
                     .order_by(INBOX.c.id).limit(limit))
    return [(r[0], r[1], r[2]) for r in rows.all()]


def conns_with_processed_inbox(c: Connection) -> list[str]:
    return list(c.execute(select(INBOX.c.conn_id).distinct()
                          .where(INBOX.c.processed.is_(True))).scalars())


def delete_inbox(c: Connection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        c.execute(delete(INBOX).where(INBOX.c.id.in_(ids)))


# ------------------------------------------------------------------------------ digests


def recent_digests(c: Connection, recipient_id: bytes, limit: int) -> list[bytes]:
    """The newest ``limit`` digests of one queue, oldest first."""
    rows = c.execute(select(DIGEST.c.digest).where(DIGEST.c.recipient_id == recipient_id)
                     .order_by(DIGEST.c.id.desc()).limit(limit))
    return list(reversed(rows.scalars().all()))


def add_digest(c: Connection, recipient_id: bytes, digest: bytes) -> None:
    # Ignoring a conflict keeps a message from failing on a database whose schema still
    # has the older, global uniqueness of digests.
    c.execute(sqlite_insert(DIGEST).values(recipient_id=recipient_id, digest=digest)
              .on_conflict_do_nothing())


def prune_digests(c: Connection, recipient_id: bytes, keep: int) -> None:
    """Keep only the ``keep`` newest digests of one queue."""
    cutoff = (select(DIGEST.c.id).where(DIGEST.c.recipient_id == recipient_id)
              .order_by(DIGEST.c.id.desc()).offset(keep).limit(1).scalar_subquery())
    c.execute(delete(DIGEST).where(DIGEST.c.recipient_id == recipient_id,
                                   DIGEST.c.id <= cutoff))


def delete_digests(c: Connection, recipient_id: bytes) -> None:
    c.execute(delete(DIGEST).where(DIGEST.c.recipient_id == recipient_id))


# ------------------------------------------------------------------- contact requests


def insert_request(c: Connection, request_id: str, invitation: bytes, info: bytes) -> None:
    c.execute(insert(REQUEST).values(id=request_id, invitation=invitation, info=info,
                                     created_at=time.time()))


def get_request(c: Connection, request_id: str) -> Any:
    return c.execute(select(REQUEST).where(REQUEST.c.id == request_id)).first()


def delete_request(c: Connection, request_id: str) -> int:
    return int(c.execute(delete(REQUEST).where(REQUEST.c.id == request_id)).rowcount or 0)


# ------------------------------------------------------------------------------ address


def get_address(c: Connection) -> Any:
    return c.execute(select(ADDRESS)).first()


def insert_address(c: Connection, **values: Any) -> None:
    c.execute(insert(ADDRESS).values(id=1, created_at=time.time(), **values))


def delete_address(c: Connection, queue_id: int) -> None:
    c.execute(delete(ADDRESS))
    c.execute(delete(QUEUE).where(QUEUE.c.id == queue_id))


# ---------------------------------------------------------------------- event journal


def journal(c: Connection, events: Sequence[AgentEvent]) -> list[int]:
    """Record events in the caller's transaction; returns their journal ids."""
    ids = []
    for event in events:
        kind, payload = event_to_json(event)
        result = c.execute(insert(EVENT).values(kind=kind, payload=payload)
                           .returning(EVENT.c.id))
        ids.append(int(result.scalar_one()))
    return ids


def pending_events(c: Connection) -> list[tuple[int, AgentEvent]]:
    rows = c.execute(select(EVENT).order_by(EVENT.c.id)).all()
    return [(r.id, event_from_json(r.kind, r.payload)) for r in rows]


def delete_events(c: Connection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        c.execute(delete(EVENT).where(EVENT.c.id.in_(ids)))
