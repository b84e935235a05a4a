"""Database access of the queue server: SQLAlchemy async engine, Core statements in bulk.

One transaction per batch request: every write a batch makes is applied by `apply` in a
single commit, with ``executemany`` for rows, because per-statement overhead (not SQL)
dominates at these rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, delete, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from simplextui.server.models import Base, links, messages, queues


@dataclass(slots=True)
class QueueState:
    """A queue as the server holds it in memory; the database row plus derived counters."""

    pk: int
    recipient_id: bytes
    sender_id: bytes
    mode: str
    status: str
    recipient_mac_key: bytes
    delivery_key: bytes
    server_sender_public: bytes
    server_sender_private: bytes | None
    sender_public: bytes | None
    sender_mac_key: bytes | None
    message_count: int = 0  # stored messages (not counting a quota marker)
    can_write: bool = True  # False from a QUOTA refusal until its marker is acknowledged
    deleted: bool = False


@dataclass(slots=True)
class LinkState:
    link_id: bytes
    owner_public: bytes
    server_public: bytes
    owner_mac_key: bytes
    fixed_data: bytes
    user_data: bytes
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class StoredMessage:
    seq: int
    queue_pk: int
    msg_id: bytes
    kind: str
    flags: int
    created_at: int
    body: bytes


@dataclass(slots=True)
class WriteSet:
    """Everything one batch changes, applied in one transaction in this order."""

    new_queues: list[dict[str, Any]] = field(default_factory=list)
    secured: list[dict[str, Any]] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)
    deleted_queues: list[int] = field(default_factory=list)
    new_messages: list[dict[str, Any]] = field(default_factory=list)
    acked_seqs: list[int] = field(default_factory=list)
    new_links: list[dict[str, Any]] = field(default_factory=list)
    updated_links: list[dict[str, Any]] = field(default_factory=list)
    deleted_links: list[bytes] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.new_queues, self.secured, self.suspended, self.deleted_queues,
                    self.new_messages, self.acked_seqs, self.new_links, self.updated_links,
                    self.deleted_links))


_QUEUE_COLUMNS = (queues.c.id, queues.c.recipient_id, queues.c.sender_id, queues.c.mode,
                  queues.c.status, queues.c.recipient_mac_key, queues.c.delivery_key,
                  queues.c.server_sender_public, queues.c.server_sender_private,
                  queues.c.sender_public, queues.c.sender_mac_key)
_IN_CHUNK = 500  # SQLite bound-parameter lists stay well under the limit


def _chunks(items: Sequence[Any], n: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


class ServerStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        if url.startswith("sqlite"):
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def open(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def close(self) -> None:
        await self.engine.dispose()

    async def load_queues(self, *, recipient_ids: Sequence[bytes] = (),
                          sender_ids: Sequence[bytes] = ()) -> list[QueueState]:
        found: list[QueueState] = []
        async with self.engine.connect() as conn:
            for column, ids in ((queues.c.recipient_id, recipient_ids),
                                (queues.c.sender_id, sender_ids)):
                for chunk in _chunks(list(ids)):
                    rows = await conn.execute(select(*_QUEUE_COLUMNS).where(column.in_(chunk)))
                    found.extend(QueueState(*row) for row in rows)
            pks = [q.pk for q in found]
            counts: dict[int, int] = {}
            markers: set[int] = set()
            for chunk in _chunks(pks):
                stmt = (select(messages.c.queue_id, messages.c.kind, func.count())
                        .where(messages.c.queue_id.in_(chunk))
                        .group_by(messages.c.queue_id, messages.c.kind))
                for pk, kind, n in await conn.execute(stmt):
                    if kind == "Q":
                        markers.add(pk)
                    else:
                        counts[pk] = n
        for q in found:
            q.message_count = counts.get(q.pk, 0)
            q.can_write = q.pk not in markers
        return found

    async def load_links(self, link_ids: Sequence[bytes]) -> list[LinkState]:
        out: list[LinkState] = []
        async with self.engine.connect() as conn:
            for chunk in _chunks(list(link_ids)):
                stmt = select(links.c.link_id, links.c.owner_public, links.c.server_public,
                              links.c.owner_mac_key, links.c.fixed_data,
                              links.c.user_data).where(links.c.link_id.in_(chunk))
                out.extend(LinkState(*row) for row in await conn.execute(stmt))
        return out

    async def apply(self, w: WriteSet, now_ms: int) -> dict[bytes, int]:
        """Apply a batch's writes in one transaction; returns new queues' primary keys."""
        new_pks: dict[bytes, int] = {}
        async with self.engine.begin() as conn:
            for row in w.new_queues:
                result = await conn.execute(insert(queues).values(**row, created_at=now_ms))
                pk = result.inserted_primary_key
                assert pk is not None
                new_pks[row["recipient_id"]] = int(pk[0])
            if w.secured:
                await conn.execute(
                    update(queues).where(queues.c.id == bindparam("pk")).values(
                        sender_public=bindparam("sender_public"),
                        sender_mac_key=bindparam("sender_mac_key"),
                        server_sender_private=None),
                    w.secured)
            if w.suspended:
                await conn.execute(update(queues).where(queues.c.id.in_(w.suspended))
                                   .values(status="O"))
            if w.deleted_queues:
                await conn.execute(delete(messages).where(
                    messages.c.queue_id.in_(w.deleted_queues)))
                await conn.execute(delete(queues).where(queues.c.id.in_(w.deleted_queues)))
            if w.new_messages:
                await conn.execute(insert(messages), w.new_messages)
            if w.acked_seqs:
                for chunk in _chunks(w.acked_seqs):
                    await conn.execute(delete(messages).where(messages.c.seq.in_(chunk)))
            if w.new_links:
                await conn.execute(insert(links), [
                    {**row, "created_at": now_ms, "updated_at": now_ms} for row in w.new_links])
            if w.updated_links:
                await conn.execute(
                    update(links).where(links.c.link_id == bindparam("lid")).values(
                        user_data=bindparam("user_data"), updated_at=now_ms),
                    w.updated_links)
            if w.deleted_links:
                await conn.execute(delete(links).where(links.c.link_id.in_(w.deleted_links)))
        return new_pks

    async def first_messages(self, queue_pks: Sequence[int],
                             not_before_ms: int) -> dict[int, StoredMessage]:
        """The oldest unexpired message of each queue, in one query per chunk."""
        out: dict[int, StoredMessage] = {}
        async with self.engine.connect() as conn:
            for chunk in _chunks(list(queue_pks)):
                first = (select(func.min(messages.c.seq))
                         .where(and_(messages.c.queue_id.in_(chunk),
                                     messages.c.created_at >= not_before_ms))
                         .group_by(messages.c.queue_id))
                stmt = select(messages.c.seq, messages.c.queue_id, messages.c.msg_id,
                              messages.c.kind, messages.c.flags, messages.c.created_at,
                              messages.c.body).where(messages.c.seq.in_(first))
                for row in await conn.execute(stmt):
                    m = StoredMessage(*row)
                    out[m.queue_pk] = m
        return out

    async def expire(self, before_ms: int) -> list[tuple[int, int]]:
        """Delete messages older than ``before_ms``; returns (queue pk, seq) of each."""
        async with self.engine.begin() as conn:
            rows = await conn.execute(select(messages.c.queue_id, messages.c.seq)
                                      .where(messages.c.created_at < before_ms))
            gone = [(int(q), int(s)) for q, s in rows]
            if gone:
                await conn.execute(delete(messages).where(messages.c.created_at < before_ms))
        return gone

    async def stats(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            nq = (await conn.execute(select(func.count()).select_from(queues))).scalar_one()
            nm = (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
            nl = (await conn.execute(select(func.count()).select_from(links))).scalar_one()
        return {"queues": int(nq), "messages": int(nm), "links": int(nl)}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL with synchronous=NORMAL: a commit survives a killed process (kill -9); only an
    # OS crash or power loss can lose the last transactions.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
