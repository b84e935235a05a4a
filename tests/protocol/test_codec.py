"""The length-prefixed field helpers and unpadded base64url shared by every wire format."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simplextui.protocol import codec
from simplextui.protocol.b64 import b64decode, b64encode
from simplextui.protocol.codec import Reader
from simplextui.protocol.errors import ErrorCode, ProtocolError

FAST = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _raises(code: ErrorCode) -> pytest.RaisesExc[ProtocolError]:
    return pytest.raises(ProtocolError, check=lambda e: e.code == code)


@pytest.mark.parametrize(("write", "read", "value", "size"), [
    (codec.u8, Reader.u8, 0xAB, 1),
    (codec.u16, Reader.u16, 0xABCD, 2),
    (codec.u32, Reader.u32, 0xDEADBEEF, 4),
    (codec.u64, Reader.u64, 0x0123456789ABCDEF, 8),
])
def test_integers_are_big_endian(write: object, read: object, value: int, size: int) -> None:
    data = write(value)  # type: ignore[operator]
    assert data == value.to_bytes(size, "big")
    r = Reader(data)
    assert read(r) == value  # type: ignore[operator]
    r.end()
    for n in range(size):
        with _raises(ErrorCode.SYNTAX):
            read(Reader(data[:n]))  # type: ignore[operator]


@given(st.binary(max_size=255), st.binary(max_size=1000), st.binary(max_size=1000))
@FAST
def test_length_prefixed_fields_round_trip(short: bytes, medium: bytes, long: bytes) -> None:
    data = codec.short(short) + codec.medium(medium) + codec.long(long) + b"tail"
    r = Reader(data)
    assert r.short() == short
    assert r.medium() == medium
    assert r.long(1000) == long
    assert r.remaining == 4
    assert r.rest() == b"tail"
    r.end()
    for n in range(len(data) - 4):
        r = Reader(data[:n])
        with pytest.raises(ProtocolError):
            r.short(), r.medium(), r.long(1000)


def test_field_size_limits() -> None:
    assert codec.short(b"x" * 255)[0] == 255
    with _raises(ErrorCode.SYNTAX):
        codec.short(b"x" * 256)
    assert codec.medium(b"x" * 65_535)[:2] == b"\xff\xff"
    with _raises(ErrorCode.SYNTAX):
        codec.medium(b"x" * 65_536)
    with _raises(ErrorCode.LARGE_MSG):
        Reader(codec.long(b"x" * 11)).long(10)
    # A length over the limit is refused before any attempt to read that much.
    with _raises(ErrorCode.LARGE_MSG):
        Reader(codec.u32(0xFFFFFFFF)).long(10)


def test_reader_errors() -> None:
    with _raises(ErrorCode.SYNTAX):
        Reader(b"abc").take(4)
    with _raises(ErrorCode.SYNTAX):
        Reader(b"abc").take(-1)
    r = Reader(b"abc")
    r.take(2)
    with _raises(ErrorCode.SYNTAX):
        r.end()
    with _raises(ErrorCode.SYNTAX):
        Reader(b"\x02\xff\xfe").tag()  # tags are ASCII
    assert Reader(codec.tag("SEND")).tag() == "SEND"
    with _raises(ErrorCode.SYNTAX):
        codec.fixed(b"abc", 4, "thing")
    assert codec.fixed(b"abcd", 4, "thing") == b"abcd"
    Reader(b"").end()


@given(st.binary(max_size=200))
@FAST
def test_b64_round_trip(data: bytes) -> None:
    text = b64encode(data)
    assert "=" not in text
    assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert b64decode(text) == data
    assert b64decode(text, len(data)) == data


@pytest.mark.parametrize("text", [
    "AAAA=",  # padded
    "AA==",
    "A",  # impossible length
    "AB",  # non-canonical: the last character carries bits that are dropped
    "AAA+",  # standard, not url-safe, alphabet
    "AAA/",
    "AA AA",
    "AAAA\n",
    "ÄAAA",
])
def test_b64_rejects(text: str) -> None:
    with _raises(ErrorCode.SYNTAX):
        b64decode(text)


def test_b64_size() -> None:
    assert b64decode(b64encode(bytes(32)), 32) == bytes(32)
    with _raises(ErrorCode.SYNTAX):
        b64decode(b64encode(bytes(31)), 32)


@given(st.text(max_size=60))
@FAST
def test_b64_fuzz(text: str) -> None:
    try:
        data = b64decode(text)
    except ProtocolError:
        return
    assert b64encode(data) == text  # whatever is accepted is canonical
