"""The allocation-light codecs agree byte for byte with the reference codecs of queue.py."""

from __future__ import annotations

import hmac
import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simplextui.crypto.queue_auth import MacKey, authenticate
from simplextui.protocol import queue as q
from simplextui.protocol import queue_hot as hot
from simplextui.protocol.errors import ErrorCode, ProtocolError

FAST = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ids = st.binary(min_size=q.ID_SIZE, max_size=q.ID_SIZE)
corr_ids = st.binary(min_size=q.CORR_ID_SIZE, max_size=q.CORR_ID_SIZE)
auths = st.sampled_from([b"", bytes(range(32))])
bodies = st.one_of(st.binary(max_size=300), st.sampled_from([b"", b"\x00" * q.MAX_BODY]))
commands = st.one_of(
    st.builds(q.Send, bodies, st.integers(0, 255)),
    st.builds(q.Ack, ids),
    st.just(q.Subscribe()),
    st.just(q.Ping()),
)


def _transmission(auth: bytes, corr: bytes, entity: bytes, command: bytes) -> bytes:
    return bytes((len(auth),)) + auth + corr + bytes((len(entity),)) + entity + command


def _outcome(fn: object, *args: object) -> object:
    try:
        return fn(*args)  # type: ignore[operator]
    except ProtocolError as exc:
        return ("error", exc.code)


# ------------------------------------------------------------------------ requests


@FAST
@given(st.lists(st.tuples(auths, corr_ids, st.binary(max_size=30), commands), max_size=6),
       st.binary(min_size=32, max_size=32))
def test_transmissions_parse_like_the_reference(
        items: list[tuple[bytes, bytes, bytes, q.Command]], session_id: bytes) -> None:
    raw = [_transmission(a, c, e, q.encode_command(cmd)) for a, c, e, cmd in items]
    data = q.encode_batch_request(q.BatchRequest(1, session_id, raw))
    version, sid, spans = hot.split_batch_request(data)
    reference = q.decode_batch_request(data)
    assert (version, sid) == (reference.version, reference.session_id)
    assert [data[a:b] for a, b in spans] == reference.transmissions
    for (a, b), encoded in zip(spans, raw, strict=True):
        t = q.decode_transmission(encoded)
        auth, corr, entity, covered, at = hot.transmission_fields(data, a, b)
        assert (auth, corr, entity, data[at:b]) == (t.auth, t.corr_id, t.entity_id, t.command)
        cmd = q.decode_command(t.command)
        authorized = q.authorized_bytes(session_id, t.corr_id, t.entity_id, t.command)
        send = hot.send_fields(data, at, b)
        if isinstance(cmd, q.Send):
            assert send is not None
            flags, body, covered_end = send
            assert (flags, body) == (cmd.flags, cmd.body)
            assert session_id + data[covered:covered_end] == authorized
        else:
            assert send is None
            assert session_id + data[covered:b] == authorized
        msg_id = hot.ack_msg_id(data, at, b)
        assert msg_id == (cmd.msg_id if isinstance(cmd, q.Ack) else None)
        assert data[covered:at] == hot.reply_head(t.corr_id, t.entity_id)


def test_malformed_sends_and_acks_are_left_to_the_reference() -> None:
    good = q.encode_command(q.Send(b"hello", 1))
    variants = [
        good[:-1],  # short padding
        good + b"\x00",  # long padding
        good[:-1] + b"\x01",  # non-zero padding
        good[:6] + (q.MAX_BODY + 1).to_bytes(2, "big") + good[8:],  # length over the maximum
        b"\x04SENX" + good[5:],
    ]
    for command in variants:
        data = _transmission(b"", bytes(16), b"e", command)
        _, _, _, _, at = hot.transmission_fields(data, 0, len(data))
        assert hot.send_fields(data, at, len(data)) is None
        with pytest.raises(ProtocolError):
            q.decode_command(command)
    ack = q.encode_command(q.Ack(bytes(24)))
    for command in (ack[:-1], ack + b"x", b"\x03ACX" + ack[4:]):
        data = _transmission(b"", bytes(16), b"e", command)
        assert hot.ack_msg_id(data, 0 + len(data) - len(command), len(data)) is None


@FAST
@given(st.binary(max_size=80))
def test_any_bytes_fail_or_parse_like_the_reference(data: bytes) -> None:
    assert _outcome(q.decode_transmission, data) == _outcome(_as_transmission, data)
    reference = _outcome(q.decode_batch_request, b"\x00\x01" + bytes(32) + data)
    split = _outcome(hot.split_batch_request, b"\x00\x01" + bytes(32) + data)
    if isinstance(reference, q.BatchRequest):
        assert isinstance(split, tuple) and split[0] != "error"
        whole = b"\x00\x01" + bytes(32) + data
        assert [whole[a:b] for a, b in split[2]] == reference.transmissions
    else:
        assert isinstance(split, tuple) and split[0] == "error"


def _as_transmission(data: bytes) -> q.Transmission:
    auth, corr, entity, _, at = hot.transmission_fields(data, 0, len(data))
    return q.Transmission(corr, entity, data[at:], auth)


def test_batch_limits_and_truncation_raise_like_the_reference() -> None:
    header = (1).to_bytes(2, "big") + bytes(32)
    too_many = header + (q.MAX_BATCH + 1).to_bytes(2, "big")
    with pytest.raises(ProtocolError, check=lambda e: e.code == ErrorCode.LARGE_BATCH):
        hot.split_batch_request(too_many)
    for data in (header, header + b"\x00\x01", header + b"\x00\x01\x00\x00\x00\x05abc",
                 header + b"\x00\x00" + b"trailing"):
        with pytest.raises(ProtocolError):
            q.decode_batch_request(data)
        with pytest.raises(ProtocolError):
            hot.split_batch_request(data)


# ----------------------------------------------------------------------- responses


@FAST
@given(st.lists(st.tuples(corr_ids, st.binary(max_size=30),
                          st.sampled_from([q.Ok(), q.Pong(), q.Err(ErrorCode.AUTH)])),
                max_size=8))
def test_batch_responses_round_trip(items: list[tuple[bytes, bytes, q.Response]]) -> None:
    encoded = hot.encode_batch_response([hot.reply_head(c, e) for c, e, _ in items],
                                        [q.encode_response(r) for _, _, r in items])
    assert encoded == q.encode_batch_response([
        q.encode_response_transmission(q.ResponseTransmission(c, e, r)) for c, e, r in items])
    assert hot.decode_batch_response(encoded) == [(c, r) for c, _, r in items]


def test_malformed_batch_responses_raise() -> None:
    good = hot.encode_batch_response([hot.reply_head(bytes(16), b"e")], [hot.OK])
    for data in (b"", good[:-1], good + b"x", b"\x00\x01\x00\x00\x00\x03abc"):
        with pytest.raises(ProtocolError):
            hot.decode_batch_response(data)


# ------------------------------------------------------------------------ delivery


@FAST
@given(st.lists(st.tuples(st.integers(0, 2**63), st.integers(0, 255),
                          st.sampled_from(list(q.MessageKind)),
                          st.one_of(st.binary(max_size=300),
                                    st.just(b"\x01" * (q.DELIVERY_PLAINTEXT - 12)))),
                min_size=1, max_size=5))
def test_delivered_writer_matches_encode_delivered(
        messages: list[tuple[int, int, q.MessageKind, bytes]]) -> None:
    writer = hot.DeliveredWriter()  # reused: earlier bodies must not leak into later ones
    for ts, flags, kind, body in messages:
        plain = bytes(writer.write(ts, flags, kind.value.encode(), body))
        assert plain == q.encode_delivered(q.DeliveredMessage(ts, flags, kind, body))
        assert hot.parse_delivered(plain) == (ts, flags, kind.value.encode(), body)


def test_parse_delivered_refuses_what_the_reference_refuses() -> None:
    good = q.encode_delivered(q.DeliveredMessage(1, 2, q.MessageKind.MESSAGE, b"body"))
    for bad in (good[:-1], good[:9] + b"X" + good[10:], good[:-1] + b"\x01",
                good[:10] + (len(good)).to_bytes(2, "big") + good[12:]):
        assert hot.parse_delivered(bad) is None
        with pytest.raises(ProtocolError):
            q.decode_delivered(bad)


def test_message_frame_matches_encode_frame() -> None:
    rid, msg_id, block = os.urandom(24), os.urandom(24), os.urandom(q.DELIVERY_BLOCK)
    frame, view = hot.message_frame(rid, msg_id)
    view[:] = block
    assert bytes(frame) == q.encode_frame(q.MessageFrame(rid, msg_id, block))
    assert len(frame) == hot.MSG_FRAME_SIZE and frame.startswith(hot.MSG_PREFIX)


def test_send_command_parts_join_to_the_encoded_command() -> None:
    rng = random.Random(7)
    for size in (0, 1, 100, q.MAX_BODY):
        body = rng.randbytes(size)
        head, raw, padding = hot.send_command_parts(body, 3)
        assert b"".join((head, raw, padding)) == q.encode_command(q.Send(body, 3))
    with pytest.raises(ProtocolError, check=lambda e: e.code == ErrorCode.LARGE_MSG):
        hot.send_command_parts(bytes(q.MAX_BODY + 1), 0)
    assert hot.ack_command(bytes(24)) == q.encode_command(q.Ack(bytes(24)))
    with pytest.raises(ProtocolError):
        hot.ack_command(bytes(23))


@FAST
@given(st.binary(max_size=100), st.binary(max_size=400))
def test_mac_key_is_hmac_sha256(key: bytes, message: bytes) -> None:
    mac = MacKey(key)
    expected = hmac.digest(key, message, "sha256")
    assert mac.digest(message) == expected == authenticate(key, message)
    assert mac.verify(message, expected) and not mac.verify(message, bytes(32))
