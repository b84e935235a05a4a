"""Events a :class:`~simplextui.transport.client.QueueClient` reports to its ``on_event``.

The client never acknowledges a message itself: the layer above commits the message, then
calls ``ack``. Until then the server holds the queue's next message back (flow control).
"""

from __future__ import annotations

from dataclasses import dataclass

from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ErrorCode


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A message of a subscribed queue, decrypted with the queue's delivery key."""

    server: ServerAddress
    recipient_id: bytes
    msg_id: bytes
    timestamp_ms: int
    flags: int
    body: bytes


@dataclass(frozen=True, slots=True)
class QuotaMarker:
    """The queue filled up here and a sender was refused.

    After acknowledging it, the recipient's agent should tell the sender to resume.
    """

    server: ServerAddress
    recipient_id: bytes
    msg_id: bytes


@dataclass(frozen=True, slots=True)
class DeliveryError:
    """A delivered block that failed to decrypt or parse. It is not acknowledged."""

    server: ServerAddress
    recipient_id: bytes
    msg_id: bytes
    reason: str


@dataclass(frozen=True, slots=True)
class SubscriptionEnded:
    """END: another session subscribed to the queue; this client no longer receives it."""

    server: ServerAddress
    recipient_id: bytes


@dataclass(frozen=True, slots=True)
class SubscriptionFailed:
    """A resubscription after a reconnect was refused (e.g. AUTH: the queue is gone)."""

    server: ServerAddress
    recipient_id: bytes
    code: ErrorCode


@dataclass(frozen=True, slots=True)
class QueueDeleted:
    """DELD: the queue was deleted (by its recipient through another session)."""

    server: ServerAddress
    recipient_id: bytes


@dataclass(frozen=True, slots=True)
class ServerConnected:
    """The subscription stream is up (after a reconnect: every queue resubscribed)."""

    server: ServerAddress


@dataclass(frozen=True, slots=True)
class ServerDisconnected:
    """The subscription stream went down; the client reconnects by itself."""

    server: ServerAddress
    reason: str


TransportEvent = (
    MessageReceived | QuotaMarker | DeliveryError | SubscriptionEnded | SubscriptionFailed
    | QueueDeleted | ServerConnected | ServerDisconnected
)
