"""The agent's database access: synchronous SQLAlchemy Core on threads, one hop per unit.

Under aiosqlite every statement is a round trip between the event loop and a thread; on a
busy loop a transaction of five statements took 10-25 ms. Here a unit of work is a plain
function of a ``Connection`` run on a thread, so it costs one hop whatever it does, and
writes submitted while a transaction is running share the next one (group commit).

Writes run on one thread (SQLite has one writer anyway), reads on another. A write unit must
have no side effect but its return value: if a group transaction fails, each unit of the
group is run again alone, so that one failure does not fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event

log = logging.getLogger("simplextui.agent.db")

T = TypeVar("T")
Unit = Callable[[Connection], Any]
BUSY_TIMEOUT_MS = 5_000


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


class AgentDB:
    def __init__(self, path: str, max_group: int = 1_000) -> None:
        self.engine: Engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False})
        event.listen(self.engine, "connect", _pragmas)
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="agent-db-write")
        self._read_thread = ThreadPoolExecutor(1, thread_name_prefix="agent-db-read")
        self._max_group = max_group
        self._pending: list[tuple[Unit, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.commits = 0  # group transactions committed (tests, statistics)

    async def read(self, unit: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_thread, self._run_read, unit)

    def _run_read(self, unit: Callable[[Connection], T]) -> T:
        with self.engine.connect() as c:
            return unit(c)

    async def write(self, unit: Callable[[Connection], T]) -> T:
        """Run ``unit`` in a write transaction (shared with concurrent writes); returns its
        result once committed."""
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

    async def close(self) -> None:
        """Wait for pending writes, then release the threads and connections."""
        flusher = self._flusher
        if flusher is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(flusher)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._write_thread.shutdown(wait=True)
        self._read_thread.shutdown(wait=True)
        self.engine.dispose()
