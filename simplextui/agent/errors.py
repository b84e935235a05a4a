"""Errors the Agent API raises to its caller (bad links raise ``LinkError`` instead)."""

from __future__ import annotations


class AgentError(Exception):
    """An agent operation failed; the message is meant for the user."""


class LinkGone(AgentError):
    """The link's record is not on its server (deleted, or never created)."""


class AddressNotFound(AgentError):
    def __init__(self, address_id: str) -> None:
        super().__init__(f"no address {address_id!r}")
        self.address_id = address_id


class ConnectionNotFound(AgentError):
    def __init__(self, conn_id: str) -> None:
        super().__init__(f"no connection {conn_id!r}")
        self.conn_id = conn_id


class ConnectionNotReady(AgentError):
    """The handshake has not progressed far enough for this operation."""


class SimulatedCrash(Exception):
    """Raised by test hooks to stop a handler at a chosen point, as a crash would."""
