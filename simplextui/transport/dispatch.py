"""Deliver transport events to the layer above without serialising it on the network.

Each event runs the handler in its own task, at most ``concurrency`` at once; when that many
are still running, the stream stops reading (backpressure reaches the server through TCP).
Running handlers concurrently matters because a handler typically commits the message and
then awaits ``ack``: awaited one by one, every message would cost a full round trip, while
concurrent handlers' ACKs share batch requests. Per queue there is at most one message
outstanding anyway (the server's flow control), so a queue's messages stay in order.

A *batch* handler instead gets lists of events: everything one read of the stream decoded,
in one task (a slot). At thousands of messages per second a task per event costs more than
the message itself; a batch handler can commit the list and acknowledge it with one
``ack_many``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from simplextui.transport.events import TransportEvent

log = logging.getLogger(__name__)

EventHandler = Callable[[TransportEvent], Awaitable[None]]
BatchEventHandler = Callable[[list[TransportEvent]], Awaitable[None]]
_T = TypeVar("_T")


class EventDispatcher:
    def __init__(self, handler: EventHandler | None, concurrency: int = 256, *,
                 batch_handler: BatchEventHandler | None = None) -> None:
        if handler is not None and batch_handler is not None:
            raise ValueError("give an event handler or a batch handler, not both")
        self._handler = handler
        self._batch_handler = batch_handler
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._tasks: set[asyncio.Task[None]] = set()

    async def emit(self, event: TransportEvent) -> None:
        """Start the handler for ``event``; waits only while all slots are busy."""
        if self._batch_handler is not None:
            await self.emit_many([event])
        elif self._handler is not None:
            await self._start(self._handler, event, type(event).__name__)

    async def emit_many(self, events: list[TransportEvent]) -> None:
        """Start handlers for ``events`` (in order): one batch, or one task per event."""
        if not events:
            return
        if self._batch_handler is not None:
            await self._start(self._batch_handler, events, f"{len(events)} events")
        elif self._handler is not None:
            for event in events:
                await self._start(self._handler, event, type(event).__name__)

    async def _start(self, handler: Callable[[_T], Awaitable[None]], arg: _T,
                     what: str) -> None:
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._run(handler, arg, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Callable[[_T], Awaitable[None]], arg: _T, what: str) -> None:
        try:
            await handler(arg)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event handler failed on %s", what)
        finally:
            self._slots.release()

    async def drain(self) -> None:
        """Wait until every started handler has finished."""
        current = asyncio.current_task()
        while tasks := [task for task in self._tasks if task is not current]:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        current = asyncio.current_task()  # close() may be called from inside a handler
        tasks = [task for task in self._tasks if task is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
