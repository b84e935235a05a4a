"""Turn stream frames into transport events (pure: no I/O, unit-tested directly)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from simplextui.crypto.queue_auth import DeliveryDecryptError, open_delivery
from simplextui.protocol import queue
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ProtocolError
from simplextui.transport.events import (
    DeliveryError,
    MessageReceived,
    QueueDeleted,
    QuotaMarker,
    SubscriptionEnded,
    TransportEvent,
)
from simplextui.transport.keys import RecipientQueue

log = logging.getLogger(__name__)


def decrypt_message(
    server: ServerAddress, q: RecipientQueue, frame: queue.MessageFrame
) -> MessageReceived | QuotaMarker | DeliveryError:
    """Open a MSG block with the queue's delivery key; failures become DeliveryError."""
    try:
        plain = open_delivery(q.delivery_key, frame.msg_id, frame.encrypted)
        delivered = queue.decode_delivered(plain)
    except (DeliveryDecryptError, ProtocolError) as exc:
        return DeliveryError(server, frame.recipient_id, frame.msg_id, str(exc))
    if delivered.kind is queue.MessageKind.QUOTA:
        return QuotaMarker(server, frame.recipient_id, frame.msg_id)
    return MessageReceived(server, frame.recipient_id, frame.msg_id, delivered.timestamp_ms,
                           delivered.flags, delivered.body)


def frame_event(
    server: ServerAddress, queues: MutableMapping[bytes, RecipientQueue], frame: queue.Frame
) -> TransportEvent | None:
    """The event a frame means, or None (PING; a message of a queue we do not hold).

    END and DELD drop the queue from ``queues`` so that it is not resubscribed.
    """
    if isinstance(frame, queue.MessageFrame):
        q = queues.get(frame.recipient_id)
        if q is None:
            log.info("message for a queue not subscribed here on %s", server.short())
            return None
        return decrypt_message(server, q, frame)
    if isinstance(frame, queue.EndFrame):
        queues.pop(frame.recipient_id, None)
        return SubscriptionEnded(server, frame.recipient_id)
    if isinstance(frame, queue.DeletedFrame):
        queues.pop(frame.recipient_id, None)
        return QueueDeleted(server, frame.recipient_id)
    return None


def frame_events(
    server: ServerAddress, queues: MutableMapping[bytes, RecipientQueue],
    frames: list[queue.Frame],
) -> list[TransportEvent]:
    events: list[TransportEvent] = []
    for frame in frames:
        event = frame_event(server, queues, frame)
        if event is not None:
            events.append(event)
    return events


