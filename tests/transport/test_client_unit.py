"""Pure parts of the transport: credentials, backoff, frames to events, error mapping,
event dispatch, the stream's HTTP parsing."""

from __future__ import annotations

import asyncio
import json
import os
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simplextui.crypto.queue_auth import KeyPair, seal_delivery
from simplextui.protocol import queue
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.transport.backoff import Backoff, backoff_ceiling, jittered_delay
from simplextui.transport.connection import error_from_response
from simplextui.transport.dispatch import EventDispatcher
from simplextui.transport.errors import NetworkError, ServerError, SessionExpired
from simplextui.transport.events import (
    DeliveryError,
    MessageReceived,
    QueueDeleted,
    QuotaMarker,
    SubscriptionEnded,
    TransportEvent,
)
from simplextui.transport.frames import frame_event, frame_events
from simplextui.transport.keys import LinkOwner, RecipientQueue, SenderQueue
from simplextui.transport.rawstream import ChunkedDecoder, parse_head

SERVER = ServerAddress(os.urandom(32), "127.0.0.1", 5223)


def recipient_queue(mode: queue.QueueMode = queue.QueueMode.MESSAGING) -> RecipientQueue:
    return RecipientQueue(os.urandom(24), os.urandom(24), SERVER, KeyPair.generate(),
                          os.urandom(32), os.urandom(32), os.urandom(32), mode)


# ------------------------------------------------------------------------- credentials


def json_round_trip(data: dict[str, object]) -> dict[str, object]:
    return json.loads(json.dumps(data))  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", list(queue.QueueMode))
def test_recipient_queue_round_trip(mode: queue.QueueMode) -> None:
    q = recipient_queue(mode)
    assert RecipientQueue.from_dict(json_round_trip(q.to_dict())) == q


def test_sender_queue_round_trip_both_modes() -> None:
    secured = SenderQueue(os.urandom(24), SERVER, KeyPair.generate(), os.urandom(32))
    contact = SenderQueue(os.urandom(24), SERVER, None, None)
    for s in (secured, contact):
        assert SenderQueue.from_dict(json_round_trip(s.to_dict())) == s
    assert contact.is_contact and not secured.is_contact


def test_link_owner_round_trip() -> None:
    owner = LinkOwner(os.urandom(24), SERVER, KeyPair.generate(), os.urandom(32))
    assert LinkOwner.from_dict(json_round_trip(owner.to_dict())) == owner


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("delivery_key"),
    lambda d: d.update(recipient_id="AAAA"),  # wrong size
    lambda d: d.update(mode="X"),
    lambda d: d.update(server="https://example.com"),
    lambda d: d.update(recipient_keypair="not an object"),
    lambda d: d.update(sender_id=12),
    lambda d: d.update(delivery_key="a+b/"),  # not base64url
])
def test_bad_recipient_credentials_are_refused(breakage: object) -> None:
    data = recipient_queue().to_dict()
    breakage(data)  # type: ignore[operator]
    with pytest.raises(ProtocolError):
        RecipientQueue.from_dict(data)


def test_sender_queue_needs_both_keys_or_none() -> None:
    with pytest.raises(ProtocolError):
        SenderQueue(os.urandom(24), SERVER, KeyPair.generate(), None)
    data = SenderQueue(os.urandom(24), SERVER, None, None).to_dict()
    data["sender_mac_key"] = "A" * 43
    with pytest.raises(ProtocolError):
        SenderQueue.from_dict(data)


# ----------------------------------------------------------------------------- backoff


def test_backoff_ceilings_double_up_to_the_cap() -> None:
    assert [backoff_ceiling(n, 0.1, 10.0) for n in range(9)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0])
    assert backoff_ceiling(10_000, 0.1, 10.0) == 10.0


@given(attempt=st.integers(0, 200), base=st.floats(0.001, 5.0), cap=st.floats(0.001, 60.0),
       seed=st.integers(0, 2**32))
def test_jittered_delay_stays_within_bounds(attempt: int, base: float, cap: float,
                                            seed: int) -> None:
    delay = jittered_delay(attempt, base, cap, random.Random(seed))
    ceiling = backoff_ceiling(attempt, base, cap)
    assert min(base / 2, ceiling) <= delay <= ceiling <= max(cap, 0)


def test_backoff_sequence_is_jittered_and_resets() -> None:
    b = Backoff(0.1, 10.0, random.Random(1))
    delays = [b.next_delay() for _ in range(12)]
    assert all(0.05 <= d <= 10.0 for d in delays)
    assert len(set(delays)) == len(delays)  # jitter: no two equal
    assert max(delays[8:]) > 1.0  # grows towards the cap
    b.reset()
    assert b.next_delay() <= 0.1


# ------------------------------------------------------------------------------ frames


def message_frame(q: RecipientQueue, body: bytes = b"hi", *, flags: int = 1,
                  kind: queue.MessageKind = queue.MessageKind.MESSAGE,
                  key: bytes | None = None) -> queue.MessageFrame:
    msg_id = os.urandom(24)
    plain = queue.encode_delivered(queue.DeliveredMessage(1234, flags, kind, body))
    block = seal_delivery(key or q.delivery_key, msg_id, plain)
    return queue.MessageFrame(q.recipient_id, msg_id, block)


def test_message_frame_is_decrypted() -> None:
    q = recipient_queue()
    frame = message_frame(q, b"hello")
    event = frame_event(SERVER, {q.recipient_id: q}, frame)
    assert event == MessageReceived(SERVER, q.recipient_id, frame.msg_id, 1234, 1, b"hello")


def test_quota_marker() -> None:
    q = recipient_queue()
    frame = message_frame(q, b"", kind=queue.MessageKind.QUOTA)
    assert frame_event(SERVER, {q.recipient_id: q}, frame) == QuotaMarker(
        SERVER, q.recipient_id, frame.msg_id)


def test_undecryptable_block_is_a_delivery_error() -> None:
    q = recipient_queue()
    frame = message_frame(q, key=os.urandom(32))
    event = frame_event(SERVER, {q.recipient_id: q}, frame)
    assert isinstance(event, DeliveryError) and event.msg_id == frame.msg_id


def test_unparsable_plaintext_is_a_delivery_error() -> None:
    q = recipient_queue()
    msg_id = os.urandom(24)
    block = seal_delivery(q.delivery_key, msg_id, b"\xff" * queue.DELIVERY_PLAINTEXT)
    event = frame_event(SERVER, {q.recipient_id: q},
                        queue.MessageFrame(q.recipient_id, msg_id, block))
    assert isinstance(event, DeliveryError)


def test_message_of_an_unknown_queue_is_ignored() -> None:
    q = recipient_queue()
    assert frame_event(SERVER, {}, message_frame(q)) is None


def test_end_and_deleted_forget_the_queue() -> None:
    a, b = recipient_queue(), recipient_queue()
    queues = {a.recipient_id: a, b.recipient_id: b}
    events = frame_events(SERVER, queues, [queue.EndFrame(a.recipient_id), queue.PingFrame(),
                                           queue.DeletedFrame(b.recipient_id)])
    assert events == [SubscriptionEnded(SERVER, a.recipient_id),
                      QueueDeleted(SERVER, b.recipient_id)]
    assert queues == {}


def test_frames_split_across_chunks_decode_in_order() -> None:
    q = recipient_queue()
    frames = [message_frame(q, bytes([i])) for i in range(5)]
    data = b"".join(queue.encode_frame(f) for f in frames)
    decoder = queue.FrameDecoder()
    events: list[TransportEvent] = []
    for i in range(0, len(data), 7000):
        events += frame_events(SERVER, {q.recipient_id: q}, decoder.feed(data[i : i + 7000]))
    assert [e.body for e in events if isinstance(e, MessageReceived)] == [
        bytes([i]) for i in range(5)]


# ----------------------------------------------------------------------- error mapping


def test_whole_request_errors_map_to_types() -> None:
    sid = os.urandom(32)
    expired = error_from_response(401, b'{"error": "SESSION", "message": "gone"}', sid)
    assert isinstance(expired, SessionExpired) and expired.session_id == sid
    large = error_from_response(413, b'{"error": "LARGE_BATCH", "message": "big"}', sid)
    assert isinstance(large, ServerError) and large.code is ErrorCode.LARGE_BATCH
    assert isinstance(error_from_response(401, b"nonsense", sid), SessionExpired)
    odd = error_from_response(400, b"<html>", sid)
    assert isinstance(odd, ServerError) and odd.code is ErrorCode.SYNTAX
    crash = error_from_response(503, b"", sid)
    assert isinstance(crash, NetworkError) and crash.sent


# -------------------------------------------------------------------------- dispatching


async def test_dispatcher_bounds_concurrency_and_survives_handler_errors() -> None:
    running = peak = 0
    done: list[int] = []

    async def handler(event: TransportEvent) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        assert isinstance(event, SubscriptionEnded)
        if event.recipient_id == b"\x03":
            raise RuntimeError("handler bug")
        done.append(event.recipient_id[0])

    dispatcher = EventDispatcher(handler, concurrency=4)
    for i in range(20):
        await dispatcher.emit(SubscriptionEnded(SERVER, bytes([i])))
    await dispatcher.drain()
    assert peak == 4
    assert sorted(done) == [i for i in range(20) if i != 3]


# ----------------------------------------------------------------- stream HTTP parsing


def chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n\r\n"


@given(parts=st.lists(st.binary(max_size=300), max_size=8),
       cuts=st.lists(st.integers(1, 50), max_size=40))
def test_chunked_decoder_reassembles_any_split(parts: list[bytes], cuts: list[int]) -> None:
    data = chunked(parts)
    decoder = ChunkedDecoder()
    out: list[bytes] = []
    pos = 0
    for cut in [*cuts, len(data)]:
        out += decoder.feed(data[pos : pos + cut])
        pos += cut
        if pos >= len(data):
            break
    out += decoder.feed(data[pos:])
    assert b"".join(out) == b"".join(parts)
    assert decoder.done


def test_chunked_decoder_accepts_extensions_and_refuses_garbage() -> None:
    decoder = ChunkedDecoder()
    assert b"".join(decoder.feed(b"3;ext=1\r\nabc\r\n0\r\n\r\n")) == b"abc"
    for bad in (b"zz\r\n", b"3\r\nabcXY", b"1" * 2000):
        with pytest.raises(NetworkError):
            ChunkedDecoder().feed(bad)


def test_parse_head() -> None:
    status, headers = parse_head(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n"
                                 b"content-type: application/json")
    assert status == 401 and headers == {"content-length": "12",
                                         "content-type": "application/json"}
    for bad in (b"SMTP 200", b"HTTP/1.1 abc", b"HTTP/1.1 200 OK\r\nno colon"):
        with pytest.raises(NetworkError):
            parse_head(bad)
