"""The one typed error every parser in `protocol/` raises on malformed input."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Error codes shared by the wire (queue server responses) and local parsing."""

    SYNTAX = "SYNTAX"  # malformed bytes: bad framing, bad lengths, unknown tag
    VERSION = "VERSION"  # no common protocol version
    SESSION = "SESSION"  # unknown or expired session: open a new one
    AUTH = "AUTH"  # wrong key, missing authenticator or unknown entity (indistinguishable)
    REPLAY = "REPLAY"  # a transmission already seen in this session
    PROHIBITED = "PROHIBITED"  # a command not allowed on this entity or state
    NO_MSG = "NO_MSG"  # ACK of a message id that is not the one delivered
    QUOTA = "QUOTA"  # the queue is full: the sender must wait for the recipient
    LARGE_MSG = "LARGE_MSG"  # body over the size limit or not padded to the block
    LARGE_BATCH = "LARGE_BATCH"  # too many transmissions or bytes in one request
    DUPLICATE = "DUPLICATE"  # an entity with that id already exists
    INTERNAL = "INTERNAL"  # the server failed; the command may be retried


class ProtocolError(Exception):
    """Malformed or refused input, with a typed code and a human-readable detail."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail
