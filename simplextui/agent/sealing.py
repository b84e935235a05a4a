"""Encryption of link data and of contact requests (agent v1).

Link data: the fixed part of a link record is
``AES-256-GCM(key = HKDF-SHA512(link_key, info = "simplextui/agent/v1/link-data"), random
nonce, ad = kind || link_id)``, so the server (which never sees the link key) can neither
read nor alter it, and a record cannot be passed off under another link id or kind.

Contact requests are sealed to an address's X25519 key and ML-KEM-768 key (hybrid, so that
a future quantum computer reading today's traffic cannot open them):
``key = HKDF-SHA512(DH(eph, request_key) || kem_secret, info = "simplextui/agent/v1/
contact-request" || eph_pub || request_key)``, then AES-256-GCM with a random nonce and the
envelope header as associated data.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from simplextui.crypto import aead
from simplextui.crypto.errors import CryptoError
from simplextui.crypto.kdf import hkdf_sha512
from simplextui.crypto.x3dh import (
    KEM_SEED_LEN,
    dh,
    kem_decapsulate,
    kem_public_key,
    new_key_pair,
)

_LINK_INFO = b"simplextui/agent/v1/link-data"
_REQUEST_INFO = b"simplextui/agent/v1/contact-request"
_USER_DATA_INFO = b"simplextui/agent/v1/link-user-data"


def link_data_key(link_key: bytes) -> bytes:
    return hkdf_sha512(link_key, info=_LINK_INFO, length=32)


def seal_link_data(link_key: bytes, kind: str, link_id: bytes, plaintext: bytes) -> bytes:
    return aead.seal(link_data_key(link_key), plaintext, kind.encode("ascii") + link_id)


def open_link_data(link_key: bytes, kind: str, link_id: bytes, sealed: bytes) -> bytes:
    """Raises CryptoError if the data was not made for this link."""
    return aead.open_sealed(link_data_key(link_key), sealed, kind.encode("ascii") + link_id)


def seal_user_data(link_key: bytes, kind: str, link_id: bytes, plaintext: bytes) -> bytes:
    """An address's app data, in the mutable part of its link record (its own key, so that
    it cannot be swapped with the fixed part)."""
    key = hkdf_sha512(link_key, info=_USER_DATA_INFO, length=32)
    return aead.seal(key, plaintext, kind.encode("ascii") + link_id)


def open_user_data(link_key: bytes, kind: str, link_id: bytes, sealed: bytes) -> bytes:
    """Raises CryptoError if the data was not made for this link."""
    key = hkdf_sha512(link_key, info=_USER_DATA_INFO, length=32)
    return aead.open_sealed(key, sealed, kind.encode("ascii") + link_id)


@dataclass(frozen=True, slots=True, repr=False)
class AddressKeys:
    """An address's private keys; serialised as x25519 private (32) || ML-KEM seed (64)."""

    x25519_private: bytes
    x25519_public: bytes
    kem_seed: bytes
    kem_public: bytes

    @classmethod
    def generate(cls) -> AddressKeys:
        _, private, public = new_key_pair()
        kem = MLKEM768PrivateKey.generate()
        return cls(private, public, kem.private_bytes_raw(),
                   kem.public_key().public_bytes_raw())

    def to_bytes(self) -> bytes:
        return self.x25519_private + self.kem_seed

    @classmethod
    def from_bytes(cls, data: bytes) -> AddressKeys:
        if len(data) != 32 + KEM_SEED_LEN:
            raise CryptoError("bad address keys")
        private = data[:32]
        public = X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()
        kem = MLKEM768PrivateKey.from_seed_bytes(data[32:])
        return cls(private, public, data[32:], kem.public_key().public_bytes_raw())


def _request_key(shared: bytes, kem_secret: bytes, eph_public: bytes,
                 request_key: bytes) -> bytes:
    return hkdf_sha512(shared + kem_secret, info=_REQUEST_INFO + eph_public + request_key,
                       length=32)


def seal_request(request_key: bytes, kem_key: bytes, plaintext: bytes,
                 ad: bytes) -> tuple[bytes, bytes, bytes]:
    """(ephemeral public key, KEM ciphertext, sealed box)."""
    eph_private, _, eph_public = new_key_pair()
    shared = dh(eph_private, request_key)
    kem_secret, kem_ct = kem_public_key(kem_key).encapsulate()
    key = _request_key(shared, kem_secret, eph_public, request_key)
    return eph_public, kem_ct, aead.seal(key, plaintext, ad)


def open_request(keys: AddressKeys, eph_public: bytes, kem_ct: bytes, sealed: bytes,
                 ad: bytes) -> bytes:
    """Raises CryptoError for anything not sealed to these keys."""
    shared = dh(keys.x25519_private, eph_public)
    kem = MLKEM768PrivateKey.from_seed_bytes(keys.kem_seed)
    kem_secret = kem_decapsulate(kem, kem_ct)
    key = _request_key(shared, kem_secret, eph_public, keys.x25519_public)
    return aead.open_sealed(key, sealed, ad)
