"""Wire format v1 of the queue server: round trips, strict parsing, fuzzing."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simplextui.protocol import codec
from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode, ProtocolError

FAST = settings(derandomize=True, max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _raises(code: ErrorCode | None = None) -> Any:
    if code is None:
        return pytest.raises(ProtocolError)
    return pytest.raises(ProtocolError, check=lambda e: e.code == code)


def _rand(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


# ------------------------------------------------------------------------ strategies

ids = st.binary(min_size=q.ID_SIZE, max_size=q.ID_SIZE)
keys = st.binary(min_size=q.KEY_SIZE, max_size=q.KEY_SIZE)
corr_ids = st.binary(min_size=q.CORR_ID_SIZE, max_size=q.CORR_ID_SIZE)
session_ids = st.binary(min_size=q.SESSION_ID_SIZE, max_size=q.SESSION_ID_SIZE)
u8s, u16s = st.integers(0, 0xFF), st.integers(0, 0xFFFF)
bodies = st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"\x00" * q.MAX_BODY]),
                   st.integers(0, 2**32).map(lambda s: _rand(s, q.MAX_BODY)))
fixed_parts = st.one_of(st.binary(max_size=200), st.just(b"f" * q.MAX_FIXED_DATA))
user_parts = st.one_of(st.binary(max_size=200), st.just(b"u" * q.MAX_USER_DATA))
blocks = st.integers(0, 2**32).map(lambda s: _rand(s, q.DELIVERY_BLOCK))

commands: st.SearchStrategy[q.Command] = st.one_of(
    st.builds(q.New, keys, st.sampled_from(q.QueueMode)),
    st.builds(q.SecureQueue, keys),
    st.builds(q.Send, bodies, u8s),
    st.just(q.Subscribe()),
    st.builds(q.Ack, ids),
    st.just(q.Suspend()),
    st.just(q.Delete()),
    st.builds(q.LinkNew, keys, fixed_parts, user_parts),
    st.just(q.LinkGet()),
    st.builds(q.LinkSet, user_parts),
    st.just(q.LinkDelete()),
    st.just(q.Ping()),
)
responses: st.SearchStrategy[q.Response] = st.one_of(
    st.just(q.Ok()),
    st.builds(q.QueueIds, ids, ids, keys, keys),
    st.builds(q.LinkIds, keys),
    st.builds(q.LinkData, fixed_parts, user_parts),
    st.just(q.Pong()),
    st.builds(q.Err, st.sampled_from(ErrorCode)),
)
frames: st.SearchStrategy[q.Frame] = st.one_of(
    st.builds(q.MessageFrame, ids, ids, blocks),
    st.builds(q.EndFrame, ids),
    st.builds(q.DeletedFrame, ids),
    st.just(q.PingFrame()),
)
delivered = st.builds(
    q.DeliveredMessage, st.integers(0, 2**64 - 1), u8s, st.sampled_from(q.MessageKind),
    st.one_of(st.binary(max_size=300), st.just(b"\xff" * (q.DELIVERY_PLAINTEXT - 12))))


# ------------------------------------------------------------------------ round trips


@given(commands)
@FAST
def test_command_round_trip(cmd: q.Command) -> None:
    data = q.encode_command(cmd)
    assert q.decode_command(data) == cmd
    assert q.encode_command(q.decode_command(data)) == data


@given(responses)
@FAST
def test_response_round_trip(resp: q.Response) -> None:
    data = q.encode_response(resp)
    assert q.decode_response(data) == resp


@given(corr_ids, st.binary(max_size=255), commands, st.sampled_from([b"", b"a" * 32]))
@FAST
def test_transmission_round_trip(corr: bytes, entity: bytes, cmd: q.Command,
                                 auth: bytes) -> None:
    t = q.Transmission(corr, entity, q.encode_command(cmd), auth)
    back = q.decode_transmission(q.encode_transmission(t))
    assert back == t
    assert q.decode_command(back.command) == cmd


@given(corr_ids, st.binary(max_size=255), responses)
@FAST
def test_response_transmission_round_trip(corr: bytes, entity: bytes,
                                          resp: q.Response) -> None:
    t = q.ResponseTransmission(corr, entity, resp)
    assert q.decode_response_transmission(q.encode_response_transmission(t)) == t


@given(u16s, session_ids, st.lists(st.binary(max_size=100), max_size=20))
@FAST
def test_batch_round_trip(version: int, session: bytes, items: list[bytes]) -> None:
    b = q.BatchRequest(version, session, items)
    assert q.decode_batch_request(q.encode_batch_request(b)) == b
    assert q.decode_batch_response(q.encode_batch_response(items)) == items


@given(u16s, u16s, session_ids, st.integers(0, 2**64 - 1))
@FAST
def test_session_round_trip(a: int, b: int, session: bytes, now_ms: int) -> None:
    hello = q.SessionHello(min(a, b), max(a, b))
    assert q.decode_session_hello(q.encode_session_hello(hello)) == hello
    info = q.SessionInfo(a, session, now_ms)
    assert q.decode_session_info(q.encode_session_info(info)) == info


@given(st.lists(frames, max_size=4))
@FAST
def test_frame_round_trip(fs: list[q.Frame]) -> None:
    data = b"".join(q.encode_frame(f) for f in fs)
    assert q.FrameDecoder().feed(data) == fs
    for f in fs:
        encoded = q.encode_frame(f)
        assert int.from_bytes(encoded[:4], "big") == len(encoded) - 4 <= q.MAX_FRAME
        assert q.decode_frame(encoded[4:]) == f


@given(delivered)
@FAST
def test_delivered_round_trip(m: q.DeliveredMessage) -> None:
    data = q.encode_delivered(m)
    assert len(data) == q.DELIVERY_PLAINTEXT  # every block is the same size
    assert q.decode_delivered(data) == m


@given(bodies)
@FAST
def test_padding_round_trip(body: bytes) -> None:
    padded = q.pad_body(body)
    assert len(padded) == q.PADDED_BODY
    assert q.unpad_body(padded) == body
    # A SEND has the same size whatever its body.
    assert len(q.encode_command(q.Send(body))) == len(q.encode_command(q.Send(b"")))


def test_authorized_bytes_are_unambiguous() -> None:
    s, c = b"s" * 32, b"c" * 16
    assert q.authorized_bytes(s, c, b"ab", b"c") != q.authorized_bytes(s, c, b"a", b"bc")
    assert q.authorized_bytes(s, c, b"e", b"cmd") != q.authorized_bytes(b"t" * 32, c, b"e",
                                                                       b"cmd")


# ------------------------------------------------------------------ strict parsing

_BODY = bytes(range(256)) * 4
_SAMPLE_COMMANDS: list[q.Command] = [
    q.New(b"k" * 32, q.QueueMode.CONTACT), q.SecureQueue(b"k" * 32), q.Send(_BODY, 1),
    q.Subscribe(), q.Ack(b"i" * 24), q.Suspend(), q.Delete(),
    q.LinkNew(b"k" * 32, b"fixed", b"user"), q.LinkGet(), q.LinkSet(b"user"), q.LinkDelete(),
    q.Ping(),
]
_SAMPLE_RESPONSES: list[q.Response] = [
    q.Ok(), q.QueueIds(b"r" * 24, b"s" * 24, b"k" * 32, b"l" * 32), q.LinkIds(b"k" * 32),
    q.LinkData(b"fixed", b"user"), q.LinkData(b"", b""), q.Pong(), q.Err(ErrorCode.QUOTA),
]
_SAMPLE_FRAMES: list[q.Frame] = [
    q.MessageFrame(b"r" * 24, b"m" * 24, _rand(1, q.DELIVERY_BLOCK)), q.EndFrame(b"r" * 24),
    q.DeletedFrame(b"r" * 24), q.PingFrame(),
]

# (decoder, valid encoding) pairs: each decoder is strict about its whole input.
_STRICT: list[tuple[str, Callable[[bytes], object], bytes]] = (
    [(f"command-{type(c).__name__}", q.decode_command, q.encode_command(c))
     for c in _SAMPLE_COMMANDS]
    + [(f"response-{type(r).__name__}", q.decode_response, q.encode_response(r))
       for r in _SAMPLE_RESPONSES]
    + [(f"frame-{type(f).__name__}", q.decode_frame, q.encode_frame(f)[4:])
       for f in _SAMPLE_FRAMES]
    + [
        ("response-transmission", q.decode_response_transmission,
         q.encode_response_transmission(q.ResponseTransmission(b"c" * 16, b"e" * 24,
                                                               q.LinkData(b"f", b"u")))),
        ("batch", q.decode_batch_request,
         q.encode_batch_request(q.BatchRequest(1, b"s" * 32, [b"abc", b"", b"defg"]))),
        ("batch-response", q.decode_batch_response, q.encode_batch_response([b"xy", b"z"])),
        ("session-hello", q.decode_session_hello, q.encode_session_hello(q.SessionHello(1, 2))),
        ("session-info", q.decode_session_info,
         q.encode_session_info(q.SessionInfo(1, b"s" * 32, 12345))),
        ("delivered", q.decode_delivered, q.encode_delivered(
            q.DeliveredMessage(1, 2, q.MessageKind.MESSAGE, b"body"))),
        ("padded-body", q.unpad_body, q.pad_body(b"body")),
    ]
)


@pytest.mark.parametrize(("decode", "data"), [(d, b) for _, d, b in _STRICT],
                         ids=[name for name, _, _ in _STRICT])
def test_every_truncation_raises_protocol_error(decode: Callable[[bytes], object],
                                                data: bytes) -> None:
    decode(data)  # the full encoding is valid
    for n in range(len(data)):
        with _raises():
            decode(data[:n])


@pytest.mark.parametrize(("decode", "data"), [(d, b) for _, d, b in _STRICT],
                         ids=[name for name, _, _ in _STRICT])
def test_trailing_bytes_are_rejected(decode: Callable[[bytes], object], data: bytes) -> None:
    for extra in (b"\x00", b"x", b"\x00" * 40):
        with _raises():
            decode(data + extra)


def test_transmission_truncation() -> None:
    """A transmission's command is its tail, kept verbatim for the authenticator: cut in
    the header it fails; cut in the command, the command then fails to decode."""
    cmd = q.encode_command(q.LinkNew(b"k" * 32, b"fixed", b"user"))
    data = q.encode_transmission(q.Transmission(b"c" * 16, b"e" * 24, cmd, b"a" * 32))
    header = len(data) - len(cmd)
    for n in range(len(data)):
        if n < header:
            with _raises():
                q.decode_transmission(data[:n])
        else:
            t = q.decode_transmission(data[:n])
            assert t.command == cmd[: n - header]
            with _raises():
                q.decode_command(t.command)
    with _raises():
        q.decode_command(q.decode_transmission(data + b"\x00").command)


@given(commands, st.data())
@FAST
def test_random_truncation_of_any_command(cmd: q.Command, data: st.DataObject) -> None:
    encoded = q.encode_command(cmd)
    n = data.draw(st.integers(0, len(encoded) - 1))
    with _raises():
        q.decode_command(encoded[:n])


@given(responses, st.data())
@FAST
def test_random_truncation_of_any_response(resp: q.Response, data: st.DataObject) -> None:
    encoded = q.encode_response(resp)
    n = data.draw(st.integers(0, len(encoded) - 1))
    with _raises():
        q.decode_response(encoded[:n])


@pytest.mark.parametrize(("decode", "data"), [
    (q.decode_command, codec.tag("NOPE")),
    (q.decode_command, codec.tag("send") + bytes(1 + q.PADDED_BODY)),
    (q.decode_command, codec.tag("")),
    (q.decode_command, b"\x03\xffOK"),
    (q.decode_command, codec.tag("NEW") + b"k" * 32 + b"Z"),  # unknown queue mode
    (q.decode_command, codec.tag("NEW") + b"k" * 32 + b"m"),
    (q.decode_response, codec.tag("NOPE")),
    (q.decode_response, codec.tag("ERR") + codec.tag("BOGUS")),
    (q.decode_response, codec.tag("ERR") + codec.tag("auth")),
    (q.decode_frame, codec.tag("MSGX")),
    (q.decode_frame, codec.tag("SEND")),
    (q.decode_delivered, codec.u64(1) + b"\x00" + b"Z" + bytes(q.DELIVERY_PLAINTEXT - 10)),
], ids=lambda v: v[:12].hex() if isinstance(v, bytes) else v.__name__)
def test_unknown_tags(decode: Callable[[bytes], object], data: bytes) -> None:
    with _raises(ErrorCode.SYNTAX):
        decode(data)


def test_oversized_bodies() -> None:
    with _raises(ErrorCode.LARGE_MSG):
        q.encode_command(q.Send(b"x" * (q.MAX_BODY + 1)))
    with _raises(ErrorCode.LARGE_MSG):
        q.pad_body(b"x" * (q.MAX_BODY + 1))
    # A padded SEND whose length field claims more than the maximum.
    lying = codec.tag("SEND") + b"\x00" + codec.u16(q.MAX_BODY + 1) + bytes(q.MAX_BODY)
    with _raises(ErrorCode.LARGE_MSG):
        q.decode_command(lying)
    with _raises(ErrorCode.LARGE_MSG):
        q.unpad_body(codec.u16(0xFFFF) + bytes(q.MAX_BODY))
    big = q.DeliveredMessage(0, 0, q.MessageKind.MESSAGE, b"x" * (q.DELIVERY_PLAINTEXT - 11))
    with _raises(ErrorCode.LARGE_MSG):
        q.encode_delivered(big)
    for cmd in (q.LinkNew(b"k" * 32, b"f" * (q.MAX_FIXED_DATA + 1), b""),
                q.LinkNew(b"k" * 32, b"", b"u" * (q.MAX_USER_DATA + 1)),
                q.LinkSet(b"u" * (q.MAX_USER_DATA + 1))):
        with _raises(ErrorCode.LARGE_MSG):
            q.encode_command(cmd)
    for raw in (codec.tag("LNEW") + b"k" * 32 + codec.medium(b"f" * (q.MAX_FIXED_DATA + 1))
                + codec.medium(b""),
                codec.tag("LNEW") + b"k" * 32 + codec.medium(b"")
                + codec.medium(b"u" * (q.MAX_USER_DATA + 1)),
                codec.tag("LSET") + codec.medium(b"u" * (q.MAX_USER_DATA + 1))):
        with _raises(ErrorCode.LARGE_MSG):
            q.decode_command(raw)


@pytest.mark.parametrize("tail", [
    b"",
    codec.u16(3) + b"abc",  # unpadded
    q.pad_body(b"abc")[:-1],  # one byte short
    q.pad_body(b"abc") + b"\x00",  # one byte over
])
def test_unpadded_send_is_rejected(tail: bytes) -> None:
    with _raises(ErrorCode.LARGE_MSG):
        q.decode_command(codec.tag("SEND") + b"\x00" + tail)


def test_batch_limits() -> None:
    with _raises(ErrorCode.LARGE_BATCH):
        q.encode_batch_request(q.BatchRequest(1, b"s" * 32, [b""] * (q.MAX_BATCH + 1)))
    too_many = codec.u16(1) + b"s" * 32 + codec.u16(q.MAX_BATCH + 1)
    with _raises(ErrorCode.LARGE_BATCH):
        q.decode_batch_request(too_many + codec.u32(0) * (q.MAX_BATCH + 1))
    with _raises(ErrorCode.LARGE_BATCH):
        q.decode_batch_request(bytes(q.MAX_REQUEST_BYTES + 1))
    with _raises(ErrorCode.LARGE_MSG):
        q.decode_batch_request(codec.u16(1) + b"s" * 32 + codec.u16(1)
                               + codec.u32(q.MAX_REQUEST_BYTES + 1))
    full = q.BatchRequest(1, b"s" * 32, [b""] * q.MAX_BATCH)
    assert q.decode_batch_request(q.encode_batch_request(full)) == full


def test_delivered_padding_must_be_zero() -> None:
    good = q.encode_delivered(q.DeliveredMessage(5, 0, q.MessageKind.QUOTA, b""))
    for i in (12, 100, len(good) - 1):
        bad = bytearray(good)
        bad[i] = 1
        with _raises(ErrorCode.SYNTAX):
            q.decode_delivered(bytes(bad))
    # A length field pointing past the block.
    over = bytearray(good)
    over[10:12] = codec.u16(q.DELIVERY_PLAINTEXT)
    with _raises():
        q.decode_delivered(bytes(over))


def test_session_version_negotiation() -> None:
    assert q.negotiate_version(q.SessionHello(1, 1)) == 1
    assert q.negotiate_version(q.SessionHello(0, 9)) == 1
    for lo, hi in ((2, 2), (2, 9), (0, 0)):
        with _raises(ErrorCode.VERSION):
            q.negotiate_version(q.SessionHello(lo, hi))
    with _raises(ErrorCode.SYNTAX):
        q.decode_session_hello(codec.u16(2) + codec.u16(1))


@pytest.mark.parametrize("encode", [
    lambda: q.encode_command(q.New(b"k" * 31)),
    lambda: q.encode_command(q.SecureQueue(b"k" * 33)),
    lambda: q.encode_command(q.Ack(b"i" * 23)),
    lambda: q.encode_command("SEND"),
    lambda: q.encode_response(q.QueueIds(b"r" * 24, b"s" * 23, b"k" * 32, b"k" * 32)),
    lambda: q.encode_response(q.LinkIds(b"")),
    lambda: q.encode_response(q.LinkData(b"f" * 65_536, b"")),
    lambda: q.encode_response("OK"),
    lambda: q.encode_transmission(q.Transmission(b"c" * 16, b"e", b"", b"a" * 31)),
    lambda: q.encode_transmission(q.Transmission(b"c" * 15, b"e", b"")),
    lambda: q.encode_transmission(q.Transmission(b"c" * 16, b"e" * 256, b"")),
    lambda: q.encode_batch_request(q.BatchRequest(1, b"s" * 31, [])),
    lambda: q.encode_session_info(q.SessionInfo(1, b"s" * 33, 0)),
    lambda: q.encode_frame(q.MessageFrame(b"r" * 24, b"m" * 24, b"short")),
    lambda: q.encode_frame(q.EndFrame(b"r")),
    lambda: q.encode_frame("PING"),
])
def test_encoders_refuse_malformed_values(encode: Callable[[], bytes]) -> None:
    with _raises():
        encode()


def test_transmission_auth_must_be_empty_or_32_bytes() -> None:
    for auth in (b"a", b"a" * 31, b"a" * 33):
        data = codec.short(auth) + b"c" * 16 + codec.short(b"e") + q.encode_command(q.Ping())
        with _raises(ErrorCode.SYNTAX):
            q.decode_transmission(data)


# --------------------------------------------------------------------- frame decoder


def _stream_bytes() -> tuple[bytes, list[q.Frame]]:
    fs: list[q.Frame] = [q.PingFrame(), *_SAMPLE_FRAMES, q.EndFrame(b"x" * 24)]
    return b"".join(q.encode_frame(f) for f in fs), fs


def test_frame_decoder_split_at_every_byte() -> None:
    data, expected = _stream_bytes()
    for i in range(len(data) + 1):
        decoder = q.FrameDecoder()
        got = decoder.feed(data[:i])
        got += decoder.feed(data[i:])
        assert got == expected, i


def test_frame_decoder_one_byte_at_a_time() -> None:
    data, expected = _stream_bytes()
    decoder = q.FrameDecoder()
    got: list[q.Frame] = []
    for i in range(len(data)):
        got += decoder.feed(data[i : i + 1])
    assert got == expected
    assert decoder.feed(b"") == []


def test_frame_decoder_random_splits() -> None:
    data, expected = _stream_bytes()
    rng = random.Random(7)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(data)), 5))
        decoder = q.FrameDecoder()
        got: list[q.Frame] = []
        for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True):
            got += decoder.feed(data[a:b])
        assert got == expected


def test_frame_over_max_frame_is_refused_from_its_header() -> None:
    decoder = q.FrameDecoder()
    with _raises(ErrorCode.SYNTAX):
        decoder.feed(codec.u32(q.MAX_FRAME + 1))
    with _raises(ErrorCode.SYNTAX):
        q.FrameDecoder().feed(q.encode_frame(q.PingFrame()) + codec.u32(0xFFFFFFFF))
    # At the limit the decoder waits for the rest, then the content must be a real frame.
    decoder = q.FrameDecoder()
    assert decoder.feed(codec.u32(q.MAX_FRAME) + bytes(100)) == []
    with _raises(ErrorCode.SYNTAX):
        decoder.feed(bytes(q.MAX_FRAME - 100))


def test_frame_decoder_bad_content() -> None:
    for raw in (codec.u32(0), codec.u32(3) + b"abc",
                codec.u32(5) + codec.tag("PING"[:3]) + b"x",
                q.encode_frame(q.EndFrame(b"r" * 24))[:-1] + b"",
                codec.u32(4) + codec.tag("END")):
        decoder = q.FrameDecoder()
        try:
            out = decoder.feed(raw)
        except ProtocolError:
            continue
        assert out == []  # only an incomplete frame may be silently waited for


# ---------------------------------------------------------------------------- fuzz

_DECODERS: list[Callable[[bytes], object]] = [
    q.decode_command, q.decode_response, q.decode_transmission,
    q.decode_response_transmission, q.decode_batch_request, q.decode_batch_response,
    q.decode_session_hello, q.decode_session_info, q.decode_frame, q.decode_delivered,
    q.unpad_body, lambda b: q.FrameDecoder().feed(b),
    lambda b: q.decode_command(q.decode_transmission(b).command),
]


def _only_protocol_errors(data: bytes) -> None:
    for decode in _DECODERS:
        with contextlib.suppress(ProtocolError):
            decode(data)


@given(st.binary(max_size=400))
@settings(FAST, max_examples=400)
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_protocol_errors(data)


@given(st.sampled_from([b for _, _, b in _STRICT]), st.data())
@FAST
def test_fuzz_mutated_valid_encodings(valid: bytes, data: st.DataObject) -> None:
    buf = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "set"]))
        i = data.draw(st.integers(0, max(0, len(buf) - 1)))
        if op == "flip" and buf:
            buf[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "insert":
            buf[i:i] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and buf:
            del buf[i]
        elif op == "set" and buf:
            buf[i] = data.draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
    _only_protocol_errors(bytes(buf))
    for length_prefixed in (codec.u32(len(buf)) + bytes(buf), bytes(buf)):
        with contextlib.suppress(ProtocolError):
            q.FrameDecoder().feed(length_prefixed)


@given(st.integers(0, 2**32))
@settings(FAST, max_examples=60)
def test_fuzz_delivered_blocks_of_the_right_size(seed: int) -> None:
    rng = random.Random(seed)
    block = bytearray(q.encode_delivered(q.DeliveredMessage(
        rng.getrandbits(64), rng.getrandbits(8), q.MessageKind.MESSAGE,
        rng.randbytes(rng.randrange(50)))))
    for _ in range(rng.randrange(1, 4)):
        block[rng.randrange(len(block))] = rng.getrandbits(8)
    with contextlib.suppress(ProtocolError):
        q.decode_delivered(bytes(block))
