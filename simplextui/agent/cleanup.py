"""Server-side clean-up of what was deleted here, retried until its server answers.

Deleting a connection (or an address, or abandoning a join) commits, in the same transaction,
a row per thing still to do on a server (:func:`simplextui.agent.repo.delete_connection`):
delete our receive queue, delete our link record, send the farewell DEL. This worker does
them, and keeps those whose server cannot be reached (or answers a transient error) for a
later attempt, with exponential backoff per row, across restarts (for ``cleanup_keep``, 30
days: then the server is taken to be gone for good). The deletion here waits for a server at
most ``cleanup_wait``.

A refusal means the thing is gone already (AUTH: deleted, or never existed) or can never be
done (another code, or damaged credentials): the row is dropped either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy import Connection

from simplextui.agent import repo
from simplextui.agent.context import AgentContext
from simplextui.agent.repo import CleanupKind
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.transport import (
    LinkOwner,
    RecipientQueue,
    SenderQueue,
    ServerError,
    TransportError,
)

log = logging.getLogger("simplextui.agent.cleanup")

_TRANSIENT = frozenset({ErrorCode.INTERNAL, ErrorCode.SESSION, ErrorCode.REPLAY,
                        ErrorCode.LARGE_BATCH, ErrorCode.QUOTA})
_ROUND = 64  # rows attempted at once


class Cleaner:
    def __init__(self, ctx: AgentContext) -> None:
        self._ctx = ctx
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                name="agent clean-up")

    def notify(self) -> None:
        """New rows were committed: attempt them now."""
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                later = await self._round()
                failures = 0
            except Exception:  # the database: try again later, the rows are kept
                log.exception("server clean-up round failed; retrying")
                later = time.time() + self._ctx.retry_delay(failures)
                failures += 1
            if later is None and self._wake.is_set():
                continue
            timeout = None if later is None else max(0.0, later - time.time())
            if timeout == 0.0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _round(self) -> float | None:
        """Attempt the due rows; returns when the next one is due (now if more are due)."""
        now = time.time()
        rows, later = await self._ctx.read(lambda c: repo.due_cleanups(c, now, _ROUND))
        if not rows:
            return later
        await self._attempt_rows(rows)
        return time.time()  # read again: more may be due, else when the next one is

    async def attempt_now(self, ids: list[int]) -> None:
        """Attempt these rows at once and wait for them, at most ``cleanup_wait`` (a
        deleted address's link record should be gone when the deletion returns, but a
        server that is down must not hold the caller for long); those that fail stay for
        the worker."""
        if ids:
            task = self._ctx.spawn(self._attempt_ids(ids), name="clean up now")
            await asyncio.wait([task], timeout=self._ctx.config.cleanup_wait)

    async def _attempt_ids(self, ids: list[int]) -> None:
        try:
            await self._attempt_rows(await self._ctx.read(lambda c: repo.cleanups(c, ids)))
        except Exception:  # the database: the rows stay, the worker tries them
            log.exception("server clean-up failed; retrying later")
        finally:
            self._wake.set()  # the worker learns when those that failed are due

    async def _attempt_rows(self, rows: list[Any]) -> None:
        outcomes = await asyncio.gather(*(self._attempt(row) for row in rows))
        now = time.time()
        expired = now - self._ctx.config.cleanup_keep
        done, retry = [], []
        for row, ok in zip(rows, outcomes, strict=True):
            if ok:
                done.append(row.id)
            elif row.created_at < expired:  # e.g. a server gone for good
                log.warning("gave up clean-up %d (%s) on %s after %d attempts", row.id,
                            row.kind, row.server, row.attempts + 1)
                done.append(row.id)
            else:
                retry.append((row.id, now + self._ctx.retry_delay(row.attempts)))

        def record(c: Connection) -> None:
            repo.finish_cleanups(c, done, retry)

        await self._ctx.write(record)

    async def _attempt(self, row: Any) -> bool:
        """True when the row is done with (done, gone already, or never possible)."""
        try:
            await self._do(row.kind, row.creds, row.body)
        except ServerError as exc:
            if exc.code in _TRANSIENT:
                log.info("clean-up %d (%s) on %s: %s; will retry", row.id, row.kind,
                         row.server, exc)
                return False
            if exc.code != ErrorCode.AUTH:
                log.warning("clean-up %d (%s) refused for good: %s", row.id, row.kind, exc)
            return True
        except TransportError as exc:
            log.info("clean-up %d (%s): %s; will retry", row.id, row.kind, exc)
            return False
        except (ProtocolError, ValueError, KeyError, TypeError) as exc:
            log.warning("dropped damaged clean-up %d (%s): %r", row.id, row.kind, exc)
        except Exception as exc:  # e.g. the client pool closed under us: kept
            log.info("clean-up %d (%s) not done: %r; will retry", row.id, row.kind, exc)
            return False
        return True

    async def _do(self, kind: str, creds: dict[str, Any], body: bytes | None) -> None:
        if kind == CleanupKind.QUEUE:
            rq = RecipientQueue.from_dict(creds)
            await self._ctx.client(rq.server).delete(rq)
        elif kind == CleanupKind.LINK:
            owner = LinkOwner.from_dict(creds)
            await self._ctx.client(owner.server).delete_link(owner)
        elif kind == CleanupKind.SEND:
            sq = SenderQueue.from_dict(creds)
            if body is None:
                raise ValueError("a farewell without a body")
            await self._ctx.client(sq.server).send(sq, body)
        else:
            raise ValueError(f"unknown clean-up kind {kind!r}")


def stop_receiving(ctx: AgentContext, queues: list[Any]) -> None:
    """Deleted here: the clients stop resubscribing these receive queues at once (the
    deletion on the server may come much later)."""
    for q in queues:
        if q.role in (repo.QueueRole.RCV, repo.QueueRole.ADDRESS):
            with contextlib.suppress(Exception):
                rq = RecipientQueue.from_dict(q.creds)
                ctx.rcv_index.pop(rq.recipient_id, None)
                ctx.client(rq.server).unsubscribe_local(rq.recipient_id)
