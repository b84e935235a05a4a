"""The batcher against a fake server link: coalescing, limits, retries, sessions, auth."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from simplextui.crypto.queue_auth import verify
from simplextui.protocol import queue
from simplextui.protocol.errors import ErrorCode
from simplextui.transport.batcher import Batcher, Request
from simplextui.transport.errors import (
    NetworkError,
    ServerError,
    ServerUnreachable,
    SessionExpired,
    TransportError,
)

MAC = os.urandom(32)
Handler = Callable[[bytes, queue.Transmission], queue.Response]


def pong(_session: bytes, _t: queue.Transmission) -> queue.Response:
    return queue.Pong()


class FakeLink:
    """Decodes batches like the server would, checks authenticators, answers via ``handler``."""

    version = 1

    def __init__(self, handler: Handler = pong) -> None:
        self.handler = handler
        self.session_id = os.urandom(32)
        self.renewals = 0
        self.requests: list[list[queue.Transmission]] = []
        self.failures: list[Exception] = []  # raised by the next requests, in order
        self.gate: asyncio.Event | None = None  # when set, requests wait for it
        self.in_flight = 0
        self.max_in_flight = 0
        self.seen_corr_ids: set[bytes] = set()
        self.reply: Callable[[bytes], bytes] | None = None  # replaces the whole answer

    async def session(self) -> bytes:
        return self.session_id

    async def renew_session(self, stale: bytes) -> bytes:
        if stale == self.session_id:
            self.session_id = os.urandom(32)
            self.renewals += 1
        return self.session_id

    async def post_batch(self, session_id: bytes, body: bytes) -> bytes:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
            batch = queue.decode_batch_request(body)
            assert batch.session_id == session_id
            transmissions = [queue.decode_transmission(t) for t in batch.transmissions]
            self.requests.append(transmissions)
            if self.failures:
                raise self.failures.pop(0)
            if session_id != self.session_id:
                raise SessionExpired(session_id)
            if self.reply is not None:
                return self.reply(body)
            out = []
            for t in transmissions:
                assert t.corr_id not in self.seen_corr_ids, "correlation id reused"
                self.seen_corr_ids.add(t.corr_id)
                if t.auth:
                    authorized = queue.authorized_bytes(session_id, t.corr_id, t.entity_id,
                                                        t.command)
                    assert verify(MAC, authorized, t.auth), "bad authenticator"
                response = self.handler(session_id, t)
                out.append(queue.encode_response_transmission(
                    queue.ResponseTransmission(t.corr_id, t.entity_id, response)))
            return queue.encode_batch_response(out)
        finally:
            self.in_flight -= 1


def ping() -> Request:
    return Request(b"", queue.Ping())


def sub(i: int = 0) -> Request:
    return Request(i.to_bytes(24, "big"), queue.Subscribe(), MAC)


def batcher(link: FakeLink, **options: object) -> Batcher:
    defaults: dict[str, object] = {"timeout": 2.0, "backoff_base": 0.01, "backoff_cap": 0.05}
    return Batcher(link, **{**defaults, **options})  # type: ignore[arg-type]


async def test_commands_of_one_tick_share_one_request() -> None:
    link = FakeLink()
    b = batcher(link)
    results = await asyncio.gather(*(b.submit(ping()) for _ in range(500)))
    assert results == [queue.Pong()] * 500
    assert len(link.requests) == 1
    assert b.requests_sent == 1


async def test_answers_come_back_in_order_with_authentication() -> None:
    def echo_entity(_s: bytes, t: queue.Transmission) -> queue.Response:
        n = int.from_bytes(t.entity_id, "big")
        return queue.Ok() if n % 2 else queue.Err(ErrorCode.AUTH)

    link = FakeLink(echo_entity)
    b = batcher(link)
    results = await b.run([sub(i) for i in range(10)])
    assert results == [queue.Ok() if i % 2 else queue.Err(ErrorCode.AUTH) for i in range(10)]
    assert all(len(t.auth) == 32 for t in link.requests[0])


async def test_batch_count_limit_splits_requests() -> None:
    link = FakeLink()
    b = batcher(link, max_batch=100)
    await b.run([ping() for _ in range(250)])
    assert [len(r) for r in link.requests] == [100, 100, 50]


async def test_one_call_is_not_cut_across_requests_when_it_fits_in_one() -> None:
    """An outbox round (one call) must reach the server in one request: parts in concurrent
    requests could run out of order."""
    link = FakeLink()
    b = batcher(link, max_batch=10)
    first = [ping() for _ in range(4)]
    second = [ping() for _ in range(8)]
    await asyncio.gather(b.run(first), b.run(second))
    assert [len(r) for r in link.requests] == [4, 8]


async def test_a_call_larger_than_a_request_is_still_split() -> None:
    link = FakeLink()
    b = batcher(link, max_batch=10)
    await asyncio.gather(b.run([ping() for _ in range(3)]), b.run([ping() for _ in range(15)]))
    assert [len(r) for r in link.requests] == [10, 8]


async def test_batch_byte_limit_splits_requests() -> None:
    link = FakeLink()
    b = batcher(link)  # real limits: 4 MiB per request, SEND bodies are padded to 16 KB
    sends = [Request(os.urandom(24), queue.Send(b"x"), MAC) for _ in range(600)]
    await b.run(sends)
    sizes = [len(r) for r in link.requests]
    assert sum(sizes) == 600 and len(sizes) == 3
    per_send = 4 + 33 + 16 + 25 + len(queue.encode_command(queue.Send(b"x")))
    assert max(sizes) * per_send <= queue.MAX_REQUEST_BYTES
    assert max(sizes) == (queue.MAX_REQUEST_BYTES - 36) // per_send


async def test_requests_in_flight_are_bounded_and_commands_collect_meanwhile() -> None:
    link = FakeLink()
    link.gate = asyncio.Event()
    b = batcher(link, max_in_flight=2, linger=0.0, max_batch=10)
    first = asyncio.gather(b.run([ping() for _ in range(30)]))
    await asyncio.sleep(0.01)
    later = asyncio.gather(*(b.submit(ping()) for _ in range(15)))
    await asyncio.sleep(0.01)
    assert link.in_flight == 2 and b.pending == 10 + 15
    link.gate.set()
    await asyncio.gather(first, later)
    assert link.max_in_flight == 2
    assert sum(len(r) for r in link.requests) == 45
    assert len(link.requests) == 5  # 10 + 10 in flight, then 10 + 10 + 5: full batches


async def test_with_a_request_in_flight_new_commands_wait_for_linger() -> None:
    link = FakeLink()
    link.gate = asyncio.Event()
    b = batcher(link, linger=0.05)
    stuck = asyncio.create_task(b.submit(ping()))
    await asyncio.sleep(0.01)
    waiting = [asyncio.create_task(b.submit(ping())) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert b.pending == 5 and link.in_flight == 1  # collecting
    await asyncio.sleep(0.08)
    assert b.pending == 0 and link.in_flight == 2  # lingered long enough: sent together
    link.gate.set()
    await asyncio.gather(stuck, *waiting)
    assert sorted(len(r) for r in link.requests) == [1, 5]


async def test_network_failure_is_retried_with_new_correlation_ids() -> None:
    link = FakeLink(lambda _s, _t: queue.Ok())
    link.failures = [NetworkError("reset", sent=True), NetworkError("refused", sent=False)]
    b = batcher(link)
    assert await b.submit(sub()) == queue.Ok()
    assert len(link.requests) == 3
    corr_ids = {r[0].corr_id for r in link.requests}
    assert len(corr_ids) == 3


async def test_new_is_not_retried_after_an_ambiguous_failure() -> None:
    link = FakeLink()
    link.failures = [NetworkError("reset after sending", sent=True)]
    b = batcher(link)
    with pytest.raises(ServerUnreachable, match="not retried"):
        await b.submit(Request(b"", queue.New(os.urandom(32))))
    assert len(link.requests) == 1


async def test_new_is_retried_when_the_request_was_never_sent() -> None:
    link = FakeLink(lambda _s, _t: queue.Ok())
    link.failures = [NetworkError("connection refused", sent=False)]
    b = batcher(link)
    assert await b.submit(Request(b"", queue.New(os.urandom(32)))) == queue.Ok()
    assert len(link.requests) == 2


async def test_unreachable_after_the_timeout() -> None:
    link = FakeLink()
    link.failures = [NetworkError("down", sent=False)] * 1000
    b = batcher(link, timeout=0.3, backoff_base=0.02, backoff_cap=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ServerUnreachable):
        await b.submit(ping())
    # It gave up at the deadline, not at the first failure nor much later (the upper
    # bound leaves room for a loaded machine: 0.5 s failed under load).
    assert 0.15 < loop.time() - started < 2.0
    assert len(link.requests) >= 3


async def test_session_expiry_opens_a_new_session_and_resigns() -> None:
    link = FakeLink(lambda _s, _t: queue.Ok())
    b = batcher(link)
    old = link.session_id
    link.failures = [SessionExpired(old)]
    assert await b.run([sub(1), sub(2)]) == [queue.Ok(), queue.Ok()]
    assert link.renewals == 1 and link.session_id != old
    assert len(link.requests) == 2  # the FakeLink verified the new authenticators


async def test_per_command_session_refusal_resends_only_those() -> None:
    calls: list[bytes] = []

    def handler(session: bytes, t: queue.Transmission) -> queue.Response:
        calls.append(t.entity_id)
        if session == first_session and t.entity_id == sub(2).entity_id:
            return queue.Err(ErrorCode.SESSION)
        return queue.Ok()

    link = FakeLink(handler)
    first_session = link.session_id
    b = batcher(link)
    assert await b.run([sub(1), sub(2)]) == [queue.Ok(), queue.Ok()]
    assert link.renewals == 1
    assert [len(r) for r in link.requests] == [2, 1]


async def test_a_server_that_keeps_refusing_sessions_gives_server_error() -> None:
    link = FakeLink(lambda _s, _t: queue.Err(ErrorCode.SESSION))
    b = batcher(link)
    with pytest.raises(ServerError) as info:
        await b.submit(ping())
    assert info.value.code is ErrorCode.SESSION


async def test_retried_ack_answered_no_msg_means_done() -> None:
    link = FakeLink(lambda _s, _t: queue.Err(ErrorCode.NO_MSG))
    link.failures = [NetworkError("reset", sent=True)]
    b = batcher(link)
    ack = Request(os.urandom(24), queue.Ack(os.urandom(24)), MAC)
    assert await b.submit(ack) == queue.Ok()
    # Without a retry, NO_MSG is the server's answer.
    assert await b.submit(ack) == queue.Err(ErrorCode.NO_MSG)


async def test_whole_request_refusal_fails_every_command() -> None:
    link = FakeLink()
    link.failures = [ServerError(ErrorCode.LARGE_BATCH, "too big")]
    b = batcher(link)
    with pytest.raises(ServerError) as info:
        await b.run([ping(), ping()])
    assert info.value.code is ErrorCode.LARGE_BATCH


async def test_malformed_answer_is_a_transport_error() -> None:
    link = FakeLink()
    link.reply = lambda _body: queue.encode_batch_response([])  # no answers at all
    b = batcher(link)
    with pytest.raises(TransportError, match="malformed"):
        await b.submit(ping())


async def test_cancelled_caller_is_skipped() -> None:
    link = FakeLink()
    link.gate = asyncio.Event()
    b = batcher(link, linger=10.0)
    first = asyncio.create_task(b.submit(ping()))
    await asyncio.sleep(0.01)
    gone = asyncio.create_task(b.submit(ping()))
    await asyncio.sleep(0.01)
    gone.cancel()
    link.gate.set()
    await first
    await asyncio.sleep(0.01)
    assert [len(r) for r in link.requests] == [1]
    assert b.pending == 0


async def test_close_fails_pending_commands() -> None:
    link = FakeLink()
    link.gate = asyncio.Event()
    b = batcher(link, linger=10.0)
    stuck = asyncio.create_task(b.submit(ping()))
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(b.submit(ping()))
    await asyncio.sleep(0.01)
    await b.close()
    for fut in (stuck, waiting):
        with pytest.raises(ServerUnreachable):
            await fut
    with pytest.raises(ServerUnreachable):
        await b.submit(ping())


async def test_unencodable_command_raises_before_sending() -> None:
    link = FakeLink()
    b = batcher(link)
    with pytest.raises(Exception, match="LARGE_MSG"):
        await b.submit(Request(os.urandom(24), queue.Send(bytes(queue.MAX_BODY + 1)), MAC))
    assert link.requests == []
