"""The one exception family of the crypto layer.

Every failure in `simplextui.crypto` (bad tag, bad key length, malformed header, forged,
replayed or too-far-ahead message, bad signature) raises a subclass of `CryptoError`, so
callers can catch one type; the subclasses only let the agent tell the cases apart.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "CryptoError",
    "DuplicateMessage",
    "InvalidSignature",
    "MalformedInput",
    "RatchetStateError",
    "TooManySkippedMessages",
]


class CryptoError(Exception):
    """Base of all crypto failures; nothing was changed when it is raised."""


class MalformedInput(CryptoError):
    """Bytes that do not parse: wrong length, unknown version or flag, bad key encoding."""


class AuthenticationError(CryptoError):
    """AEAD tag mismatch: tampered data, wrong key or wrong associated data."""


class DuplicateMessage(CryptoError):
    """A ratchet message whose key was already used (a replay or a duplicate delivery)."""


class TooManySkippedMessages(CryptoError):
    """Accepting the message would skip more message keys than the ratchet allows."""


class RatchetStateError(CryptoError):
    """The operation is not possible in the ratchet's current state."""


class InvalidSignature(CryptoError):
    """An Ed25519 signature does not verify."""
