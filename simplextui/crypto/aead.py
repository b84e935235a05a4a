"""AES-256-GCM with associated data, raising `CryptoError` subclasses only.

`encrypt`/`decrypt` take an explicit 12-byte nonce (the ratchet derives its nonces);
`seal`/`open_sealed` put a random nonce in front of the ciphertext for one-off uses.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from simplextui.crypto.errors import AuthenticationError, CryptoError, MalformedInput

__all__ = [
    "KEY_LEN",
    "NONCE_LEN",
    "TAG_LEN",
    "cipher",
    "decrypt",
    "encrypt",
    "open_sealed",
    "seal",
]

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16


def cipher(key: bytes) -> AESGCM:
    """An AES-256-GCM instance for `key`; reuse it when one key encrypts many messages."""
    if len(key) != KEY_LEN:
        raise CryptoError(f"AES-256-GCM key must be {KEY_LEN} bytes, got {len(key)}")
    return AESGCM(key)


def encrypt(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """Return ciphertext || 16-byte tag. The (key, nonce) pair must never repeat."""
    if len(nonce) != NONCE_LEN:
        raise CryptoError(f"AES-GCM nonce must be {NONCE_LEN} bytes, got {len(nonce)}")
    return cipher(key).encrypt(nonce, plaintext, associated_data)


def decrypt(key: bytes, nonce: bytes, ciphertext: bytes, associated_data: bytes = b"") -> bytes:
    """Inverse of `encrypt`; raises `AuthenticationError` on any mismatch."""
    if len(nonce) != NONCE_LEN:
        raise CryptoError(f"AES-GCM nonce must be {NONCE_LEN} bytes, got {len(nonce)}")
    if len(ciphertext) < TAG_LEN:
        raise MalformedInput("AES-GCM ciphertext shorter than its tag")
    try:
        return cipher(key).decrypt(nonce, ciphertext, associated_data)
    except InvalidTag:
        raise AuthenticationError("AES-GCM authentication failed") from None


def seal(key: bytes, plaintext: bytes, associated_data: bytes = b"") -> bytes:
    """Encrypt under a fresh random nonce: nonce || ciphertext || tag (28 bytes overhead)."""
    nonce = os.urandom(NONCE_LEN)
    return nonce + encrypt(key, nonce, plaintext, associated_data)


def open_sealed(key: bytes, sealed: bytes, associated_data: bytes = b"") -> bytes:
    """Inverse of `seal`."""
    if len(sealed) < NONCE_LEN + TAG_LEN:
        raise MalformedInput("sealed box too short")
    return decrypt(key, sealed[:NONCE_LEN], sealed[NONCE_LEN:], associated_data)
