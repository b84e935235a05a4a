"""Queue-server authentication and delivery encryption (queue protocol v1).

Commands on a queue are authenticated with HMAC-SHA256 under a key both the client and
the server derive from an X25519 exchange between the client's per-queue key and the
server's per-queue key. Unlike an Ed25519 signature this is deniable (the server could have
made it too) and costs about 1 µs to check instead of 65 µs, which matters at 10,000+
commands per second. The server keeps only the derived keys, never the client's secrets.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO_RECIPIENT = b"simplextui/queue/v1/recipient"
_INFO_SENDER = b"simplextui/queue/v1/sender"
_INFO_LINK_OWNER = b"simplextui/queue/v1/link-owner"


class DeliveryDecryptError(Exception):
    """A delivered block failed authentication: tampered, or not for this queue."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    private: bytes
    public: bytes
    # The key object of a generated pair: loading it from ``private`` costs a second
    # scalar multiplication (OpenSSL derives the public key), as much as the exchange.
    key: X25519PrivateKey | None = field(default=None, compare=False, repr=False)

    @classmethod
    def generate(cls) -> KeyPair:
        key = X25519PrivateKey.generate()
        return cls(key.private_bytes_raw(), key.public_key().public_bytes_raw(), key)

    def exchange(self, peer_public: bytes) -> bytes:
        """X25519 with the peer key; raises ValueError for a malformed or low-order key."""
        private = self.key or X25519PrivateKey.from_private_bytes(self.private)
        return private.exchange(X25519PublicKey.from_public_bytes(peer_public))


def _hkdf(shared: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(shared)


@dataclass(frozen=True, slots=True)
class RecipientKeys:
    mac_key: bytes  # authenticates SUB, ACK, OFF, DEL
    delivery_key: bytes  # AES-256-GCM key of delivered blocks


def derive_recipient_keys(shared: bytes) -> RecipientKeys:
    okm = _hkdf(shared, _INFO_RECIPIENT, 64)
    return RecipientKeys(okm[:32], okm[32:])


def derive_sender_key(shared: bytes) -> bytes:
    return _hkdf(shared, _INFO_SENDER, 32)


def derive_link_owner_key(shared: bytes) -> bytes:
    return _hkdf(shared, _INFO_LINK_OWNER, 32)


def authenticate(mac_key: bytes, authorized: bytes) -> bytes:
    return hmac.digest(mac_key, authorized, "sha256")


def verify(mac_key: bytes, authorized: bytes, auth: bytes) -> bool:
    """Constant-time check; callers pass a dummy key for unknown entities to equalise timing."""
    return hmac.compare_digest(hmac.digest(mac_key, authorized, "sha256"), auth)


_BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))  # translation tables: XOR every byte
_OPAD = bytes(x ^ 0x5C for x in range(256))


class MacKey:
    """An HMAC-SHA256 key with its inner and outer hash states computed once (RFC 2104).

    Authenticating a short message then costs two hash copies and finalisations: about
    1 µs here, against 3 µs for a one-shot ``hmac.digest``, most of which is OpenSSL
    setting up an HMAC context per call. Same results as :func:`authenticate`.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\x00")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def verify(self, message: bytes, auth: bytes) -> bool:
        """Constant-time check (see :func:`verify` on unknown entities)."""
        return hmac.compare_digest(self.digest(message), auth)


@functools.lru_cache(maxsize=16384)
def mac_key(key: bytes) -> MacKey:
    """A client's :class:`MacKey` for ``key``, kept across calls (a queue sends many)."""
    return MacKey(key)


@functools.lru_cache(maxsize=4096)
def _cipher(key: bytes) -> AESGCM:
    """AES key schedules are reused: a queue's delivery key serves all of its messages."""
    return AESGCM(key)


def seal_delivery(delivery_key: bytes, msg_id: bytes, plaintext: bytes) -> bytes:
    """Encrypt a delivered block; the message id (random, unique) gives the nonce."""
    return _cipher(delivery_key).encrypt(msg_id[:12], plaintext, msg_id)


def seal_delivery_into(delivery_key: bytes, msg_id: bytes, plaintext: bytes | bytearray,
                       out: memoryview) -> None:
    """:func:`seal_delivery` written into ``out`` (``len(plaintext) + 16`` bytes), so that a
    stream frame is built around the block without copying it."""
    _cipher(delivery_key).encrypt_into(msg_id[:12], plaintext, msg_id, out)


def open_delivery(delivery_key: bytes, msg_id: bytes, block: bytes | bytearray | memoryview
                  ) -> bytes:
    try:
        return _cipher(delivery_key).decrypt(msg_id[:12], block, msg_id)
    except InvalidTag as exc:
        raise DeliveryDecryptError("delivered block failed authentication") from exc
