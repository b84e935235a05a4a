"""HKDF-SHA512 (RFC 5869) and helpers to split derived key material.

HKDF is written over `hashlib` rather than `cryptography`'s HKDF class: the result is the
same (the tests check it against `cryptography`), but it is about three times faster for the
short outputs of the ratchet's chain step, which runs once per message.
"""

from __future__ import annotations

import hashlib

from simplextui.crypto.errors import CryptoError

__all__ = ["HASH_LEN", "chain_kdf", "hkdf_sha512", "hmac_sha512", "split"]

HASH_LEN = 64
_BLOCK = 128
_MAX_OUTPUT = 255 * HASH_LEN
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_ZERO_BLOCK = bytes(_BLOCK)
_sha512 = hashlib.sha512
# HMAC pads of the all-zero key: HKDF-Extract with an empty salt uses it.
_ZERO_IPAD = _ZERO_BLOCK.translate(_IPAD)
_ZERO_OPAD = _ZERO_BLOCK.translate(_OPAD)


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > _BLOCK:
        key = _sha512(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return key.translate(_IPAD), key.translate(_OPAD)


def hmac_sha512(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA512 (RFC 2104)."""
    ipad, opad = _pads(key)
    return _sha512(opad + _sha512(ipad + message).digest()).digest()


def hkdf_sha512(ikm: bytes, *, salt: bytes = b"", info: bytes = b"", length: int) -> bytes:
    """HKDF-SHA512 extract-then-expand; an empty salt means HashLen zero bytes (RFC 5869)."""
    if not 0 < length <= _MAX_OUTPUT:
        raise CryptoError(f"HKDF output length out of range: {length}")
    if salt:
        ipad, opad = _pads(salt)
    else:
        ipad, opad = _ZERO_IPAD, _ZERO_OPAD
    prk = _sha512(opad + _sha512(ipad + ikm).digest()).digest()
    ipad, opad = _pads(prk)
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = _sha512(opad + _sha512(ipad + block + info + bytes((counter,))).digest()).digest()
        out += block
        counter += 1
    return out[:length]


def chain_kdf(chain_key: bytes, info: bytes) -> bytes:
    """HKDF-SHA512(salt = empty, ikm = chain_key, info, 88 bytes), unrolled for the hot path.

    Equal to `hkdf_sha512(chain_key, info=info, length=88)`.
    """
    prk = _sha512(_ZERO_OPAD + _sha512(_ZERO_IPAD + chain_key).digest()).digest()
    prk = prk.ljust(_BLOCK, b"\0")
    ipad = prk.translate(_IPAD)
    opad = prk.translate(_OPAD)
    t1 = _sha512(opad + _sha512(ipad + info + b"\x01").digest()).digest()
    t2 = _sha512(opad + _sha512(ipad + t1 + info + b"\x02").digest()).digest()
    return t1 + t2[:24]


def split(data: bytes, *sizes: int) -> tuple[bytes, ...]:
    """Split `data` into consecutive parts of the given sizes, which must cover it exactly."""
    if sum(sizes) != len(data):
        raise CryptoError(f"cannot split {len(data)} bytes into {sizes}")
    parts = []
    pos = 0
    for size in sizes:
        parts.append(data[pos : pos + size])
        pos += size
    return tuple(parts)
