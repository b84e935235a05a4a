"""Layer 4: the async client of queue servers (HTTPS from worker threads, see rawhttp).

- :class:`QueueClient` talks to one server: certificate pinning, commands coalesced into
  batch requests, one subscription stream that reconnects with backoff and resubscribes
  every queue, decrypted messages reported as events (never acknowledged by itself).
- :class:`ClientPool` keeps one client per server.
- :mod:`~simplextui.transport.keys` holds the per-queue credentials the agent persists.

It imports only :mod:`simplextui.protocol` and :mod:`simplextui.crypto`.
"""

from simplextui.transport.batcher import Request
from simplextui.transport.client import QueueClient
from simplextui.transport.errors import (
    CertificateMismatch,
    ServerError,
    ServerUnreachable,
    TransportError,
)
from simplextui.transport.events import (
    DeliveryError,
    MessageReceived,
    QueueDeleted,
    QuotaMarker,
    ServerConnected,
    ServerDisconnected,
    SubscriptionEnded,
    SubscriptionFailed,
    TransportEvent,
)
from simplextui.transport.keys import LinkOwner, RecipientQueue, SenderQueue
from simplextui.transport.pool import ClientPool

__all__ = [
    "CertificateMismatch",
    "ClientPool",
    "DeliveryError",
    "LinkOwner",
    "MessageReceived",
    "QueueClient",
    "QueueDeleted",
    "QuotaMarker",
    "RecipientQueue",
    "Request",
    "SenderQueue",
    "ServerConnected",
    "ServerDisconnected",
    "ServerError",
    "ServerUnreachable",
    "SubscriptionEnded",
    "SubscriptionFailed",
    "TransportError",
    "TransportEvent",
]
