"""Connection safety codes: 60 digits both sides compare out of band to rule out a MITM.

Each side's key gives 30 digits: SHA-512("simplextui/crypto/v1/safety" || key), read as six
5-byte big-endian numbers, each taken mod 100000 as 5 digits (as Signal's numeric
fingerprints do). The code is the two 30-digit halves in ascending order, so both sides
compute the same string. Use the two X3DH `key1` public keys, i.e. the halves of the ratchet's
associated data: every ratchet key is bound to them, so a MITM cannot keep them unchanged.
"""

from __future__ import annotations

import hashlib

from simplextui.crypto.errors import MalformedInput

__all__ = ["SAFETY_INFO", "connection_safety_code", "safety_code", "safety_code_groups"]

SAFETY_INFO = b"simplextui/crypto/v1/safety"
_GROUPS_PER_SIDE = 6


def _side(key: bytes) -> list[str]:
    digest = hashlib.sha512(SAFETY_INFO + key).digest()
    return [
        f"{int.from_bytes(digest[i : i + 5], 'big') % 100000:05d}"
        for i in range(0, 5 * _GROUPS_PER_SIDE, 5)
    ]


def safety_code_groups(key_a: bytes, key_b: bytes) -> list[str]:
    """The code as 12 groups of 5 digits, independent of the order of the two keys."""
    for key in (key_a, key_b):
        if not isinstance(key, bytes) or len(key) != 32:
            raise MalformedInput("safety code keys are 32-byte public keys")
    halves = sorted((_side(key_a), _side(key_b)))
    return halves[0] + halves[1]


def safety_code(key_a: bytes, key_b: bytes) -> str:
    """The code as one string: 12 groups of 5 digits separated by spaces."""
    return " ".join(safety_code_groups(key_a, key_b))


def connection_safety_code(associated_data: bytes) -> str:
    """The safety code of a connection from its 64-byte ratchet associated data."""
    if len(associated_data) != 64:
        raise MalformedInput("ratchet associated data must be 64 bytes")
    return safety_code(associated_data[:32], associated_data[32:])
