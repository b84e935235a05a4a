"""The agent's database queries. Each takes an open ``AsyncSession``; callers own the
transaction, so that one change (ratchet state + inbox row + digest + event) commits at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
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
    await s.execute(insert(AgentConnection).values(**values))


async def get_connection(s: AsyncSession, conn_id: str) -> AgentConnection | None:
    return await s.get(AgentConnection, conn_id)


async def update_connection(s: AsyncSession, conn_id: str, **values: Any) -> None:
    await s.execute(update(AgentConnection).where(AgentConnection.id == conn_id).values(**values))


async def delete_connection(s: AsyncSession, conn_id: str) -> None:
    """Children first: this must work with or without SQLite foreign key enforcement."""
    for model in (AgentOutbox, AgentInbox):
        await s.execute(delete(model).where(model.conn_id == conn_id))  # type: ignore[attr-defined]
    await s.execute(delete(AgentQueue).where(AgentQueue.conn_id == conn_id))
    await s.execute(delete(AgentConnection).where(AgentConnection.id == conn_id))


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
    result = await s.execute(insert(AgentQueue).values(
        conn_id=conn_id, role=role, server=server, creds=creds, recipient_id=recipient_id,
        secured=secured).returning(AgentQueue.id))
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
        await s.execute(update(AgentQueue).where(AgentQueue.id.in_(ids)).values(secured=True))


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
        now = time.time()
        await s.execute(insert(AgentOutbox), [{"created_at": now, **r} for r in rows])


async def due_outbox(s: AsyncSession, server: str, now: float,
                     limit: int) -> list[OutboxItem]:
    stmt = (select(AgentOutbox.id, AgentOutbox.conn_id, AgentOutbox.queue_id, AgentOutbox.op,
                   AgentOutbox.kind, AgentOutbox.agent_msg_id, AgentOutbox.body,
                   AgentQueue.creds)
            .join(AgentQueue, AgentQueue.id == AgentOutbox.queue_id)
            .join(AgentConnection, AgentConnection.id == AgentOutbox.conn_id)
            .where(AgentOutbox.state == "pending", AgentQueue.server == server,
                   AgentConnection.retry_at <= now)
            .order_by(AgentOutbox.id).limit(limit))
    return [OutboxItem(*row) for row in (await s.execute(stmt)).all()]


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
        await s.execute(delete(AgentOutbox).where(AgentOutbox.id.in_(ids)))


async def mark_outbox(s: AsyncSession, ids: Iterable[int], **values: Any) -> None:
    ids = list(ids)
    if ids:
        await s.execute(update(AgentOutbox).where(AgentOutbox.id.in_(ids)).values(**values))


async def sent_message(s: AsyncSession, conn_id: str, agent_msg_id: int) -> AgentOutbox | None:
    rows = await s.execute(select(AgentOutbox).where(
        AgentOutbox.conn_id == conn_id, AgentOutbox.agent_msg_id == agent_msg_id,
        AgentOutbox.kind == "MSG"))
    return rows.scalars().first()


# -------------------------------------------------------------------------------- inbox


async def insert_inbox(s: AsyncSession, **values: Any) -> None:
    await s.execute(insert(AgentInbox).values(**values))


async def unprocessed_inbox(s: AsyncSession) -> list[AgentInbox]:
    rows = await s.execute(select(AgentInbox).where(AgentInbox.processed.is_(False))
                           .order_by(AgentInbox.id))
    return list(rows.scalars())


async def mark_processed(s: AsyncSession, conn_id: str, agent_msg_id: int) -> int:
    result = await s.execute(update(AgentInbox).where(
        AgentInbox.conn_id == conn_id, AgentInbox.agent_msg_id == agent_msg_id,
        AgentInbox.processed.is_(False)).values(processed=True))
    return int(getattr(result, "rowcount", 0) or 0)


async def processed_inbox(s: AsyncSession, conn_id: str, limit: int) -> list[AgentInbox]:
    rows = await s.execute(select(AgentInbox).where(
        AgentInbox.conn_id == conn_id, AgentInbox.processed.is_(True))
        .order_by(AgentInbox.id).limit(limit))
    return list(rows.scalars())


async def conns_with_processed_inbox(s: AsyncSession) -> list[str]:
    rows = await s.execute(select(AgentInbox.conn_id).distinct()
                           .where(AgentInbox.processed.is_(True)))
    return list(rows.scalars())


async def delete_inbox(s: AsyncSession, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        await s.execute(delete(AgentInbox).where(AgentInbox.id.in_(ids)))


# ------------------------------------------------------------------------------ digests


async def digest_seen(s: AsyncSession, digest: bytes) -> bool:
    row = await s.execute(select(AgentReceivedDigest.id)
                          .where(AgentReceivedDigest.digest == digest))
    return row.first() is not None


async def add_digest(s: AsyncSession, recipient_id: bytes, digest: bytes) -> None:
    await s.execute(insert(AgentReceivedDigest).values(recipient_id=recipient_id,
                                                       digest=digest))


async def prune_digests(s: AsyncSession, recipient_id: bytes, keep: int) -> None:
    """Keep only the ``keep`` newest digests of one queue."""
    cutoff = (select(AgentReceivedDigest.id)
              .where(AgentReceivedDigest.recipient_id == recipient_id)
              .order_by(AgentReceivedDigest.id.desc()).offset(keep).limit(1)
              .scalar_subquery())
    await s.execute(delete(AgentReceivedDigest).where(
        AgentReceivedDigest.recipient_id == recipient_id, AgentReceivedDigest.id <= cutoff))


async def delete_digests(s: AsyncSession, recipient_id: bytes) -> None:
    await s.execute(delete(AgentReceivedDigest)
                    .where(AgentReceivedDigest.recipient_id == recipient_id))


# ------------------------------------------------------------------- contact requests


async def insert_request(s: AsyncSession, request_id: str, invitation: bytes,
                         info: bytes) -> None:
    await s.execute(insert(AgentContactRequest).values(
        id=request_id, invitation=invitation, info=info, created_at=time.time()))


async def get_request(s: AsyncSession, request_id: str) -> AgentContactRequest | None:
    return await s.get(AgentContactRequest, request_id)


async def delete_request(s: AsyncSession, request_id: str) -> int:
    result = await s.execute(delete(AgentContactRequest)
                             .where(AgentContactRequest.id == request_id))
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------------------ address


async def get_address(s: AsyncSession) -> AgentAddress | None:
    return (await s.execute(select(AgentAddress))).scalars().first()


async def insert_address(s: AsyncSession, **values: Any) -> None:
    await s.execute(insert(AgentAddress).values(id=1, created_at=time.time(), **values))


async def delete_address(s: AsyncSession, queue_id: int) -> None:
    await s.execute(delete(AgentAddress))
    await s.execute(delete(AgentQueue).where(AgentQueue.id == queue_id))


# ---------------------------------------------------------------------- event journal


async def journal(s: AsyncSession, events: Sequence[AgentEvent]) -> list[int]:
    """Record events in the caller's transaction; returns their journal ids."""
    ids = []
    for event in events:
        kind, payload = event_to_json(event)
        result = await s.execute(insert(AgentPendingEvent).values(kind=kind, payload=payload)
                                 .returning(AgentPendingEvent.id))
        ids.append(int(result.scalar_one()))
    return ids


async def pending_events(s: AsyncSession) -> list[tuple[int, AgentEvent]]:
    rows = await s.execute(select(AgentPendingEvent).order_by(AgentPendingEvent.id))
    return [(row.id, event_from_json(row.kind, row.payload)) for row in rows.scalars()]


async def delete_events(s: AsyncSession, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        await s.execute(delete(AgentPendingEvent).where(AgentPendingEvent.id.in_(ids)))
