"""The agent's database queries. Each takes an open ``AsyncSession``; callers own the
transaction, so that one change (ratchet state + inbox row + digest + event) commits at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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
    """The Core table of a model: DML on it skips the ORM's per-statement session work
    (several times faster under aiosqlite)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


_CONN = _t(AgentConnection)
_QUEUE = _t(AgentQueue)
_OUTBOX = _t(AgentOutbox)
_INBOX = _t(AgentInbox)
_REQUEST = _t(AgentContactRequest)
_ADDRESS = _t(AgentAddress)
_DIGEST = _t(AgentReceivedDigest)
_EVENT = _t(AgentPendingEvent)


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


async def insert_connection(s: AsyncSession, **values: Any) -> None:
    values.setdefault("created_at", time.time())
    await s.execute(insert(_CONN).values(**values))


async def get_connection(s: AsyncSession, conn_id: str) -> AgentConnection | None:
    return await s.get(AgentConnection, conn_id)


async def update_connection(s: AsyncSession, conn_id: str, **values: Any) -> None:
    await s.execute(update(_CONN).where(_CONN.c.id == conn_id).values(**values))


async def delete_connection(s: AsyncSession, conn_id: str) -> None:
    """Children first: this must work with or without SQLite foreign key enforcement."""
    for model in (AgentOutbox, AgentInbox):
        await s.execute(delete(_t(model)).where(_t(model).c.conn_id == conn_id))
    await s.execute(delete(_QUEUE).where(_QUEUE.c.conn_id == conn_id))
    await s.execute(delete(_CONN).where(_CONN.c.id == conn_id))


async def connection_ids(s: AsyncSession) -> list[str]:
    return list((await s.execute(select(AgentConnection.id))).scalars())


async def connections_with_links(s: AsyncSession) -> list[AgentConnection]:
    """Connections past the invitation stage that still own a link record to delete."""
    rows = await s.execute(select(AgentConnection).where(
        AgentConnection.link_owner.is_not(None),
        AgentConnection.state != ConnState.INVITED))
    return list(rows.scalars())


# ------------------------------------------------------------------------------- queues


async def insert_queue(s: AsyncSession, *, conn_id: str | None, role: str, server: str,
                       creds: dict[str, Any], recipient_id: bytes | None = None,
                       secured: bool = False) -> int:
    result = await s.execute(insert(_QUEUE).values(
        conn_id=conn_id, role=role, server=server, creds=creds, recipient_id=recipient_id,
        secured=secured).returning(_QUEUE.c.id))
    return int(result.scalar_one())


async def get_queue(s: AsyncSession, queue_id: int) -> AgentQueue | None:
    return await s.get(AgentQueue, queue_id)


async def connection_queues(s: AsyncSession, conn_id: str) -> list[AgentQueue]:
    rows = await s.execute(select(AgentQueue).where(AgentQueue.conn_id == conn_id))
    return list(rows.scalars())


async def receiving_queues(s: AsyncSession) -> list[AgentQueue]:
    rows = await s.execute(select(AgentQueue).where(
        AgentQueue.role.in_((QueueRole.RCV, QueueRole.ADDRESS))))
    return list(rows.scalars())


async def mark_secured(s: AsyncSession, queue_ids: Iterable[int]) -> None:
    ids = list(queue_ids)
    if ids:
        await s.execute(update(_QUEUE).where(_QUEUE.c.id.in_(ids)).values(secured=True))


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


async def insert_outbox(s: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        # Core executemany takes its columns from the first row: give every row all of them.
        base = {"agent_msg_id": None, "body": None, "msg_hash": None, "state": "pending",
                "attempts": 0, "created_at": time.time()}
        await s.execute(insert(_OUTBOX), [{**base, **r} for r in rows])


async def due_outbox(s: AsyncSession, server: str, now: float,
                     limit: int) -> list[OutboxItem]:
    """Pending rows to ``server`` of connections not waiting for a retry, in order,
    without their bodies (see :func:`outbox_bodies`)."""
    stmt = (select(AgentOutbox.id, AgentOutbox.conn_id, AgentOutbox.queue_id, AgentOutbox.op,
                   AgentOutbox.kind, AgentOutbox.agent_msg_id, AgentQueue.creds)
            .join(AgentQueue, AgentQueue.id == AgentOutbox.queue_id)
            .join(AgentConnection, AgentConnection.id == AgentOutbox.conn_id)
            .where(AgentOutbox.state == "pending", AgentQueue.server == server,
                   AgentConnection.retry_at <= now)
            .order_by(AgentOutbox.id).limit(limit))
    return [OutboxItem(row[0], row[1], row[2], row[3], row[4], row[5], None, row[6])
            for row in (await s.execute(stmt)).all()]


async def outbox_bodies(s: AsyncSession, ids: Sequence[int]) -> dict[int, bytes | None]:
    rows = await s.execute(select(AgentOutbox.id, AgentOutbox.body)
                           .where(AgentOutbox.id.in_(ids)))
    return {row[0]: row[1] for row in rows.all()}


async def next_outbox_due(s: AsyncSession, server: str) -> float | None:
    stmt = (select(func.min(AgentConnection.retry_at))
            .join(AgentOutbox, AgentOutbox.conn_id == AgentConnection.id)
            .join(AgentQueue, AgentQueue.id == AgentOutbox.queue_id)
            .where(AgentOutbox.state == "pending", AgentQueue.server == server))
    value = (await s.execute(stmt)).scalar()
    return None if value is None else float(value)


async def outbox_servers(s: AsyncSession) -> list[str]:
    stmt = (select(AgentQueue.server).distinct()
            .join(AgentOutbox, AgentOutbox.queue_id == AgentQueue.id)
            .where(AgentOutbox.state == "pending"))
    return list((await s.execute(stmt)).scalars())


async def delete_outbox(s: AsyncSession, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        await s.execute(delete(_OUTBOX).where(_OUTBOX.c.id.in_(ids)))


async def mark_outbox(s: AsyncSession, ids: Iterable[int], **values: Any) -> None:
    ids = list(ids)
    if ids:
        await s.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(ids)).values(**values))


async def sent_message(s: AsyncSession, conn_id: str, agent_msg_id: int) -> AgentOutbox | None:
    rows = await s.execute(select(AgentOutbox).where(
        AgentOutbox.conn_id == conn_id, AgentOutbox.agent_msg_id == agent_msg_id,
        AgentOutbox.kind == "MSG"))
    return rows.scalars().first()


# -------------------------------------------------------------------------------- inbox


async def insert_inbox(s: AsyncSession, **values: Any) -> None:
    await s.execute(insert(_INBOX).values(**values))


async def unprocessed_inbox(s: AsyncSession) -> list[AgentInbox]:
    rows = await s.execute(select(AgentInbox).where(AgentInbox.processed.is_(False))
                           .order_by(AgentInbox.id))
    return list(rows.scalars())


async def mark_processed(s: AsyncSession, conn_id: str, agent_msg_id: int) -> int:
    result = await s.execute(update(_INBOX).where(
        _INBOX.c.conn_id == conn_id, _INBOX.c.agent_msg_id == agent_msg_id,
        _INBOX.c.processed.is_(False)).values(processed=True))
    return int(getattr(result, "rowcount", 0) or 0)


async def processed_inbox(s: AsyncSession, conn_id: str,
                          limit: int) -> list[tuple[int, int, bytes]]:
    """(row id, agent message id, hash) of processed rows, for a receipt."""
    rows = await s.execute(select(AgentInbox.id, AgentInbox.agent_msg_id, AgentInbox.msg_hash)
                           .where(AgentInbox.conn_id == conn_id, AgentInbox.processed.is_(True))
                           .order_by(AgentInbox.id).limit(limit))
    return [(row[0], row[1], row[2]) for row in rows.all()]


async def conns_with_processed_inbox(s: AsyncSession) -> list[str]:
    rows = await s.execute(select(AgentInbox.conn_id).distinct()
                           .where(AgentInbox.processed.is_(True)))
    return list(rows.scalars())


async def delete_inbox(s: AsyncSession, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        await s.execute(delete(_INBOX).where(_INBOX.c.id.in_(ids)))


# ------------------------------------------------------------------------------ digests


async def digest_seen(s: AsyncSession, digest: bytes) -> bool:
    row = await s.execute(select(AgentReceivedDigest.id)
                          .where(AgentReceivedDigest.digest == digest))
    return row.first() is not None


async def add_digest(s: AsyncSession, recipient_id: bytes, digest: bytes) -> None:
    await s.execute(insert(_DIGEST).values(recipient_id=recipient_id,
                                                       digest=digest))


async def prune_digests(s: AsyncSession, recipient_id: bytes, keep: int) -> None:
    """Keep only the ``keep`` newest digests of one queue."""
    cutoff = (select(_DIGEST.c.id)
              .where(_DIGEST.c.recipient_id == recipient_id)
              .order_by(_DIGEST.c.id.desc()).offset(keep).limit(1)
              .scalar_subquery())
    await s.execute(delete(_DIGEST).where(
        _DIGEST.c.recipient_id == recipient_id, _DIGEST.c.id <= cutoff))


async def delete_digests(s: AsyncSession, recipient_id: bytes) -> None:
    await s.execute(delete(_DIGEST)
                    .where(_DIGEST.c.recipient_id == recipient_id))


# ------------------------------------------------------------------- contact requests


async def insert_request(s: AsyncSession, request_id: str, invitation: bytes,
                         info: bytes) -> None:
    await s.execute(insert(_REQUEST).values(
        id=request_id, invitation=invitation, info=info, created_at=time.time()))


async def get_request(s: AsyncSession, request_id: str) -> AgentContactRequest | None:
    return await s.get(AgentContactRequest, request_id)


async def delete_request(s: AsyncSession, request_id: str) -> int:
    result = await s.execute(delete(_REQUEST)
                             .where(_REQUEST.c.id == request_id))
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------------------ address


async def get_address(s: AsyncSession) -> AgentAddress | None:
    return (await s.execute(select(AgentAddress))).scalars().first()


async def insert_address(s: AsyncSession, **values: Any) -> None:
    await s.execute(insert(_ADDRESS).values(id=1, created_at=time.time(), **values))


async def delete_address(s: AsyncSession, queue_id: int) -> None:
    await s.execute(delete(_ADDRESS))
    await s.execute(delete(_QUEUE).where(_QUEUE.c.id == queue_id))


# ---------------------------------------------------------------------- event journal


async def journal(s: AsyncSession, events: Sequence[AgentEvent]) -> list[int]:
    """Record events in the caller's transaction; returns their journal ids."""
    ids = []
    for event in events:
        kind, payload = event_to_json(event)
        result = await s.execute(insert(_EVENT).values(kind=kind, payload=payload)
                                 .returning(_EVENT.c.id))
        ids.append(int(result.scalar_one()))
    return ids


async def pending_events(s: AsyncSession) -> list[tuple[int, AgentEvent]]:
    rows = await s.execute(select(AgentPendingEvent).order_by(AgentPendingEvent.id))
    return [(row.id, event_from_json(row.kind, row.payload)) for row in rows.scalars()]


async def delete_events(s: AsyncSession, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        await s.execute(delete(_EVENT).where(_EVENT.c.id.in_(ids)))
