"""State shared by the agent's parts: database access, locks, caches and the transport.

Database work runs on the agent's database thread (:mod:`simplextui.agent.dbthread`); a
connection's lock is held across the encryption and the commit of its state, never across a
network call.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from simplextui.agent import repo
from simplextui.agent.config import AgentConfig
from simplextui.agent.dbthread import AgentDB
from simplextui.agent.emitter import Emitter
from simplextui.agent.errors import AgentError, ConnectionNotFound
from simplextui.agent.repo import QueueRole
from simplextui.crypto.ratchet import Ratchet
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.b64 import b64encode
from simplextui.transport import ClientPool, QueueClient, RecipientQueue, TransportError

log = logging.getLogger("simplextui.agent")
T = TypeVar("T")


class Database(Protocol):
    """What the agent needs of ``simplextui.store.db.Database``."""

    @property
    def engine(self) -> AsyncEngine: ...

    def session(self) -> AsyncSession: ...


def _database_path(db: Database) -> str:
    path = db.engine.url.database
    if not path or path == ":memory:":
        raise AgentError("the agent needs a database file (not an in-memory database)")
    return path


def new_id() -> str:
    return b64encode(os.urandom(12))


class OutboxNotifier(Protocol):
    def notify(self, server: str | None = None) -> None: ...


class CleanupNotifier(Protocol):
    def notify(self) -> None: ...

    async def attempt_now(self, ids: list[int]) -> None: ...


@dataclass(slots=True)
class ReceiveTarget:
    """A queue we receive on: a connection's (``conn_id``) or our address's (None)."""

    queue_id: int
    conn_id: str | None
    queue: RecipientQueue


@dataclass(slots=True)
class LiveConn:
    """A connection as the agent works on it; written back in the same transaction as any
    change, and dropped from the cache when such a transaction fails."""

    id: str
    role: str
    state: str
    pq: bool
    ratchet: Ratchet | None
    last_sent_id: int
    last_sent_hash: bytes
    last_rcvd_id: int
    last_rcvd_hash: bytes
    inviter_keys: bytes | None
    my_info: bytes | None
    peer_info: bytes | None
    link_owner: dict[str, Any] | None
    rcv: ReceiveTarget | None
    snd_queue_id: int | None
    snd_server: str | None
    closing: bool = False  # to be deleted once its outbox is empty: sends nothing new

    @property
    def can_send(self) -> bool:
        return (self.ratchet is not None and self.ratchet.can_send
                and self.snd_queue_id is not None)


class AgentContext:
    def __init__(self, db: Database, servers: list[ServerAddress], pool: ClientPool,
                 config: AgentConfig, pq: bool) -> None:
        self.db = db
        self.servers = list(servers)
        self.pool = pool
        self.config = config
        self.pq = pq
        self.store = AgentDB(_database_path(db))
        self.store.fast_path = config.db_on_loop
        self.rcv_index: dict[bytes, ReceiveTarget] = {}
        self._conns: dict[str, LiveConn] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.background: set[asyncio.Task[None]] = set()
        self.closing: set[str] = set()  # connections to delete once their outbox is empty
        self.emitter: Emitter | None = None
        self.outbox: OutboxNotifier | None = None
        self.cleaner: CleanupNotifier | None = None  # server-side clean-ups were recorded
        self.rng = random.SystemRandom()

    # ------------------------------------------------------------------- database

    async def write(self, unit: Callable[[Connection], T]) -> T:
        """Run ``unit`` in a write transaction on the database thread (group commit); it
        must have no side effect but its result (see :mod:`simplextui.agent.dbthread`)."""
        return await self.store.write(unit)

    async def read(self, unit: Callable[[Connection], T]) -> T:
        return await self.store.read(unit)

    # ---------------------------------------------------------------------- servers

    def retry_delay(self, attempts: int) -> float:
        """How long to wait before retrying after ``attempts`` failures: doubling from
        ``retry_base`` up to ``retry_cap``, jittered to half of that at the least (outbox rows,
        receipts and server clean-ups alike)."""
        delay = min(self.config.retry_cap, self.config.retry_base * 2 ** min(attempts, 30))
        return delay * self.rng.uniform(0.5, 1.0)

    def choose_server(self) -> ServerAddress:
        if not self.servers:
            raise AgentError("no queue servers are configured")
        return self.rng.choice(self.servers)

    def client(self, server: ServerAddress | str) -> QueueClient:
        if isinstance(server, str):
            server = ServerAddress.parse(server)
        return self.pool.get(server)

    async def ack(self, target: ReceiveTarget, msg_id: bytes) -> None:
        """ACK after the commit; a failure only means the server redelivers (deduplicated)."""
        try:
            await self.client(target.queue.server).ack(target.queue, msg_id)
            log.debug("acked %s", msg_id.hex()[:8])
        except TransportError as exc:
            log.info("ack failed (%s); the message will be redelivered and dropped", exc)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        """A background task of the agent, cancelled by ``stop``."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def subscribe(self, server: ServerAddress, queues: list[RecipientQueue]) -> None:
        """Subscribe, retrying with backoff until the server answers (the queues may be
        new, or loaded at start while their server is down)."""
        delay = self.config.retry_base
        while True:
            try:
                results = await self.client(server).subscribe(queues)
            except TransportError as exc:
                log.info("cannot subscribe on %s yet (%s); retrying", server.short(), exc)
                await asyncio.sleep(delay * self.rng.uniform(0.5, 1.0))
                delay = min(self.config.retry_cap, delay * 2)
                continue
            for rid, error in results.items():
                if error is not None:
                    target = self.rcv_index.get(rid)
                    log.warning("subscription refused (%s) for %s", error,
                                target.conn_id if target is not None else "?")
            return

    # ------------------------------------------------------------------ connections

    def lock(self, conn_id: str) -> asyncio.Lock:
        lock = self._locks.get(conn_id)
        if lock is None:
            lock = self._locks[conn_id] = asyncio.Lock()
        return lock

    def evict(self, conn_id: str) -> None:
        self._conns.pop(conn_id, None)

    def forget(self, conn_id: str) -> None:
        """The connection is deleted: drop its cache entry and receive index entries."""
        self._conns.pop(conn_id, None)
        self.closing.discard(conn_id)
        for rid in [rid for rid, t in self.rcv_index.items() if t.conn_id == conn_id]:
            del self.rcv_index[rid]

    async def load(self, conn_id: str) -> LiveConn:
        """The connection (caller holds its lock); raises ConnectionNotFound."""
        live = self._conns.get(conn_id)
        if live is not None:
            return live

        def unit(c: Connection) -> tuple[Any, list[Any]]:
            return repo.get_connection(c, conn_id), repo.connection_queues(c, conn_id)

        row, queues = await self.read(unit)
        if row is None:
            raise ConnectionNotFound(conn_id)
        rcv = snd_id = snd_server = None
        for q in queues:
            if q.role == QueueRole.RCV:
                rcv = ReceiveTarget(q.id, conn_id, RecipientQueue.from_dict(q.creds))
            elif q.role == QueueRole.SND:
                snd_id, snd_server = q.id, q.server
        live = LiveConn(
            id=row.id, role=row.role, state=row.state, pq=row.pq,
            ratchet=Ratchet.from_bytes(row.ratchet) if row.ratchet is not None else None,
            last_sent_id=row.last_sent_id, last_sent_hash=row.last_sent_hash,
            last_rcvd_id=row.last_rcvd_id, last_rcvd_hash=row.last_rcvd_hash,
            inviter_keys=row.inviter_keys, my_info=row.my_info, peer_info=row.peer_info,
            link_owner=row.link_owner, rcv=rcv, snd_queue_id=snd_id, snd_server=snd_server,
            closing=row.closing)
        self._conns[conn_id] = live
        return live

    def mark_state(self, conn_id: str, state: str) -> None:
        live = self._conns.get(conn_id)
        if live is not None:
            live.state = state

    def cache(self, live: LiveConn) -> None:
        self._conns[live.id] = live
