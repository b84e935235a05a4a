"""The subscription stream of one server: receive, reconnect, resubscribe.

One ``POST /v1/stream`` per session carries the frames of every queue subscribed in it. The
stream runs as one task for the life of the client:

- attach: open the stream for the current session (a 401 opens a new session first);
- after any attach but the first, resubscribe every known queue in one batch (the server may
  have restarted and forgotten them); ``ServerConnected`` is reported once that is done;
- read frames, turning them into events; any byte resets the ping watchdog, and a stream
  silent for ``ping_timeout`` seconds is taken for dead;
- on failure, report ``ServerDisconnected`` and retry with exponential backoff and jitter.

When the batcher has to open a new session (the server forgot ours), the stream re-attaches
at once: subscriptions made in the new session deliver only to the new session's stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from simplextui.protocol import queue
from simplextui.protocol.errors import ProtocolError
from simplextui.transport.backoff import Backoff
from simplextui.transport.batcher import Batcher, Request
from simplextui.transport.connection import ServerConnection
from simplextui.transport.dispatch import EventDispatcher
from simplextui.transport.errors import SessionExpired, TransportError
from simplextui.transport.events import (
    ServerConnected,
    ServerDisconnected,
    SubscriptionFailed,
)
from simplextui.transport.frames import StreamDecoder
from simplextui.transport.keys import RecipientQueue
from simplextui.transport.rawstream import RawStream

log = logging.getLogger(__name__)


class SubscriptionStream:
    def __init__(
        self,
        connection: ServerConnection,
        batcher: Batcher,
        dispatcher: EventDispatcher,
        *,
        ping_timeout: float = 45.0,
        backoff: Backoff | None = None,
    ) -> None:
        self._conn = connection
        self._batcher = batcher
        self._dispatcher = dispatcher
        self._ping_timeout = ping_timeout
        self._backoff = backoff or Backoff()
        self.server = connection.address
        self.queues: dict[bytes, RecipientQueue] = {}  # recipient id -> subscribed queue
        self._task: asyncio.Task[None] | None = None
        self._resubscribe_task: asyncio.Task[None] | None = None
        self._attached = asyncio.Event()
        self._attached_session: bytes | None = None
        self._ever_attached = False
        self._connected = False  # ServerConnected reported and no disconnect since
        self._subscribe_pending = False  # queues registered whose SUB was never answered
        self._watchdog: asyncio.Timeout | None = None
        self._break_reason: str | None = None  # set by reconnect(): why to drop the stream
        self._break_at_once = False
        self.attach_count = 0
        self.resubscribe_requests = 0
        connection.add_session_listener(self._on_new_session)

    # ----------------------------------------------------------------------- control

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def connected(self) -> bool:
        return self._connected

    async def wait_attached(self, timeout: float) -> bool:
        """Wait until the stream is open; False if it is not within ``timeout`` seconds."""
        self.start()
        try:
            async with asyncio.timeout(timeout):
                await self._attached.wait()
        except TimeoutError:
            return False
        return True

    def subscribe_later(self) -> None:
        """Queues were registered but their subscription failed (the server is down):
        subscribe every known queue once the stream is attached (at once if it is)."""
        if self._attached_session is None:
            self._subscribe_pending = True
        elif self._resubscribe_task is None or self._resubscribe_task.done():
            self._resubscribe_task = asyncio.get_running_loop().create_task(
                self._resubscribe())

    def reconnect(self, reason: str, *, at_once: bool = True) -> None:
        """Drop the current stream (if attached) and attach again (after a backoff delay
        unless ``at_once``)."""
        if self._attached_session is None or self._break_reason is not None:
            return
        self._break_reason = reason
        self._break_at_once = at_once
        if self._watchdog is not None:
            self._watchdog.reschedule(asyncio.get_running_loop().time())

    async def close(self) -> None:
        for task in (self._resubscribe_task, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._resubscribe_task = None

    def _on_new_session(self, session_id: bytes) -> None:
        if self._attached_session is not None and self._attached_session != session_id:
            self.reconnect("the server asked for a new session")

    # -------------------------------------------------------------------------- loop

    async def _run(self) -> None:
        previous_at_once = False
        while True:
            reason, at_once = await self._attach_and_read()
            self._detach()
            if self._connected:
                self._connected = False
                await self._dispatcher.emit(ServerDisconnected(self.server, reason))
            log.info("stream of %s down: %s", self.server.short(), reason)
            # Never twice in a row without a pause: a server that keeps forgetting
            # sessions must not make us spin.
            if not at_once or previous_at_once:
                await asyncio.sleep(self._backoff.next_delay())
                previous_at_once = False
            else:
                previous_at_once = True

    async def _attach_and_read(self) -> tuple[str, bool]:
        """One stream's life: why it ended, and whether to re-attach without delay."""
        try:
            session_id = await self._conn.session()
            async with self._conn.open_stream(session_id) as response:
                await self._on_attached(session_id)
                await self._read(response)
                return "the server closed the stream", False
        except SessionExpired as exc:
            try:
                await self._conn.renew_session(exc.session_id)
            except TransportError as renew_exc:
                return f"cannot open a session: {renew_exc}", False
            return "the server forgot the session", True
        except TimeoutError:
            if self._break_reason is not None:
                return self._break_reason, self._break_at_once
            return f"no frame for {self._ping_timeout:g} s", False
        except (TransportError, ProtocolError) as exc:
            return f"{type(exc).__name__}: {exc}", False

    async def _on_attached(self, session_id: bytes) -> None:
        self._attached_session = session_id
        self._break_reason = None
        self.attach_count += 1
        first = not self._ever_attached
        self._ever_attached = True
        self._attached.set()
        if self._conn.current_session != session_id:  # renewed while we were attaching
            self.reconnect("a new session was opened")
        elif (first and not self._subscribe_pending) or not self.queues:
            await self._report_connected()
        else:
            self._resubscribe_task = asyncio.get_running_loop().create_task(
                self._resubscribe())

    async def _report_connected(self) -> None:
        self._backoff.reset()
        if not self._connected:
            self._connected = True
            await self._dispatcher.emit(ServerConnected(self.server))

    def _detach(self) -> None:
        self._attached.clear()
        self._attached_session = None
        self._watchdog = None
        self._break_reason = None
        if self._resubscribe_task is not None:
            self._resubscribe_task.cancel()
            self._resubscribe_task = None

    async def _read(self, body: RawStream) -> None:
        loop = asyncio.get_running_loop()
        decoder = StreamDecoder(self.server, self.queues)
        emit_many = self._dispatcher.emit_many
        async with asyncio.timeout_at(loop.time() + self._ping_timeout) as watchdog:
            self._watchdog = watchdog
            if self._break_reason is not None:  # asked to reconnect before we got here
                watchdog.reschedule(loop.time())
            while chunk := await body.read():
                if self._break_reason is None:
                    watchdog.reschedule(loop.time() + self._ping_timeout)
                await emit_many(decoder.feed(chunk))

    async def _resubscribe(self) -> None:
        """Subscribe every known queue again, in one batch request."""
        queues = list(self.queues.values())
        self.resubscribe_requests += 1
        self._subscribe_pending = False
        try:
            responses = await self._batcher.run(
                [Request(q.recipient_id, queue.Subscribe(), q.recipient_mac_key) for q in queues])
        except TransportError as exc:
            self.reconnect(f"resubscription failed: {exc}", at_once=False)
            return
        for q, response in zip(queues, responses, strict=True):
            if isinstance(response, queue.Err):
                if self.queues.get(q.recipient_id) is q:
                    del self.queues[q.recipient_id]
                await self._dispatcher.emit(
                    SubscriptionFailed(self.server, q.recipient_id, response.code))
        await self._report_connected()
