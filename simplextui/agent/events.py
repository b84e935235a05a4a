"""Events the agent reports to the chat layer (``on_event``), awaited one at a time, in order.

Every event but ``MessageReceived`` is journaled in the same transaction as the change it
reports and deleted once ``on_event`` returned, so after a crash it is delivered again
(at-least-once: the chat layer treats a repeat as a no-op). ``MessageReceived`` is re-emitted
from the inbox after a restart until ``message_processed`` is called for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from simplextui.protocol.b64 import b64decode, b64encode


class IntegrityKind(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"  # messages from_id..to_id never arrived (a gap)
    BAD_HASH = "bad_hash"  # the previous-message hash does not match what we received
    BAD_ID = "bad_id"  # the id is not after the last one (the sender's state went back)


@dataclass(frozen=True, slots=True)
class IntegrityStatus:
    kind: IntegrityKind
    from_id: int | None = None
    to_id: int | None = None

    OK: ClassVar[IntegrityStatus]

    @property
    def ok(self) -> bool:
        return self.kind is IntegrityKind.OK

    @classmethod
    def skipped(cls, from_id: int, to_id: int) -> IntegrityStatus:
        return cls(IntegrityKind.SKIPPED, from_id, to_id)

    def to_text(self) -> str:
        if self.kind is IntegrityKind.SKIPPED:
            return f"skipped:{self.from_id}:{self.to_id}"
        return self.kind.value

    @classmethod
    def from_text(cls, text: str) -> IntegrityStatus:
        if text.startswith("skipped:"):
            _, a, b = text.split(":")
            return cls.skipped(int(a), int(b))
        return cls(IntegrityKind(text))

    def __str__(self) -> str:
        if self.kind is IntegrityKind.SKIPPED:
            return f"messages {self.from_id}..{self.to_id} were skipped"
        return {IntegrityKind.OK: "ok",
                IntegrityKind.BAD_HASH: "the previous message hash does not match",
                IntegrityKind.BAD_ID: "the message id is out of order"}[self.kind]


IntegrityStatus.OK = IntegrityStatus(IntegrityKind.OK)


@dataclass(frozen=True, slots=True)
class ConnectionRequest:
    """A contact request arrived at one of our addresses (``address_id``; None only for a
    request journaled before addresses had ids): ``accept_request`` or ``reject_request``."""

    request_id: str
    info: bytes
    address_id: str | None = None


@dataclass(frozen=True, slots=True)
class Connected:
    conn_id: str
    peer_info: bytes


@dataclass(frozen=True, slots=True)
class MessageReceived:
    conn_id: str
    agent_msg_id: int
    body: bytes
    broker_ts_ms: int
    integrity: IntegrityStatus


@dataclass(frozen=True, slots=True)
class MessageSent:
    """A queue server accepted the message."""

    conn_id: str
    agent_msg_id: int


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """The peer's agent confirmed the message (with a matching hash) after its chat layer
    processed it."""

    conn_id: str
    agent_msg_id: int


@dataclass(frozen=True, slots=True)
class ConnectionError:
    """Something was refused or failed; ``conn_id`` is None for the address or a server."""

    conn_id: str | None
    error: str


@dataclass(frozen=True, slots=True)
class ConnectionDeleted:
    """The connection is deleted: by the peer (its DEL arrived; ``by_peer``), or by us with
    ``delete_connection(conn_id, after_outbox=True)`` once its outbox was empty."""

    conn_id: str
    by_peer: bool = True


AgentConnectionError = ConnectionError
AgentEvent = (
    ConnectionRequest | Connected | MessageReceived | MessageSent | DeliveryReceipt
    | ConnectionError | ConnectionDeleted
)

# ------------------------------------------------------------------ journal encoding

_JOURNALED: dict[str, type] = {
    "ConnectionRequest": ConnectionRequest,
    "Connected": Connected,
    "MessageSent": MessageSent,
    "DeliveryReceipt": DeliveryReceipt,
    "ConnectionError": ConnectionError,
    "ConnectionDeleted": ConnectionDeleted,
}
_BYTES_FIELDS = {"info", "peer_info"}


def event_to_json(event: AgentEvent) -> tuple[str, dict[str, Any]]:
    kind = type(event).__name__
    if kind not in _JOURNALED:
        raise ValueError(f"{kind} is not journaled")
    payload: dict[str, Any] = {}
    for name in event.__dataclass_fields__:
        value = getattr(event, name)
        payload[name] = b64encode(value) if name in _BYTES_FIELDS else value
    return kind, payload


def event_from_json(kind: str, payload: dict[str, Any]) -> AgentEvent:
    cls = _JOURNALED[kind]
    args = {name: (b64decode(value) if name in _BYTES_FIELDS else value)
            for name, value in payload.items()}
    event: AgentEvent = cls(**args)
    return event


__all__ = [
    "AgentConnectionError",
    "AgentEvent",
    "Connected",
    "ConnectionDeleted",
    "ConnectionError",
    "ConnectionRequest",
    "DeliveryReceipt",
    "IntegrityKind",
    "IntegrityStatus",
    "MessageReceived",
    "MessageSent",
    "event_from_json",
    "event_to_json",
]
