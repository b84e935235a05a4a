"""Length-prefixed binary encoding helpers shared by every wire format.

Integers are big-endian. ``short`` fields carry a 1-byte length, ``medium`` fields
a 2-byte length and ``long`` fields a 4-byte length.
"""

from __future__ import annotations

import struct

from simplextui.protocol.errors import ErrorCode, ProtocolError

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class Reader:
    """Reads fields from a byte string; any shortfall raises ``ProtocolError(SYNTAX)``."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        end = self._pos + n
        if n < 0 or end > len(self._data):
            raise ProtocolError(ErrorCode.SYNTAX, "truncated input")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack(self.take(8))[0])

    def short(self) -> bytes:
        return self.take(self.u8())

    def medium(self) -> bytes:
        return self.take(self.u16())

    def long(self, limit: int) -> bytes:
        n = self.u32()
        if n > limit:
            raise ProtocolError(ErrorCode.LARGE_MSG, f"field of {n} bytes over limit {limit}")
        return self.take(n)

    def tag(self) -> str:
        raw = self.short()
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ProtocolError(ErrorCode.SYNTAX, "non-ASCII tag") from exc

    def rest(self) -> bytes:
        return self.take(self.remaining)

    def end(self) -> None:
        if self._pos != len(self._data):
            raise ProtocolError(ErrorCode.SYNTAX, f"{self.remaining} trailing bytes")


def u8(n: int) -> bytes:
    return bytes((n,))


def u16(n: int) -> bytes:
    return _U16.pack(n)


def u32(n: int) -> bytes:
    return _U32.pack(n)


def u64(n: int) -> bytes:
    return _U64.pack(n)


def short(b: bytes) -> bytes:
    if len(b) > 0xFF:
        raise ProtocolError(ErrorCode.SYNTAX, "short field over 255 bytes")
    return bytes((len(b),)) + b


def medium(b: bytes) -> bytes:
    if len(b) > 0xFFFF:
        raise ProtocolError(ErrorCode.SYNTAX, "medium field over 65535 bytes")
    return _U16.pack(len(b)) + b


def long(b: bytes) -> bytes:
    return _U32.pack(len(b)) + b


def tag(name: str) -> bytes:
    return short(name.encode("ascii"))


def fixed(b: bytes, size: int, what: str) -> bytes:
    """Check that ``b`` has exactly ``size`` bytes (used by encoders)."""
    if len(b) != size:
        raise ProtocolError(ErrorCode.SYNTAX, f"{what} must be {size} bytes, got {len(b)}")
    return b
