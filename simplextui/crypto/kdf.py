"""HKDF-SHA512 (RFC 5869) and helpers to split derived key material.

HKDF is written over `hashlib` rather than `cryptography`'s HKDF class: the result is the
same (the tests check it against `cryptography`), but it is about three times faster for the
short outputs of the ratchet's chain step, which runs once per message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from simplextui.crypto.errors import CryptoError

__all__ = ["HASH_LEN", "hkdf_sha512", "hmac_sha512", "make_chain_kdf", "split"]

HASH_LEN = 64
_BLOCK = 128
_MAX_OUTPUT = 255 * HASH_LEN
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_ZERO_BLOCK = bytes(_BLOCK)

try:  # CPython's built-in SHA-512 skips OpenSSL's per-call setup: ~25% faster for short inputs.
    from _sha2 import sha512 as _sha512  # type: ignore[import-not-found]  # Python >= 3.12
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha512 import sha512 as _sha512  # type: ignore[import-not-found,no-redef]
    except ImportError:
        _sha512 = hashlib.sha512  # type: ignore[assignment]
# HMAC pads of the all-zero key: HKDF-Extract with an empty salt uses it.
_ZERO_IPAD = _ZERO_BLOCK.translate(_IPAD)
_ZERO_OPAD = _ZERO_BLOCK.translate(_OPAD)
_ZERO_64 = bytes(64)
_ZERO_INNER = _sha512(_ZERO_IPAD)
_ZERO_OUTER = _sha512(_ZERO_OPAD)


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


def make_chain_kdf(info: bytes) -> Callable[[bytes], bytes]:
    """Return `f(chain_key) == hkdf_sha512(chain_key, info=info, length=88)`, unrolled.

    This is the ratchet's per-message step; copying precomputed hash states and the two
    info suffixes avoids most of `hashlib`'s per-call overhead (about 2x faster).
    """
    info1 = info + b"\x01"
    info2 = info + b"\x02"
    zero_inner, zero_outer, sha512, ipad, opad = _ZERO_INNER, _ZERO_OUTER, _sha512, _IPAD, _OPAD

    def chain_kdf(chain_key: bytes) -> bytes:
        h = zero_inner.copy()
        h.update(chain_key)
        o = zero_outer.copy()
        o.update(h.digest())
        prk = o.digest() + _ZERO_64
        inner = sha512(prk.translate(ipad))
        outer = sha512(prk.translate(opad))
        h = inner.copy()
        h.update(info1)
        o = outer.copy()
        o.update(h.digest())
        t1 = o.digest()
        inner.update(t1)
        inner.update(info2)
        outer.update(inner.digest())
        return t1 + outer.digest()[:24]

    return chain_kdf


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
