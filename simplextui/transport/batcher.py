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

Per command the batcher keeps its encoded parts (a SEND's 16 KB of padding is a view of a
shared zero block) and builds each request body with one join; a ``run`` call waits on one
future however many commands it holds. At 10,000 messages/s per-command futures, copies and
dataclasses cost more CPU than the HTTP requests.
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

from simplextui.crypto import queue_auth
from simplextui.protocol import queue
from simplextui.protocol import queue_hot as hot
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


class _Call:
    """One ``run`` call: its future and the answers (or errors) collected so far.

    The future gets the answers in order once every command is settled, or the first error
    in order; a cancelled caller cancels the future, and its commands are skipped.
    """

    __slots__ = ("future", "remaining", "results")

    def __init__(self, future: asyncio.Future[list[queue.Response]], n: int) -> None:
        self.future = future
        self.results: list[queue.Response | BaseException | None] = [None] * n
        self.remaining = n

    def settle(self, index: int, outcome: queue.Response | BaseException) -> None:
        self.results[index] = outcome
        self.remaining -= 1
        if self.remaining or self.future.done():
            return
        for result in self.results:
            if isinstance(result, BaseException):
                self.future.set_exception(result)
                return
        self.future.set_result(self.results)  # type: ignore[arg-type]


class _Item:
    """One command, encoded (so bad input raises before anything is sent) as ``head`` and
    ``body`` (what the authenticator covers) and ``padding``."""

    __slots__ = ("attempt", "body", "call", "command_type", "deadline", "entity", "head",
                 "index", "mac_key", "padding", "session_retries", "settled", "size",
                 "submitted")

    def __init__(self, entity_id: bytes, command_type: type, head: bytes, body: bytes,
                 padding: bytes | memoryview, mac_key: bytes | None, call: _Call, index: int,
                 now: float, deadline: float) -> None:
        if len(entity_id) > 0xFF:
            raise ProtocolError(ErrorCode.SYNTAX, "short field over 255 bytes")
        self.entity = bytes((len(entity_id),)) + entity_id  # short(entity_id)
        self.command_type = command_type
        self.head = head
        self.body = body
        self.padding = padding
        self.mac_key = mac_key
        auth = 1 + (queue.AUTH_SIZE if mac_key is not None else 0)
        self.size = (4 + auth + queue.CORR_ID_SIZE + len(self.entity) + len(head) + len(body)
                     + len(padding))
        self.call = call
        self.index = index
        self.settled = False
        self.submitted = now
        self.deadline = deadline
        self.attempt = 0
        self.session_retries = 0

    @classmethod
    def of(cls, request: Request, call: _Call, index: int, now: float,
           deadline: float) -> _Item:
        command = request.command
        if isinstance(command, queue.Send):
            head, body, padding = hot.send_command_parts(command.body, command.flags)
            return cls(request.entity_id, queue.Send, head, body, padding, request.mac_key,
                       call, index, now, deadline)
        return cls(request.entity_id, type(command), queue.encode_command(command), b"", b"",
                   request.mac_key, call, index, now, deadline)

    @property
    def done(self) -> bool:
        """Settled, or its caller gave up."""
        return self.settled or self.call.future.done()

    def settle(self, outcome: queue.Response | BaseException) -> None:
        if not self.done:
            self.settled = True
            self.call.settle(self.index, outcome)


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
        # Retries waiting for their delay, with their commands (failed by ``close``).
        self._timers: dict[asyncio.TimerHandle, list[_Item]] = {}
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
        call = _Call(loop.create_future(), len(requests))
        return await self._submit(
            call, [_Item.of(r, call, i, now, deadline) for i, r in enumerate(requests)])

    async def run_sends(
        self, sends: Sequence[tuple[bytes, bytes, int, bytes | None]]
    ) -> list[queue.Response]:
        """:meth:`run` of SENDs given as ``(sender_id, body, flags, mac_key)``, without a
        ``Send`` and a ``Request`` per message."""
        if self._closed:
            raise ServerUnreachable("the client is closed")
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = now + self.timeout
        call = _Call(loop.create_future(), len(sends))
        parts = hot.send_command_parts
        items = []
        for i, (sender_id, body, flags, mac_key) in enumerate(sends):
            head, body, padding = parts(body, flags)
            items.append(_Item(sender_id, queue.Send, head, body, padding, mac_key, call, i,
                               now, deadline))
        return await self._submit(call, items)

    async def run_acks(self, acks: Sequence[tuple[bytes, bytes, bytes]]) -> list[queue.Response]:
        """:meth:`run` of ACKs given as ``(recipient_id, msg_id, mac_key)``."""
        if self._closed:
            raise ServerUnreachable("the client is closed")
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = now + self.timeout
        call = _Call(loop.create_future(), len(acks))
        items = [_Item(recipient_id, queue.Ack, hot.ack_command(msg_id), b"", b"", mac_key,
                       call, i, now, deadline)
                 for i, (recipient_id, msg_id, mac_key) in enumerate(acks)]
        return await self._submit(call, items)

    async def _submit(self, call: _Call, items: list[_Item]) -> list[queue.Response]:
        if not items:
            return []
        self._pending.extend(items)
        self._pending_bytes += sum(item.size for item in items)
        self._schedule_flush()
        return await call.future  # a cancelled caller cancels the future

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
        error = ServerUnreachable("the client is closed")
        waiting, self._timers = list(self._timers.values()), {}
        for items in waiting:  # their retry will not come: their callers must not hang
            self._fail_all(items, error)
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
            if item.done:  # the caller gave up
                self._pending.popleft()
                self._pending_bytes -= item.size
                continue
            if batch and size + item.size > self._max_body:
                break
            if batch and item.call is not batch[-1].call and self._splits(item.call, size,
                                                                         len(batch)):
                break  # one call's commands (an outbox round, in order) go in one request
            self._pending.popleft()
            self._pending_bytes -= item.size
            size += item.size
            batch.append(item)
        return batch

    def _splits(self, call: _Call, size: int, count: int) -> bool:
        """Would the pending commands of ``call`` (at the front) be cut in two by adding them
        to a request already holding ``count`` commands of ``size`` bytes, though they fit in
        an empty one? Parts of one call in concurrent requests may run out of order."""
        need = n = 0
        for item in self._pending:
            if item.call is not call:
                break
            need += item.size
            n += 1
        over = size + need > self._max_body or count + n > self._max_batch
        return over and need <= self._max_body and n <= self._max_batch

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
        body = self._encode(session_id, batch, corr_ids)
        self.requests_sent += 1
        self.transmissions_sent += len(batch)
        raw = await self._link.post_batch(session_id, body)
        answers = hot.decode_batch_response(raw)
        if len(answers) != len(batch):
            raise ProtocolError(ErrorCode.SYNTAX,
                                f"{len(answers)} responses to {len(batch)} transmissions")
        for i, (corr_id, _) in enumerate(answers):
            if corr_id != corr_ids[i * queue.CORR_ID_SIZE : (i + 1) * queue.CORR_ID_SIZE]:
                raise ProtocolError(ErrorCode.SYNTAX, "response out of order")
        expired: list[_Item] = []
        for item, (_, response) in zip(batch, answers, strict=True):
            if isinstance(response, queue.Err) and response.code is ErrorCode.SESSION:
                expired.append(item)
            else:
                item.settle(self._settle(item, response))
        return session_id, expired

    def _encode(self, session_id: bytes, batch: list[_Item], corr_ids: bytes) -> bytes:
        """The request body: ``encode_batch_request`` of the authenticated transmissions,
        built with one join (the SEND bodies and their padding are copied once)."""
        parts: list[bytes | memoryview] = [
            hot.batch_request_head(self._link.version, session_id, len(batch))]
        append, u32, no_auth = parts.append, hot.u32, b"\x00"
        size = queue.CORR_ID_SIZE
        for i, item in enumerate(batch):
            corr_id = corr_ids[i * size : (i + 1) * size]  # auth is short(authenticator):
            if item.mac_key is None:
                auth = no_auth
            else:
                authorized = b"".join((session_id, corr_id, item.entity, item.head, item.body))
                auth = b"\x20" + queue_auth.mac_key(item.mac_key).digest(authorized)
            append(u32(item.size - 4))  # the size counts the length prefix
            append(auth)
            append(corr_id)
            append(item.entity)
            append(item.head)
            append(item.body)
            append(item.padding)
        return b"".join(parts)

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
            if item.done:
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
            self._timers.pop(handle, None)
            self._requeue(retry)

        handle = loop.call_later(delay, fire)
        self._timers[handle] = retry

    def _requeue(self, items: list[_Item]) -> None:
        """Put items back at the front: they were submitted before what is pending now."""
        for item in reversed(items):
            if not item.done:
                self._pending.appendleft(item)
                self._pending_bytes += item.size
        self._schedule_flush()

    @staticmethod
    def _fail(item: _Item, exc: BaseException) -> None:
        item.settle(exc)

    def _fail_all(self, batch: list[_Item], exc: BaseException) -> None:
        for item in batch:
            self._fail(item, exc)
