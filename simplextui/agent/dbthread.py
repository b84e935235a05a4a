"""The agent's database access: synchronous SQLAlchemy Core, on the loop or on threads.

Under aiosqlite every statement is a round trip between the event loop and a thread; on a
busy loop a transaction of five statements took 10-25 ms. Here a unit of work is a plain
function of a ``Connection``.

Fast path: a unit runs right away on the event loop's own connection, when that cannot
block: the connection never waits for a lock (``busy_timeout=0``) and never checkpoints the
WAL itself, and a write takes this path only when no write is queued for the thread (so
writes still commit in the order they were submitted). A small transaction in WAL mode with
``synchronous=NORMAL`` takes tens of microseconds; a thread hop took 2-10 ms on a busy
machine (OS scheduling, the GIL), and a message crossed about ten of them.

Slow path: when the database is locked by another writer (the chat layer shares the file)
the write goes to the write thread, where writes submitted while a transaction is running
share the next one (group commit) and wait for locks. The thread also checkpoints the WAL
now and then. Reads fall back to the read thread the same way.

A write unit must have no side effect but its return value: it may be run again (after a
lock refusal on the fast path, or alone when its group transaction failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from simplextui.store.db import set_pragmas

log = logging.getLogger("simplextui.agent.db")

T = TypeVar("T")
Unit = Callable[[Connection], Any]
CHECKPOINT_EVERY = 500  # fast-path commits between two WAL checkpoints on the thread


class AgentDB:
    def __init__(self, path: str, max_group: int = 1_000) -> None:
        self.engine: Engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False})
        event.listen(self.engine, "connect", set_pragmas)
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="agent-db-write")
        self._read_thread = ThreadPoolExecutor(1, thread_name_prefix="agent-db-read")
        self._max_group = max_group
        self._pending: list[tuple[Unit, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._fast: Connection | None = None
        self._fast_commits = 0
        self._checkpointing = False
        self.commits = 0  # transactions committed (tests, statistics)
        self.fast_commits = 0  # of which on the loop's connection
        self.fast_path = True  # AgentConfig.db_on_loop; off: every unit on the threads

    def _fast_connection(self) -> Connection:
        if self._fast is None:
            conn = self.engine.connect()
            conn.exec_driver_sql("PRAGMA busy_timeout=0")  # never wait on the loop
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # the thread checkpoints
            conn.commit()
            self._fast = conn
        return self._fast

    def _try_fast(self, unit: Callable[[Connection], T]) -> tuple[bool, T | None]:
        """Run ``unit`` in a transaction on the loop's connection: (True, result), or
        (False, None) if the database was locked (nothing was committed)."""
        conn = self._fast_connection()
        try:
            with conn.begin():
                result = unit(conn)
        except OperationalError as exc:
            if conn.in_transaction():  # e.g. a refused COMMIT leaves it open
                conn.rollback()
            if not _is_busy(exc):
                raise
            return False, None
        return True, result

    async def read(self, unit: Callable[[Connection], T]) -> T:
        if self.fast_path:
            done, result = self._try_fast(unit)
            if done:
                return result  # type: ignore[return-value]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_thread, self._run_read, unit)

    def _run_read(self, unit: Callable[[Connection], T]) -> T:
        with self.engine.connect() as c:
            return unit(c)

    async def write(self, unit: Callable[[Connection], T]) -> T:
        """Run ``unit`` in a write transaction (shared with concurrent writes); returns its
        result once committed."""
        if self.fast_path and self._flusher is None:
            done, result = self._try_fast(unit)
            if done:
                self.commits += 1
                self.fast_commits += 1
                self._fast_commits += 1
                if self._fast_commits >= CHECKPOINT_EVERY:
                    self._checkpoint()
                return result  # type: ignore[return-value]
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._pending.append((unit, fut))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush(), name="agent-db-flush")
        return await fut

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._pending[: self._max_group]
                del self._pending[: self._max_group]
                outcomes = await loop.run_in_executor(
                    self._write_thread, self._run_group, [unit for unit, _ in batch])
                for (_, fut), (ok, value) in zip(batch, outcomes, strict=True):
                    if fut.done():
                        continue
                    if ok:
                        fut.set_result(value)
                    else:
                        fut.set_exception(value)
        finally:
            self._flusher = None

    def _run_group(self, units: list[Unit]) -> list[tuple[bool, Any]]:
        try:
            with self.engine.begin() as c:
                results = [unit(c) for unit in units]
            self.commits += 1
            return [(True, r) for r in results]
        except Exception as exc:
            if len(units) == 1:
                return [(False, exc)]
            log.info("a group of %d writes failed (%s); running them one by one",
                     len(units), exc)
        outcomes: list[tuple[bool, Any]] = []
        for unit in units:
            try:
                with self.engine.begin() as c:
                    result = unit(c)
                self.commits += 1
                outcomes.append((True, result))
            except Exception as exc:
                outcomes.append((False, exc))
        return outcomes

    def _checkpoint(self) -> None:
        """Checkpoint the WAL on the write thread (the loop's connection never does)."""
        if self._checkpointing:
            return
        self._checkpointing = True
        self._fast_commits = 0
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._write_thread, self._run_checkpoint)

        def done(f: asyncio.Future[None]) -> None:
            self._checkpointing = False
            if not f.cancelled() and f.exception() is not None:
                log.info("WAL checkpoint failed: %s", f.exception())

        future.add_done_callback(done)

    def _run_checkpoint(self) -> None:
        with self.engine.connect() as c:
            c.execute(text("PRAGMA wal_checkpoint(PASSIVE)"))

    async def close(self) -> None:
        """Wait for pending writes, then release the threads and connections."""
        flusher = self._flusher
        if flusher is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(flusher)
        if self._fast is not None:
            self._fast.invalidate()  # closed, not returned to the pool with its pragmas
            self._fast.close()
            self._fast = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._write_thread.shutdown(wait=True)
        self._read_thread.shutdown(wait=True)
        self.engine.dispose()


def _is_busy(exc: OperationalError) -> bool:
    """SQLITE_BUSY (another connection holds the lock, or our snapshot is stale)."""
    text_ = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "locked" in text_ or "busy" in text_
