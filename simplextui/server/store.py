"""Database access of the queue server: SQLAlchemy Core statements in bulk, on a DB thread.

One transaction per batch request: every write a batch makes is applied by `apply` in a
single commit, with ``executemany`` for rows, because per-statement overhead (not SQL)
dominates at these rates. Each unit of work runs whole on one dedicated thread with a
synchronous engine: one hop off the event loop per batch instead of one per statement
(an async driver such as aiosqlite hops for every execute, fetch and commit).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    make_url,
    select,
    update,
)

from simplextui.crypto.queue_auth import KeyPair, MacKey
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
    pending: deque[StoredMessage] | None = None  # see server/pending.py; None: unknown
    server_sender_pair: KeyPair | None = None  # of a new queue: saves reloading the key
    recipient_mac: MacKey | None = None  # the MAC keys ready for use (set when cached)
    sender_mac: MacKey | None = None


@dataclass(slots=True)
class LinkState:
    link_id: bytes
    owner_public: bytes
    server_public: bytes
    owner_mac_key: bytes
    fixed_data: bytes
    user_data: bytes
    deleted: bool = False


class StoredMessage(NamedTuple):
    """A row of ``messages``, fields in column order (a tuple: rows are inserted as is).

    ``body`` is None only in the pending-message cache, for a body it does not keep.
    """

    seq: int
    queue_pk: int
    msg_id: bytes
    kind: str
    flags: int
    created_at: int
    body: bytes | None


@dataclass(slots=True)
class WriteSet:
    """Everything one batch changes, applied in one transaction in this order."""

    new_queues: list[dict[str, Any]] = field(default_factory=list)
    secured: list[dict[str, Any]] = field(default_factory=list)
    suspended: list[int] = field(default_factory=list)
    deleted_queues: list[int] = field(default_factory=list)
    new_messages: list[StoredMessage] = field(default_factory=list)
    acked_seqs: list[int] = field(default_factory=list)
    new_links: list[dict[str, Any]] = field(default_factory=list)
    updated_links: list[dict[str, Any]] = field(default_factory=list)
    deleted_links: list[bytes] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.new_queues, self.secured, self.suspended, self.deleted_queues,
                    self.new_messages, self.acked_seqs, self.new_links, self.updated_links,
                    self.deleted_links))


@dataclass(slots=True)
class PendingReads:
    """What delivering needs read after a batch's writes (see server/pending.py)."""

    queues: Sequence[int] = ()  # read these queues' messages, to rebuild their lists
    bodies: Sequence[int] = ()  # read these messages' bodies (seqs)
    not_before_ms: int = 0  # older messages are expired (not delivered)


@dataclass(slots=True)
class PendingRows:
    lists: dict[int, list[StoredMessage]] = field(default_factory=dict)  # queue pk -> rows
    bodies: dict[int, bytes] = field(default_factory=dict)  # seq -> body


_QUEUE_COLUMNS = (queues.c.id, queues.c.recipient_id, queues.c.sender_id, queues.c.mode,
                  queues.c.status, queues.c.recipient_mac_key, queues.c.delivery_key,
                  queues.c.server_sender_public, queues.c.server_sender_private,
                  queues.c.sender_public, queues.c.sender_mac_key)
# The columns of ``messages`` in StoredMessage's field order.
_MESSAGE_COLUMNS = ("seq", "queue_id", "msg_id", "kind", "flags", "created_at", "body")
T = TypeVar("T")
_IN_CHUNK = 500  # SQLite bound-parameter lists stay well under the limit


def _chunks(items: Sequence[Any], n: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def sync_url(url: str) -> str:
    """Accept async driver URLs too (``sqlite+aiosqlite``, ``postgresql+asyncpg``)."""
    parsed = make_url(url)
    driver = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}
    name = driver.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=name).render_as_string(hide_password=False)


class ServerStore:
    def __init__(self, url: str) -> None:
        self.url = sync_url(url)
        self.engine: Engine = create_engine(self.url)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="server-db")
        self._hot = _HotStatements.compile(self.engine)

    async def _run(self, fn: Callable[[Connection], T], *, write: bool) -> T:
        def unit_of_work() -> T:
            if write:
                with self.engine.begin() as conn:
                    return fn(conn)
            with self.engine.connect() as conn:
                return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(self._thread, unit_of_work)

    async def open(self) -> None:
        await self._run(Base.metadata.create_all, write=True)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self.engine.dispose)
        self._thread.shutdown(wait=True)

    async def max_ids(self) -> tuple[int, int]:
        """The largest message seq and queue id in use (the next ones are assigned above)."""
        def read(conn: Connection) -> tuple[int, int]:
            seq = conn.execute(select(func.max(messages.c.seq))).scalar()
            pk = conn.execute(select(func.max(queues.c.id))).scalar()
            return int(seq or 0), int(pk or 0)

        return await self._run(read, write=False)

    async def recipient_ids(self, pks: Sequence[int]) -> list[bytes]:
        def read(conn: Connection) -> list[bytes]:
            rows = conn.execute(select(queues.c.recipient_id).where(queues.c.id.in_(pks)))
            return [r[0] for r in rows]

        return await self._run(read, write=False)

    async def load_queues(self, *, recipient_ids: Sequence[bytes] = (),
                          sender_ids: Sequence[bytes] = ()) -> list[QueueState]:
        def read(conn: Connection) -> list[QueueState]:
            found: list[QueueState] = []
            for column, ids in ((queues.c.recipient_id, recipient_ids),
                                (queues.c.sender_id, sender_ids)):
                for chunk in _chunks(list(ids)):
                    rows = conn.execute(select(*_QUEUE_COLUMNS).where(column.in_(chunk)))
                    found.extend(QueueState(*row) for row in rows)
            counts: dict[int, int] = {}
            markers: set[int] = set()
            for chunk in _chunks([q.pk for q in found]):
                stmt = (select(messages.c.queue_id, messages.c.kind, func.count())
                        .where(messages.c.queue_id.in_(chunk))
                        .group_by(messages.c.queue_id, messages.c.kind))
                for pk, kind, n in conn.execute(stmt):
                    if kind == "Q":
                        markers.add(pk)
                    else:
                        counts[pk] = n
            for q in found:
                q.message_count = counts.get(q.pk, 0)
                q.can_write = q.pk not in markers
                if q.message_count == 0 and q.can_write:
                    q.pending = deque()  # no messages at all: the pending list is complete
            return found

        return await self._run(read, write=False)

    async def load_links(self, link_ids: Sequence[bytes]) -> list[LinkState]:
        def read(conn: Connection) -> list[LinkState]:
            out: list[LinkState] = []
            for chunk in _chunks(list(link_ids)):
                stmt = select(links.c.link_id, links.c.owner_public, links.c.server_public,
                              links.c.owner_mac_key, links.c.fixed_data,
                              links.c.user_data).where(links.c.link_id.in_(chunk))
                out.extend(LinkState(*row) for row in conn.execute(stmt))
            return out

        return await self._run(read, write=False)

    async def apply(self, w: WriteSet, now_ms: int,
                    reads: PendingReads | None = None) -> PendingRows:
        """Apply a batch's writes in one transaction, then read in the same transaction what
        delivering the next messages needs (one round trip fewer)."""
        hot = self._hot
        return await self._run(lambda conn: _apply(conn, w, now_ms, reads, hot), write=True)

    async def read_pending(self, reads: PendingReads) -> PendingRows:
        return await self._run(lambda conn: _read_pending(conn, reads), write=False)

    async def expire(self, before_ms: int) -> list[tuple[int, int]]:
        """Delete messages older than ``before_ms``; returns (queue pk, seq) of each."""
        def run(conn: Connection) -> list[tuple[int, int]]:
            rows = conn.execute(select(messages.c.queue_id, messages.c.seq)
                                .where(messages.c.created_at < before_ms))
            gone = [(int(q), int(s)) for q, s in rows]
            if gone:
                conn.execute(delete(messages).where(messages.c.created_at < before_ms))
            return gone

        return await self._run(run, write=True)

    async def stats(self) -> dict[str, int]:
        def read(conn: Connection) -> dict[str, int]:
            return {name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
                    for name, table in (("queues", queues), ("messages", messages),
                                        ("links", links))}

        return await self._run(read, write=False)


def _apply(conn: Connection, w: WriteSet, now_ms: int, reads: PendingReads | None,
           hot: _HotStatements) -> PendingRows:
    if w.new_queues:
        conn.execute(insert(queues), [{**row, "created_at": now_ms} for row in w.new_queues])
    if w.secured:
        conn.execute(
            update(queues).where(queues.c.id == bindparam("pk")).values(
                sender_public=bindparam("sender_public"),
                sender_mac_key=bindparam("sender_mac_key"), server_sender_private=None),
            w.secured)
    if w.suspended:
        conn.execute(update(queues).where(queues.c.id.in_(w.suspended)).values(status="O"))
    if w.deleted_queues:
        conn.execute(delete(messages).where(messages.c.queue_id.in_(w.deleted_queues)))
        conn.execute(delete(queues).where(queues.c.id.in_(w.deleted_queues)))
    if w.new_messages:
        hot.insert_messages.run(conn, w.new_messages)
    if w.acked_seqs:
        hot.delete_messages.run(conn, [(seq,) for seq in w.acked_seqs])
    if w.new_links:
        conn.execute(insert(links), [{**row, "created_at": now_ms, "updated_at": now_ms}
                                     for row in w.new_links])
    if w.updated_links:
        conn.execute(
            update(links).where(links.c.link_id == bindparam("lid")).values(
                user_data=bindparam("user_data"), updated_at=now_ms),
            w.updated_links)
    if w.deleted_links:
        conn.execute(delete(links).where(links.c.link_id.in_(w.deleted_links)))
    if reads is not None:
        return _read_pending(conn, reads)
    return PendingRows()


def _read_pending(conn: Connection, reads: PendingReads) -> PendingRows:
    """Every message of the queues in ``reads.queues``, without bodies but for the next one
    to deliver, and the bodies of ``reads.bodies``."""
    out = PendingRows()
    body_seqs = list(reads.bodies)
    if reads.queues:
        for chunk in _chunks(list(reads.queues)):
            stmt = (select(messages.c.seq, messages.c.queue_id, messages.c.msg_id,
                           messages.c.kind, messages.c.flags, messages.c.created_at)
                    .where(messages.c.queue_id.in_(chunk))
                    .order_by(messages.c.queue_id, messages.c.seq))
            for row in conn.execute(stmt):
                out.lists.setdefault(row[1], []).append(StoredMessage(*row, None))
        for pk in reads.queues:
            rows = out.lists.setdefault(pk, [])
            first = next((m for m in rows if m.created_at >= reads.not_before_ms), None)
            if first is not None:
                body_seqs.append(first.seq)
    for chunk in _chunks(body_seqs):
        stmt = select(messages.c.seq, messages.c.body).where(messages.c.seq.in_(chunk))
        out.bodies.update((int(row[0]), bytes(row[1])) for row in conn.execute(stmt))
    return out


class _RowsStatement:
    """A statement over many rows run as few statements as possible, straight on the DBAPI
    cursor with plain tuples: a multi-row INSERT or an ``IN`` list per chunk of 64, 32, ...
    1 rows (seven SQL texts, all prepared once).

    Why not ``executemany``: SQLAlchemy's processes every row (a dict, bind processors) at
    about the cost of SQLite's own work, and sqlite3's releases and retakes the GIL around
    every row, which with the event loop busy in the other thread meant a wait and a thread
    switch per row. The SQL is still compiled by SQLAlchemy, for the engine's dialect.
    """

    SIZES = (64, 32, 16, 8, 4, 2, 1)

    def __init__(self, engine: Engine, build: Callable[[int], Any], width: int) -> None:
        self.width = width  # values per row
        self.sql: dict[int, str] = {}
        self.positional = True
        for n in self.SIZES:
            compiled = build(n).compile(dialect=engine.dialect)
            self.sql[n] = str(compiled)
            expected = tuple(f"p{i}_{j}" for i in range(n) for j in range(width))
            if not compiled.positional or tuple(compiled.positiontup or ()) != expected:
                self.positional = False  # rows could not be passed flat, in order
        self._build = build

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not self.positional:  # a named paramstyle: let SQLAlchemy bind (rare dialects)
            for i in range(0, len(rows), 64):
                chunk = rows[i : i + 64]
                conn.execute(self._build(len(chunk)), _named(chunk, self.width))
            return
        cursor = conn.connection.cursor()
        try:
            i, total = 0, len(rows)
            for n in self.SIZES:
                sql = self.sql[n]
                while total - i >= n:
                    cursor.execute(sql, [v for row in rows[i : i + n] for v in row])
                    i += n
        finally:
            cursor.close()


def _named(rows: Sequence[tuple[Any, ...]], width: int) -> dict[str, Any]:
    """Parameters named as :func:`_insert_messages` and :func:`_delete_messages` name them."""
    return {f"p{i}_{j}": v for i, row in enumerate(rows) for j, v in enumerate(row)}


def _insert_messages(n: int) -> Any:
    return insert(messages).values([
        {c: bindparam(f"p{i}_{j}") for j, c in enumerate(_MESSAGE_COLUMNS)} for i in range(n)])


def _delete_messages(n: int) -> Any:
    return delete(messages).where(messages.c.seq.in_([bindparam(f"p{i}_0") for i in range(n)]))


@dataclass(frozen=True, slots=True)
class _HotStatements:
    insert_messages: _RowsStatement  # rows: StoredMessage
    delete_messages: _RowsStatement  # rows: (seq,)

    @classmethod
    def compile(cls, engine: Engine) -> _HotStatements:
        return cls(_RowsStatement(engine, _insert_messages, len(_MESSAGE_COLUMNS)),
                   _RowsStatement(engine, _delete_messages, 1))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL with synchronous=NORMAL: a commit survives a killed process (kill -9); only an
    # OS crash or power loss can lose the last transactions.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
