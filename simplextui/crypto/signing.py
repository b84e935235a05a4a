"""Ed25519 signing keys (group owner and admin signatures), raising `CryptoError` only."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature as _InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from simplextui.crypto.errors import InvalidSignature, MalformedInput

__all__ = [
    "PUBLIC_KEY_LEN",
    "SECRET_KEY_LEN",
    "SIGNATURE_LEN",
    "SigningKey",
    "VerifyKey",
    "verify",
]

SECRET_KEY_LEN = 32
PUBLIC_KEY_LEN = 32
SIGNATURE_LEN = 64


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """An Ed25519 public key (32 bytes)."""

    key: bytes
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or len(self.key) != PUBLIC_KEY_LEN:
            raise MalformedInput(f"Ed25519 public key must be {PUBLIC_KEY_LEN} bytes")
        try:
            parsed = Ed25519PublicKey.from_public_bytes(self.key)
        except ValueError:
            raise MalformedInput("malformed Ed25519 public key") from None
        object.__setattr__(self, "_key", parsed)

    @classmethod
    def from_bytes(cls, data: bytes) -> VerifyKey:
        return cls(bytes(data))

    def to_bytes(self) -> bytes:
        return self.key

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return quietly if `signature` is valid for `message`, else raise InvalidSignature."""
        if len(signature) != SIGNATURE_LEN:
            raise InvalidSignature(f"Ed25519 signature must be {SIGNATURE_LEN} bytes")
        try:
            self._key.verify(signature, message)
        except _InvalidSignature:
            raise InvalidSignature("Ed25519 signature does not verify") from None

    def is_valid(self, signature: bytes, message: bytes) -> bool:
        try:
            self.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    """An Ed25519 private key, serialised as its 32-byte seed."""

    seed: bytes
    _key: Ed25519PrivateKey = field(init=False, compare=False)
    _public: VerifyKey = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != SECRET_KEY_LEN:
            raise MalformedInput(f"Ed25519 private key must be {SECRET_KEY_LEN} bytes")
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_public", VerifyKey(key.public_key().public_bytes_raw()))

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_bytes(cls, data: bytes) -> SigningKey:
        return cls(bytes(data))

    def to_bytes(self) -> bytes:
        return self.seed

    @property
    def verify_key(self) -> VerifyKey:
        return self._public

    @property
    def public_key(self) -> bytes:
        return self._public.key

    def sign(self, message: bytes) -> bytes:
        """A 64-byte deterministic Ed25519 signature."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(public={self._public.key.hex()})"


def verify(public_key: bytes, signature: bytes, message: bytes) -> None:
    """Verify with a raw 32-byte public key; raises MalformedInput or InvalidSignature."""
    VerifyKey(public_key).verify(signature, message)
