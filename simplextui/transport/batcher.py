"""Coalesce commands issued concurrently into few ``POST /v1/batch`` requests.

A request costs about 1 ms on loopback whatever it carries, so throughput comes from
putting many transmissions in each. Commands submitted in the same event-loop tick always
share a request. While requests are in flight, new commands wait and collect, and go out
when a request slot frees, when they fill a whole request, or after ``linger`` seconds
(so a slow request does not hold up a lone PING for long). At most ``max_in_flight``
requests are outstanding; each carries up to ``MAX_BATCH`` transmissions and
``MAX_REQUEST_BYTES`` bytes.

Transmissions are authenticated only when their request is built, because the authenticator
covers the session id and a fresh correlation id: a retry after a network failure or a new
session re-signs everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from simplextui.crypto.queue_auth import authenticate
from simplextui.protocol import queue
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.transport.backoff import jittered_delay
from simplextui.transport.errors import (
    NetworkError,
    ServerError,
    ServerUnreachable,
    SessionExpired,
    TransportError,
)

log = logging.getLogger(__name__)

_BATCH_HEADER = 2 + queue.SESSION_ID_SIZE + 2  # version, session id, count
_MAX_SESSION_RETRIES = 3
# Commands whose duplicate would differ from the original: a second queue. (LNEW is safe:
# the server answers a repeated LNEW with the same owner key and fixed data like the first.)
_NOT_RETRIED_WHEN_AMBIGUOUS = (queue.New,)
# After a retry, these answers mean "the first attempt already did it".
_DONE_BY_EARLIER_ATTEMPT: dict[type, ErrorCode] = {
    queue.Ack: ErrorCode.NO_MSG,
    queue.Delete: ErrorCode.AUTH,
    queue.LinkDelete: ErrorCode.AUTH,
}


@dataclass(frozen=True, slots=True)
class Request:
    """One command to run on an entity, authenticated with ``mac_key`` (None: no auth)."""

    entity_id: bytes
    command: queue.Command
    mac_key: bytes | None = None


class BatchLink(Protocol):
    """What the batcher needs from the connection (a fake in unit tests)."""

    @property
    def version(self) -> int: ...

    async def session(self) -> bytes: ...

    async def renew_session(self, stale: bytes) -> bytes: ...

    async def post_batch(self, session_id: bytes, body: bytes) -> bytes: ...


class _Item:
    __slots__ = ("attempt", "command", "command_type", "deadline", "entity_id", "future",
                 "mac_key", "session_retries", "size", "submitted")

    def __init__(self, request: Request, future: asyncio.Future[queue.Response],
                 now: float, deadline: float) -> None:
        self.entity_id = request.entity_id
        self.command_type = type(request.command)
        self.command = queue.encode_command(request.command)
        self.mac_key = request.mac_key
        auth = 1 + (queue.AUTH_SIZE if request.mac_key is not None else 0)
        self.size = 4 + auth + queue.CORR_ID_SIZE + 1 + len(request.entity_id) + len(self.command)
        self.future = future
        self.submitted = now
        self.deadline = deadline
        self.attempt = 0
        self.session_retries = 0


class Batcher:
    def __init__(
        self,
        link: BatchLink,
        *,
        timeout: float = 10.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 10.0,
        max_in_flight: int = 4,
        linger: float = 0.02,
        max_batch: int = queue.MAX_BATCH,
        max_bytes: int = queue.MAX_REQUEST_BYTES,
        rng: random.Random | None = None,
    ) -> None:
        self._link = link
        self.timeout = timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_in_flight = max_in_flight
        self._linger = linger
        self._max_batch = max_batch
        self._max_body = max_bytes - _BATCH_HEADER
        self._rng = rng or random.Random()
        self._pending: deque[_Item] = deque()
        self._pending_bytes = 0
        self._in_flight = 0
        self._flush_handle: asyncio.Handle | None = None
        self._linger_handle: asyncio.TimerHandle | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.requests_sent = 0  # batch requests attempted (retries included)
        self.transmissions_sent = 0

    # ----------------------------------------------------------------------- public

    async def run(self, requests: Sequence[Request]) -> list[queue.Response]:
        """Run commands, batched with whatever else is pending; answers in order.

        Per-command refusals come back as ``Err`` responses. Raises ServerUnreachable when
        the server could not be reached within the timeout, ServerError for a whole-request
        refusal, ProtocolError (before anything is sent) for a command that cannot be encoded.
        """
        if self._closed:
            raise ServerUnreachable("the client is closed")
        if not requests:
            return []
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = now + self.timeout
        items = [_Item(r, loop.create_future(), now, deadline) for r in requests]
        for item in items:
            self._pending.append(item)
            self._pending_bytes += item.size
        self._schedule_flush()
        if len(items) == 1:
            return [await items[0].future]  # a cancelled caller cancels the future
        # return_exceptions: every future's outcome is retrieved, none is logged as lost.
        results = await asyncio.gather(*(item.future for item in items), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results  # type: ignore[return-value]

    async def submit(self, request: Request) -> queue.Response:
        return (await self.run([request]))[0]

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def close(self) -> None:
        self._closed = True
        for handle in (self._flush_handle, self._linger_handle, *self._timers):
            if handle is not None:
                handle.cancel()
        self._timers.clear()
        error = ServerUnreachable("the client is closed")
        while self._pending:
            self._fail(self._pending.popleft(), error)
        self._pending_bytes = 0
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --------------------------------------------------------------------- flushing

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and not self._closed:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        loop = asyncio.get_running_loop()
        while self._pending and self._in_flight < self._max_in_flight and not self._closed:
            if self._in_flight and not self._ready(loop.time()):
                self._arm_linger(loop)
                return
            batch = self._take()
            if not batch:
                continue
            self._in_flight += 1
            task = loop.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _ready(self, now: float) -> bool:
        """With requests in flight, send only a full request or one that waited enough."""
        return (len(self._pending) >= self._max_batch
                or self._pending_bytes >= self._max_body
                or now - self._pending[0].submitted >= self._linger)

    def _arm_linger(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._linger_handle is not None:
            return
        wait = max(0.0, self._pending[0].submitted + self._linger - loop.time())

        def fire() -> None:
            self._linger_handle = None
            self._flush()

        self._linger_handle = loop.call_later(wait, fire)

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        size = 0
        while self._pending and len(batch) < self._max_batch:
            item = self._pending[0]
            if item.future.done():  # the caller gave up
                self._pending.popleft()
                self._pending_bytes -= item.size
                continue
            if batch and size + item.size > self._max_body:
                break
            self._pending.popleft()
            self._pending_bytes -= item.size
            size += item.size
            batch.append(item)
        return batch

    # ---------------------------------------------------------------------- sending

    async def _send(self, batch: list[_Item]) -> None:
        try:
            session_id, expired = await self._exchange(batch)
            if expired:  # the server refused these with SESSION (it wants a new session)
                await self._after_session_expired(expired, session_id)
        except SessionExpired as exc:
            await self._after_session_expired(batch, exc.session_id)
        except NetworkError as exc:
            self._retry_later(batch, exc)
        except TransportError as exc:  # whole-request refusal, certificate mismatch
            self._fail_all(batch, exc)
        except ProtocolError as exc:
            self._fail_all(batch, TransportError(f"malformed batch response: {exc}"))
        except asyncio.CancelledError:
            self._fail_all(batch, ServerUnreachable("the client is closed"))
            raise
        except Exception as exc:  # a bug must not leave callers waiting forever
            log.exception("batch request failed unexpectedly")
            self._fail_all(batch, TransportError(f"unexpected failure: {exc!r}"))
        finally:
            self._in_flight -= 1
            if self._pending:
                self._flush()

    async def _exchange(self, batch: list[_Item]) -> tuple[bytes, list[_Item]]:
        """Send one request and settle its items; returns the session used and the items
        the server refused with SESSION (not executed: to send again in a new session)."""
        try:
            session_id = await self._link.session()
        except NetworkError as exc:  # the batch itself was not sent
            raise NetworkError(str(exc), sent=False) from exc
        corr_ids = os.urandom(queue.CORR_ID_SIZE * len(batch))
        transmissions: list[bytes] = []
        for i, item in enumerate(batch):
            corr_id = corr_ids[i * queue.CORR_ID_SIZE : (i + 1) * queue.CORR_ID_SIZE]
            auth = b""
            if item.mac_key is not None:
                auth = authenticate(item.mac_key, queue.authorized_bytes(
                    session_id, corr_id, item.entity_id, item.command))
            transmissions.append(queue.encode_transmission(
                queue.Transmission(corr_id, item.entity_id, item.command, auth)))
        body = queue.encode_batch_request(
            queue.BatchRequest(self._link.version, session_id, transmissions))
        self.requests_sent += 1
        self.transmissions_sent += len(batch)
        raw = await self._link.post_batch(session_id, body)
        answers = queue.decode_batch_response(raw)
        if len(answers) != len(batch):
            raise ProtocolError(ErrorCode.SYNTAX,
                                f"{len(answers)} responses to {len(batch)} transmissions")
        responses = [queue.decode_response_transmission(a) for a in answers]
        for i, answer in enumerate(responses):
            if answer.corr_id != corr_ids[i * queue.CORR_ID_SIZE : (i + 1) * queue.CORR_ID_SIZE]:
                raise ProtocolError(ErrorCode.SYNTAX, "response out of order")
        expired: list[_Item] = []
        for item, answer in zip(batch, responses, strict=True):
            response = answer.response
            if isinstance(response, queue.Err) and response.code is ErrorCode.SESSION:
                expired.append(item)
            elif not item.future.done():
                item.future.set_result(self._settle(item, response))
        return session_id, expired

    @staticmethod
    def _settle(item: _Item, response: queue.Response) -> queue.Response:
        if (item.attempt and isinstance(response, queue.Err)
                and _DONE_BY_EARLIER_ATTEMPT.get(item.command_type) is response.code):
            return queue.Ok()
        return response

    async def _after_session_expired(self, batch: list[_Item], stale: bytes) -> None:
        """Nothing in the request ran: open a new session and send it all again."""
        live = []
        for item in batch:
            item.session_retries += 1
            if item.session_retries > _MAX_SESSION_RETRIES:
                self._fail(item, ServerError(ErrorCode.SESSION, "server keeps refusing sessions"))
            else:
                live.append(item)
        if not live:
            return
        try:
            await self._link.renew_session(stale)
        except NetworkError as exc:
            self._retry_later(live, NetworkError(str(exc), sent=False))
            return
        except TransportError as exc:
            self._fail_all(live, exc)
            return
        self._requeue(live)

    def _retry_later(self, batch: list[_Item], exc: NetworkError) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        attempt = max((item.attempt for item in batch), default=0)
        delay = jittered_delay(attempt, self._backoff_base, self._backoff_cap, self._rng)
        retry: list[_Item] = []
        for item in batch:
            if item.future.done():
                continue
            if exc.sent and issubclass(item.command_type, _NOT_RETRIED_WHEN_AMBIGUOUS):
                self._fail(item, ServerUnreachable(f"{exc} (not retried: may have run)"))
            elif now + delay >= item.deadline:
                self._fail(item, ServerUnreachable(str(exc)))
            else:
                item.attempt += 1
                retry.append(item)
        if not retry or self._closed:
            return

        def fire() -> None:
            self._timers.discard(handle)
            self._requeue(retry)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def _requeue(self, items: list[_Item]) -> None:
        """Put items back at the front: they were submitted before what is pending now."""
        for item in reversed(items):
            if not item.future.done():
                self._pending.appendleft(item)
                self._pending_bytes += item.size
        self._schedule_flush()

    @staticmethod
    def _fail(item: _Item, exc: BaseException) -> None:
        if not item.future.done():
            item.future.set_exception(exc)

    def _fail_all(self, batch: list[_Item], exc: BaseException) -> None:
        for item in batch:
            self._fail(item, exc)
