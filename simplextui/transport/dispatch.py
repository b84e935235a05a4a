"""Deliver transport events to the layer above without serialising it on the network.

Each event runs the handler in its own task, at most ``concurrency`` at once; when that many
are still running, the stream stops reading (backpressure reaches the server through TCP).
Running handlers concurrently matters because a handler typically commits the message and
then awaits ``ack``: awaited one by one, every message would cost a full round trip, while
concurrent handlers' ACKs share batch requests. Per queue there is at most one message
outstanding anyway (the server's flow control), so a queue's messages stay in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from simplextui.transport.events import TransportEvent

log = logging.getLogger(__name__)

EventHandler = Callable[[TransportEvent], Awaitable[None]]


class EventDispatcher:
    def __init__(self, handler: EventHandler | None, concurrency: int = 256) -> None:
        self._handler = handler
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._tasks: set[asyncio.Task[None]] = set()

    async def emit(self, event: TransportEvent) -> None:
        """Start the handler for ``event``; waits only while all slots are busy."""
        if self._handler is None:
            return
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._call(self._handler, event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, handler: EventHandler, event: TransportEvent) -> None:
        try:
            await handler(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event handler failed on %s", type(event).__name__)
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
