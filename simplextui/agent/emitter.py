"""Deliver agent events to ``on_event`` one at a time, in the order they were committed.

Journaled events (everything but MessageReceived) carry their journal id; once ``on_event``
returned, the ids are deleted in batches. A crash before that, or ``on_event`` raising,
delivers them again on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection

from simplextui.agent import repo
from simplextui.agent.events import AgentEvent

log = logging.getLogger(__name__)

EventCallback = Callable[[AgentEvent], Awaitable[None]]
Writer = Callable[[Callable[[Connection], None]], Awaitable[None]]


class Emitter:
    def __init__(self, on_event: EventCallback, write: Writer) -> None:
        self._on_event = on_event
        self._write = write
        self._queue: asyncio.Queue[tuple[AgentEvent, int | None]] = asyncio.Queue()
        self._done: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def put(self, event: AgentEvent, journal_id: int | None = None) -> None:
        self._idle.clear()
        self._queue.put_nowait((event, journal_id))

    def put_all(self, events: list[AgentEvent], journal_ids: list[int]) -> None:
        for event, jid in zip(events, journal_ids, strict=True):
            self.put(event, jid)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="agent-events")

    async def _run(self) -> None:
        while True:
            event, jid = await self._queue.get()
            try:
                await self._on_event(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Not delivered (e.g. the chat layer's database was locked): its journal
                # row stays, and it comes again on the next start.
                log.exception("on_event failed on %s; it will be delivered again after a "
                              "restart", type(event).__name__)
            else:
                if jid is not None:
                    self._done.append(jid)
            if self._queue.empty():
                await self._forget_done()
                if self._queue.empty():
                    self._idle.set()

    async def _forget_done(self) -> None:
        if not self._done:
            return
        done, self._done = self._done, []
        try:
            await self._write(lambda c: repo.delete_events(c, done))
        except Exception:
            log.exception("could not delete delivered events (they will repeat after restart)")

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued event was delivered; False on timeout."""
        if self._task is None:
            return self._queue.empty()
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self._forget_done()
