"""Agent protocol v1 encodings: round trips, size budgets, strict parsing."""

from __future__ import annotations

import os

import pytest

from simplextui.crypto.ratchet import message_overhead
from simplextui.crypto.x3dh import InviterKeys, JoinParams, joiner_agree
from simplextui.protocol import agent as wire
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.protocol.queue import MAX_BODY, MAX_FIXED_DATA

SERVER = ServerAddress(bytes(range(32)), "a" * 63 + "." + "b" * 63 + "." + "c" * 63, 65535)
QUEUE = wire.QueueAddress(SERVER, os.urandom(24), os.urandom(32))
CONTACT = wire.QueueAddress(SERVER, os.urandom(24))


def test_budgets_match_crypto() -> None:
    assert message_overhead(True) <= wire.RATCHET_OVERHEAD
    keys = InviterKeys.generate(pq=True)
    join, _ = joiner_agree(keys.params(), pq=True)
    assert 2 + len(join.to_bytes()) <= wire.JOIN_PARAMS_FIELD
    # Link data (sealed: +28 bytes) fits the server's fixed part, even with a long host name.
    inv = wire.InvitationData(QUEUE, keys.params().to_bytes())
    assert len(wire.encode_link_payload(inv)) + 28 <= MAX_FIXED_DATA
    addr = wire.AddressData(CONTACT, os.urandom(32), os.urandom(wire.KEM_PUBLIC_KEY_SIZE))
    assert len(wire.encode_link_payload(addr)) + 28 <= MAX_FIXED_DATA
    # The largest INFO with the longest reply queue fits a confirmation.
    info = wire.Info(b"x" * wire.MAX_INFO, QUEUE)
    wire.encode_agent_message(1, wire.ZERO_HASH, info, wire.CONFIRMATION_PADDED)
    # The largest contact request fits a queue message.
    body = wire.encode_contact_request(wire.ContactRequestBody(inv, b"x" * wire.MAX_INFO))
    env = wire.ContactRequestEnvelope(os.urandom(32), os.urandom(wire.KEM_CIPHERTEXT_SIZE),
                                      os.urandom(28 + len(body)))
    assert len(wire.encode_envelope(env)) <= MAX_BODY


def test_link_payload_round_trip() -> None:
    inv = wire.InvitationData(QUEUE, os.urandom(1250))
    assert wire.decode_link_payload(wire.encode_link_payload(inv)) == inv
    addr = wire.AddressData(CONTACT, os.urandom(32), os.urandom(wire.KEM_PUBLIC_KEY_SIZE), 1, 3)
    assert wire.decode_link_payload(wire.encode_link_payload(addr)) == addr


def test_link_payload_strict() -> None:
    data = wire.encode_link_payload(wire.InvitationData(QUEUE, os.urandom(66)))
    with pytest.raises(ProtocolError):
        wire.decode_link_payload(data + b"\0")
    with pytest.raises(ProtocolError):
        wire.decode_link_payload(data[:-1])
    with pytest.raises(ProtocolError, match="version range"):
        wire.decode_link_payload(b"\0\x02\0\x01" + data[4:])
    with pytest.raises(ProtocolError, match="messaging queue"):
        wire.InvitationData(CONTACT, os.urandom(66))
    with pytest.raises(ProtocolError, match="no sender key"):
        wire.AddressData(QUEUE, os.urandom(32), os.urandom(wire.KEM_PUBLIC_KEY_SIZE))


def test_version_negotiation() -> None:
    assert wire.check_version_range(1, 5) == wire.AGENT_VERSION
    with pytest.raises(ProtocolError) as info:
        wire.check_version_range(2, 3)
    assert info.value.code == ErrorCode.VERSION


def test_envelopes_round_trip() -> None:
    cases: list[wire.Envelope] = [
        wire.Confirmation(os.urandom(1154), os.urandom(3000)),
        wire.RatchetEnvelope(os.urandom(100)),
        wire.ContactRequestEnvelope(os.urandom(32), os.urandom(wire.KEM_CIPHERTEXT_SIZE),
                                    os.urandom(500)),
    ]
    for env in cases:
        assert wire.decode_envelope(wire.encode_envelope(env)) == env


def test_envelopes_strict() -> None:
    assert wire.decode_envelope(b"\0\x01Zanything") == wire.UnknownEnvelope(ord("Z"), 1)
    for bad in (b"", b"\0", b"\0\x01", b"\0\x01M", b"\0\x01C\0\0", b"\0\x01C\0\x01x",
                b"\0\x01R" + bytes(32) + b"\0\x05abcde" + b"s"):
        with pytest.raises(ProtocolError):
            wire.decode_envelope(bad)
    with pytest.raises(ProtocolError) as info:
        wire.decode_envelope(b"\0\x02M" + b"x" * 10)
    assert info.value.code == ErrorCode.VERSION
    with pytest.raises(ProtocolError):
        wire.encode_envelope(wire.RatchetEnvelope(bytes(MAX_BODY)))


@pytest.mark.parametrize("payload", [
    wire.Msg(b""),
    wire.Msg(b"hello"),
    wire.Msg(b"no receipt wanted", receipt=False),
    wire.Msg(os.urandom(wire.MAX_MESSAGE_BODY)),
    wire.Info(b"profile"),
    wire.Info(b"", QUEUE),
    wire.Receipts((wire.Receipt(7, os.urandom(32)), wire.Receipt(9, os.urandom(32)))),
    wire.Receipts(tuple(wire.Receipt(i, os.urandom(32)) for i in range(wire.MAX_RECEIPTS))),
    wire.QuotaContinue(),
    wire.Deleted(),
])
def test_agent_messages_round_trip(payload: wire.Payload) -> None:
    prev = os.urandom(32)
    padded, msg_hash = wire.encode_agent_message(42, prev, payload)
    assert len(padded) == wire.MESSAGE_PADDED
    msg = wire.decode_agent_message(padded)
    assert msg == wire.AgentMessage(42, prev, payload)
    assert msg.msg_hash == msg_hash == wire.message_hash(wire.message_content(42, prev, payload))


def test_agent_message_strict() -> None:
    padded, _ = wire.encode_agent_message(1, wire.ZERO_HASH, wire.Msg(b"x"))
    with pytest.raises(ProtocolError, match="padding"):
        wire.decode_agent_message(padded[:-1] + b"\x01")
    with pytest.raises(ProtocolError):
        wire.decode_agent_message(b"\xff\xff" + padded[2:])
    with pytest.raises(ProtocolError):
        wire.decode_agent_message(b"\x00\x05" + bytes(100))  # truncated header
    with pytest.raises(ProtocolError):
        wire.encode_agent_message(1, wire.ZERO_HASH, wire.Msg(bytes(wire.MAX_MESSAGE_BODY + 1)))
    with pytest.raises(ProtocolError):
        wire.encode_payload(wire.Receipts(()))
    bad_count = wire.pad(bytes(8) + bytes(32) + b"V" + b"\0\0", 100)
    with pytest.raises(ProtocolError, match="receipt count"):
        wire.decode_agent_message(bad_count)
    trailing = wire.pad(bytes(8) + bytes(32) + b"Q" + b"x", 100)
    with pytest.raises(ProtocolError, match="trailing"):
        wire.decode_agent_message(trailing)


def test_unknown_payload_kind_is_reported_not_raised() -> None:
    padded = wire.pad(bytes(8) + bytes(32) + b"?" + b"future data", 200)
    msg = wire.decode_agent_message(padded)
    assert msg.payload == wire.UnknownPayload(ord("?"), b"future data")


def test_contact_request_round_trip() -> None:
    body = wire.ContactRequestBody(wire.InvitationData(QUEUE, os.urandom(1250)), b"me")
    assert wire.decode_contact_request(wire.encode_contact_request(body)) == body
    with pytest.raises(ProtocolError):
        wire.decode_contact_request(wire.encode_contact_request(body) + b"x")


def test_queue_address_key_flag() -> None:
    from simplextui.protocol.codec import Reader

    for q in (QUEUE, CONTACT):
        assert wire.read_queue_address(Reader(wire.encode_queue_address(q))) == q
    raw = bytearray(wire.encode_queue_address(CONTACT))
    raw[-1] = 2
    with pytest.raises(ProtocolError, match="flag"):
        wire.read_queue_address(Reader(bytes(raw)))


def test_join_params_are_opaque_but_bounded() -> None:
    keys = InviterKeys.generate(pq=True)
    join, _ = joiner_agree(keys.params(), pq=True)
    env = wire.Confirmation(join.to_bytes(), b"r")
    decoded = wire.decode_envelope(wire.encode_envelope(env))
    assert isinstance(decoded, wire.Confirmation)
    assert JoinParams.from_bytes(decoded.join_params) == join
