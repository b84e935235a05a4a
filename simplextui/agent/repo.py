"""The agent's database queries: synchronous SQLAlchemy on a ``Connection``.

They run in units of work (:mod:`simplextui.agent.dbthread`), mostly on the event loop;
callers own the transaction, so that one change (ratchet state + inbox row + digest + event)
commits at once. Rows come back as ``Row`` objects (attribute access by column name), typed
``Any``.

The statements run for every message (marked "hot") are plain SQL through
``exec_driver_sql``: building a Core statement and its cache key cost several times what
SQLite takes to run it, and the agent's CPU went mostly there. They give every column that
has only a Python-side default in the models, and encode JSON themselves.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from simplextui.agent.events import AgentEvent, event_from_json, event_to_json
from simplextui.store.agent_models import (
    AgentAddress,
    AgentConnection,
    AgentContactRequest,
    AgentInbox,
    AgentOutbox,
    AgentPendingDeletion,
    AgentPendingEvent,
    AgentPendingJoin,
    AgentQueue,
    AgentReceivedDigest,
)
from simplextui.store.base import Base

log = logging.getLogger("simplextui.agent.repo")


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
JOIN = _t(AgentPendingJoin)
CLEANUP = _t(AgentPendingDeletion)


class ConnState:
    INVITED = "invited"  # inviter (one-time link): waiting for the joiner's confirmation
    REQUESTED = "requested"  # inviter (contact request sent): waiting for the confirmation
    CONFIRMED = "confirmed"  # inviter: confirmation processed, our INFO not yet sent
    JOINED = "joined"  # joiner: confirmation queued, waiting for the inviter's INFO
    CONNECTED = "connected"

    AWAITING_CONFIRMATION = frozenset({INVITED, REQUESTED})


class CleanupKind:
    QUEUE = "queue"  # DEL our receive queue (creds: RecipientQueue dict)
    LINK = "link"  # LDEL our link record (creds: LinkOwner dict)
    SEND = "send"  # SEND the farewell ``body`` (creds: SenderQueue dict)


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


_CONN_COLUMNS = frozenset(CONN.c.keys())


def clear_send_backoff(c: Connection, conn_id: str) -> None:
    """Hot: after a successful send. Writes only when there is a backoff to clear (almost
    never), so the common case changes no row."""
    c.exec_driver_sql(
        "UPDATE agent_connections SET retry_at = 0, send_attempts = 0, quota_paused = 0 "
        "WHERE id = ? AND (retry_at != 0 OR send_attempts != 0 OR quota_paused != 0)",
        (conn_id,))


def update_connection(c: Connection, conn_id: str, **values: Any) -> None:
    """Hot. Column names are checked against the table (they go into the SQL text)."""
    if not values:
        return
    if not values.keys() <= _CONN_COLUMNS or any(isinstance(v, dict | list)
                                                  for v in values.values()):
        c.execute(update(CONN).where(CONN.c.id == conn_id).values(**values))
        return
    sets = ", ".join(f"{name} = ?" for name in values)
    c.exec_driver_sql(f"UPDATE agent_connections SET {sets} WHERE id = ?",
                      (*values.values(), conn_id))


def delete_connection(c: Connection, conn_id: str,
                      farewell: bytes | None = None) -> list[int]:
    """Delete the connection here and record what must still happen on servers (see
    :mod:`simplextui.agent.cleanup`): deleting our receive queue and our link record, and
    sending ``farewell`` to the peer's queue if given and secured. The receive queue's
    digests go at once.

    Returns the ids of those clean-ups. Children first: this must work with or without
    SQLite foreign key enforcement."""
    row = c.execute(select(CONN.c.link_owner).where(CONN.c.id == conn_id)).first()
    jobs: list[dict[str, Any]] = []
    for q in connection_queues(c, conn_id):
        if q.role == QueueRole.RCV:
            jobs.append({"server": q.server, "kind": CleanupKind.QUEUE, "creds": q.creds})
            if q.recipient_id is not None:
                delete_digests(c, q.recipient_id)
        elif q.role == QueueRole.SND and farewell is not None and q.secured:
            jobs.append({"server": q.server, "kind": CleanupKind.SEND, "creds": q.creds,
                         "body": farewell})
    if row is not None and row.link_owner is not None:
        jobs.append({"server": _server_of(row.link_owner), "kind": CleanupKind.LINK,
                     "creds": row.link_owner})
    ids = insert_cleanups(c, jobs)
    c.execute(delete(OUTBOX).where(OUTBOX.c.conn_id == conn_id))
    c.execute(delete(INBOX).where(INBOX.c.conn_id == conn_id))
    c.execute(delete(QUEUE).where(QUEUE.c.conn_id == conn_id))
    c.execute(delete(CONN).where(CONN.c.id == conn_id))
    return ids


def connection_ids(c: Connection) -> list[str]:
    return list(c.execute(select(CONN.c.id)).scalars())


def clean_up_used_links(c: Connection) -> int:
    """Connections past the invitation stage that still own a link record (a database
    from before clean-ups were recorded at the confirmation): record its deletion."""
    rows = c.execute(select(CONN.c.id, CONN.c.link_owner).where(
        CONN.c.link_owner.is_not(None), CONN.c.state != ConnState.INVITED)).all()
    for row in rows:
        insert_cleanups(c, [link_cleanup(row.link_owner)])
        c.execute(update(CONN).where(CONN.c.id == row.id).values(link_owner=None))
    return len(rows)


def own_links(c: Connection) -> list[str]:
    """The links we made that others may still use: pending invitations, addresses."""
    invitations = c.execute(select(CONN.c.link).where(CONN.c.link.is_not(None))).scalars()
    return [*invitations, *c.execute(select(ADDRESS.c.link)).scalars()]


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


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def mark_secured(c: Connection, queue_ids: Iterable[int]) -> None:
    ids = list(queue_ids)
    if ids:
        c.exec_driver_sql(f"UPDATE agent_queues SET secured = 1 WHERE id IN ({_marks(len(ids))})",
                          tuple(ids))


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


_OUTBOX_INSERT = ("INSERT INTO agent_outbox (conn_id, queue_id, op, kind, agent_msg_id, body, "
                  "msg_hash, state, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def insert_outbox(c: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Hot."""
    if rows:
        now = time.time()
        c.exec_driver_sql(_OUTBOX_INSERT, [
            (r["conn_id"], r["queue_id"], r["op"], r["kind"], r.get("agent_msg_id"),
             r.get("body"), r.get("msg_hash"), r.get("state", "pending"), r.get("attempts", 0),
             r.get("created_at", now)) for r in rows])


def due_outbox(c: Connection, server: str, now: float, limit: int) -> list[OutboxItem]:
    """Pending rows to ``server`` of connections not waiting for a retry, in order,
    without their bodies (see :func:`outbox_bodies`)."""
    rows = c.exec_driver_sql(
        "SELECT o.id, o.conn_id, o.queue_id, o.op, o.kind, o.agent_msg_id, q.creds, "
        "o.created_at FROM agent_outbox o JOIN agent_queues q ON q.id = o.queue_id "
        "JOIN agent_connections n ON n.id = o.conn_id "
        "WHERE o.state = 'pending' AND q.server = ? AND n.retry_at <= ? "
        "ORDER BY o.id LIMIT ?", (server, now, limit)).all()
    creds: dict[str, dict[str, Any]] = {}  # one decoding per queue
    items = []
    for r in rows:
        decoded = creds.get(r[6])
        if decoded is None:
            decoded = creds[r[6]] = json.loads(r[6])
        items.append(OutboxItem(r[0], r[1], r[2], r[3], r[4], r[5], None, decoded, r[7]))
    return items


def outbox_bodies(c: Connection, ids: Sequence[int]) -> dict[int, bytes | None]:
    if not ids:
        return {}
    rows = c.exec_driver_sql(
        f"SELECT id, body FROM agent_outbox WHERE id IN ({_marks(len(ids))})", tuple(ids))
    return {r[0]: r[1] for r in rows.all()}


def next_outbox_due(c: Connection, server: str) -> float | None:
    stmt = (select(func.min(CONN.c.retry_at))
            .join(OUTBOX, OUTBOX.c.conn_id == CONN.c.id)
            .join(QUEUE, QUEUE.c.id == OUTBOX.c.queue_id)
            .where(OUTBOX.c.state == "pending", QUEUE.c.server == server))
    value = c.execute(stmt).scalar()
    return None if value is None else float(value)


def pending_count(c: Connection, conn_id: str) -> int:
    """How many outbox rows of the connection are still to be sent."""
    return int(c.execute(select(func.count()).select_from(OUTBOX).where(
        OUTBOX.c.conn_id == conn_id, OUTBOX.c.state == "pending")).scalar_one())


def closing_ids(c: Connection) -> list[str]:
    return list(c.execute(select(CONN.c.id).where(CONN.c.closing.is_(True))).scalars())


def closing_done(c: Connection, conn_ids: Iterable[str] | None = None) -> list[str]:
    """Closing connections (of ``conn_ids``, or all) with no pending outbox row left."""
    pending = select(OUTBOX.c.id).where(OUTBOX.c.conn_id == CONN.c.id,
                                        OUTBOX.c.state == "pending").exists()
    stmt = select(CONN.c.id).where(CONN.c.closing.is_(True), ~pending)
    if conn_ids is not None:
        ids = list(conn_ids)
        if not ids:
            return []
        stmt = stmt.where(CONN.c.id.in_(ids))
    return list(c.execute(stmt).scalars())


def outbox_servers(c: Connection) -> list[str]:
    stmt = (select(QUEUE.c.server).distinct()
            .join(OUTBOX, OUTBOX.c.queue_id == QUEUE.c.id)
            .where(OUTBOX.c.state == "pending"))
    return list(c.execute(stmt).scalars())


def delete_items(c: Connection, items: Sequence[OutboxItem]) -> None:
    """Delete the rows of a round (a row deleted meanwhile, e.g. by its receipt, is not
    mistaken for a newer row that got its id: ``created_at`` must match too). Hot."""
    if items:
        c.exec_driver_sql("DELETE FROM agent_outbox WHERE id = ? AND created_at = ?",
                          [(i.id, i.created_at) for i in items])


_OUTBOX_MARKS = frozenset({"state", "body"})


def mark_items(c: Connection, items: Sequence[OutboxItem], **values: Any) -> None:
    """Set ``state`` (and ``body``) of the rows of a round. Hot."""
    if items:
        if not values or not values.keys() <= _OUTBOX_MARKS:
            raise ValueError(f"mark_items sets {sorted(_OUTBOX_MARKS)}, not {sorted(values)}")
        sets = ", ".join(f"{name} = ?" for name in values)
        c.exec_driver_sql(f"UPDATE agent_outbox SET {sets} WHERE id = ? AND created_at = ?",
                          [(*values.values(), i.id, i.created_at) for i in items])


def delete_outbox(c: Connection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        c.exec_driver_sql(f"DELETE FROM agent_outbox WHERE id IN ({_marks(len(ids))})",
                          tuple(ids))


def sent_message(c: Connection, conn_id: str, agent_msg_id: int) -> Any:
    """The outbox row of a MSG we sent (id and hash), kept until its receipt. Hot."""
    return c.exec_driver_sql(
        "SELECT id, msg_hash FROM agent_outbox WHERE conn_id = ? AND agent_msg_id = ? "
        "AND kind = 'MSG'", (conn_id, agent_msg_id)).first()


# -------------------------------------------------------------------------------- inbox


def insert_inbox(c: Connection, *, conn_id: str, agent_msg_id: int, body: bytes,
                 msg_hash: bytes, broker_ts_ms: int, integrity: str,
                 receipt: bool = True) -> None:
    """Hot."""
    c.exec_driver_sql(
        "INSERT INTO agent_inbox (conn_id, agent_msg_id, body, msg_hash, broker_ts_ms, "
        "integrity, processed, receipt) VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
        (conn_id, agent_msg_id, body, msg_hash, broker_ts_ms, integrity, receipt))


def unprocessed_inbox(c: Connection) -> list[Any]:
    return list(c.execute(select(INBOX).where(INBOX.c.processed.is_(False))
                          .order_by(INBOX.c.id)).all())


def mark_processed(c: Connection, conn_id: str, agent_msg_id: int) -> int:
    """Mark a message processed: kept for its receipt (1 returned), or deleted at once when
    its sender wants none (0 returned, as for a repeat)."""
    c.exec_driver_sql(
        "DELETE FROM agent_inbox WHERE conn_id = ? AND agent_msg_id = ? AND receipt = 0",
        (conn_id, agent_msg_id))
    result = c.exec_driver_sql(
        "UPDATE agent_inbox SET processed = 1 WHERE conn_id = ? AND agent_msg_id = ? "
        "AND processed = 0", (conn_id, agent_msg_id))
    return int(result.rowcount or 0)


def processed_inbox(c: Connection, conn_id: str, limit: int) -> list[tuple[int, int, bytes]]:
    """(row id, agent message id, hash) of processed rows, for a receipt."""
    rows = c.exec_driver_sql(
        "SELECT id, agent_msg_id, msg_hash FROM agent_inbox WHERE conn_id = ? "
        "AND processed = 1 ORDER BY id LIMIT ?", (conn_id, limit))
    return [(r[0], r[1], r[2]) for r in rows.all()]


def conns_with_processed_inbox(c: Connection) -> list[str]:
    return list(c.execute(select(INBOX.c.conn_id).distinct()
                          .where(INBOX.c.processed.is_(True))).scalars())


def delete_inbox(c: Connection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        c.exec_driver_sql(f"DELETE FROM agent_inbox WHERE id IN ({_marks(len(ids))})",
                          tuple(ids))


# ------------------------------------------------------------------------------ digests


def recent_digests(c: Connection, recipient_id: bytes, limit: int) -> list[bytes]:
    """The newest ``limit`` digests of one queue, oldest first."""
    rows = c.execute(select(DIGEST.c.digest).where(DIGEST.c.recipient_id == recipient_id)
                     .order_by(DIGEST.c.id.desc()).limit(limit))
    return list(reversed(rows.scalars().all()))


def add_digest(c: Connection, recipient_id: bytes, digest: bytes) -> None:
    # Ignoring a conflict keeps a message from failing on a database whose schema still
    # has the older, global uniqueness of digests.
    c.exec_driver_sql("INSERT INTO agent_received_digests (recipient_id, digest) VALUES (?, ?) "
                      "ON CONFLICT DO NOTHING", (recipient_id, digest))


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
    """The personal address (the user's own), or None."""
    return c.execute(select(ADDRESS).where(ADDRESS.c.personal.is_(True))).first()


def address_by_id(c: Connection, address_id: str) -> Any:
    return c.execute(select(ADDRESS).where(ADDRESS.c.address_id == address_id)).first()


def addresses(c: Connection) -> list[Any]:
    return list(c.execute(select(ADDRESS).order_by(ADDRESS.c.id)).all())


def insert_address(c: Connection, **values: Any) -> None:
    c.execute(insert(ADDRESS).values(created_at=time.time(), **values))


def set_address_data(c: Connection, address_id: str, app_data: bytes | None) -> None:
    c.execute(update(ADDRESS).where(ADDRESS.c.address_id == address_id)
              .values(app_data=app_data))


def delete_address(c: Connection, queue_id: int) -> list[int]:
    """Delete the address here; its queue and link record are to be deleted on their
    servers (recorded for :mod:`simplextui.agent.cleanup`)."""
    row = c.execute(select(ADDRESS.c.link_owner).where(ADDRESS.c.queue_id == queue_id)).first()
    queue = get_queue(c, queue_id)
    jobs: list[dict[str, Any]] = []
    if queue is not None:
        jobs.append({"server": queue.server, "kind": CleanupKind.QUEUE, "creds": queue.creds})
    if row is not None:
        jobs.append({"server": _server_of(row.link_owner), "kind": CleanupKind.LINK,
                     "creds": row.link_owner})
    ids = insert_cleanups(c, jobs)
    c.execute(delete(ADDRESS).where(ADDRESS.c.queue_id == queue_id))
    c.execute(delete(QUEUE).where(QUEUE.c.id == queue_id))
    return ids


# ---------------------------------------------------------------------- event journal


def journal(c: Connection, events: Sequence[AgentEvent]) -> list[int]:
    """Record events in the caller's transaction; returns their journal ids."""
    ids = []
    for event in events:
        kind, payload = event_to_json(event)
        result = c.exec_driver_sql(
            "INSERT INTO agent_pending_events (kind, payload) VALUES (?, ?)",
            (kind, json.dumps(payload)))
        ids.append(int(result.lastrowid))
    return ids


def pending_events(c: Connection) -> list[tuple[int, AgentEvent]]:
    """The journal. A row this version cannot decode (journaled by a newer version, before
    a downgrade) is skipped and kept: it must not stop the agent from starting."""
    events = []
    for r in c.execute(select(EVENT).order_by(EVENT.c.id)).all():
        try:
            events.append((r.id, event_from_json(r.kind, r.payload)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            log.warning("skipped journaled event %d of kind %r: %r", r.id, r.kind, exc)
    return events


def delete_events(c: Connection, ids: Iterable[int]) -> None:
    ids = list(ids)
    if ids:
        c.exec_driver_sql(
            f"DELETE FROM agent_pending_events WHERE id IN ({_marks(len(ids))})", tuple(ids))


# ------------------------------------------------------------------------ pending joins


def get_join(c: Connection, server: str, sender_id: bytes) -> Any:
    return c.execute(select(JOIN).where(JOIN.c.server == server,
                                        JOIN.c.sender_id == sender_id)).first()


def insert_join(c: Connection, *, server: str, sender_id: bytes, sender: dict[str, Any],
                rcv: dict[str, Any]) -> int:
    result = c.execute(insert(JOIN).values(
        server=server, sender_id=sender_id, sender=sender, rcv=rcv,
        created_at=time.time()).returning(JOIN.c.id))
    return int(result.scalar_one())


def delete_join(c: Connection, join_id: int, *, abandon: bool = False) -> None:
    """The join committed (its queue now belongs to the connection), or, ``abandon``, it
    never will: its receive queue is then to be deleted on its server."""
    if abandon:
        row = c.execute(select(JOIN.c.rcv).where(JOIN.c.id == join_id)).first()
        if row is not None:
            insert_cleanups(c, [{"server": _server_of(row.rcv), "kind": CleanupKind.QUEUE,
                                 "creds": row.rcv}])
    c.execute(delete(JOIN).where(JOIN.c.id == join_id))


def abandon_stale_joins(c: Connection, before: float) -> int:
    """Abandon the pending joins made before ``before`` (nobody retried them)."""
    ids = list(c.execute(select(JOIN.c.id).where(JOIN.c.created_at < before)).scalars())
    for join_id in ids:
        delete_join(c, join_id, abandon=True)
    return len(ids)


# -------------------------------------------------------------------- pending clean-ups


def link_cleanup(owner: dict[str, Any]) -> dict[str, Any]:
    return {"server": _server_of(owner), "kind": CleanupKind.LINK, "creds": owner}


def _server_of(creds: Any) -> str:
    """A damaged row must not make the deletion fail: its clean-up is dropped later."""
    return str(creds.get("server", "")) if isinstance(creds, dict) else ""


def insert_cleanups(c: Connection, jobs: Sequence[dict[str, Any]]) -> list[int]:
    now = time.time()
    return [int(c.execute(insert(CLEANUP).values(
        server=str(job["server"]), kind=job["kind"], creds=job["creds"],
        body=job.get("body"), attempts=0, retry_at=0.0, created_at=now)
        .returning(CLEANUP.c.id)).scalar_one()) for job in jobs]


def cleanups(c: Connection, ids: Sequence[int]) -> list[Any]:
    return list(c.execute(select(CLEANUP).where(CLEANUP.c.id.in_(list(ids)))
                          .order_by(CLEANUP.c.id)).all())


def due_cleanups(c: Connection, now: float, limit: int) -> tuple[list[Any], float | None]:
    """Clean-ups due at ``now`` (oldest first), and when the next other one is due."""
    rows = list(c.execute(select(CLEANUP).where(CLEANUP.c.retry_at <= now)
                          .order_by(CLEANUP.c.id).limit(limit)).all())
    later = c.execute(select(func.min(CLEANUP.c.retry_at))
                      .where(CLEANUP.c.retry_at > now)).scalar()
    return rows, None if later is None else float(later)


def finish_cleanups(c: Connection, done: Iterable[int],
                    retry: Iterable[tuple[int, float]]) -> None:
    """Delete the done rows; put the others off until their retry time."""
    ids = list(done)
    if ids:
        c.execute(delete(CLEANUP).where(CLEANUP.c.id.in_(ids)))
    for cleanup_id, retry_at in retry:
        c.execute(update(CLEANUP).where(CLEANUP.c.id == cleanup_id).values(
            attempts=CLEANUP.c.attempts + 1, retry_at=retry_at))


def pending_cleanups(c: Connection) -> int:
    return int(c.execute(select(func.count()).select_from(CLEANUP)).scalar_one())
