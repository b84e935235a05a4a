"""Typed errors of the transport layer.

Callers above see only these (and :class:`~simplextui.protocol.errors.ProtocolError` for
malformed input they passed in): a command the server refused, a server that could not be
reached within the timeout, or a server whose certificate is not the pinned one.
"""

from __future__ import annotations

from simplextui.protocol.errors import ErrorCode


class TransportError(Exception):
    """Base of every error raised by :mod:`simplextui.transport`."""


class ServerError(TransportError):
    """The server refused a command (or a whole request) with this error code."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServerError) and other.code == self.code

    def __hash__(self) -> int:
        return hash(self.code)


class ServerUnreachable(TransportError):
    """The server did not answer within the timeout, retries included.

    For NEW and LNEW this is also raised at the first ambiguous network failure: the command
    may or may not have been executed, and retrying blindly could create a duplicate.
    """


class CertificateMismatch(TransportError):
    """The server presented a certificate whose SHA-256 is not the address's fingerprint."""


class SessionExpired(TransportError):
    """Internal: the server does not know our session (restart, expiry); open a new one."""

    def __init__(self, session_id: bytes) -> None:
        super().__init__("session unknown to the server")
        self.session_id = session_id


class NetworkError(TransportError):
    """Internal: one HTTP exchange failed below the protocol (connection, timeout, 5xx).

    ``sent`` is False when the request certainly never reached the server (connection
    refused, TLS handshake failed), which makes even NEW safe to retry.
    """

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent
