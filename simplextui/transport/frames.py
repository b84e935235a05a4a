"""Turn stream frames into transport events (pure: no I/O, unit-tested directly)."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from simplextui.crypto.queue_auth import DeliveryDecryptError, open_delivery
from simplextui.protocol import queue
from simplextui.protocol import queue_hot as hot
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ErrorCode, ProtocolError
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


Buffer = bytes | bytearray | memoryview


def open_message(
    server: ServerAddress, q: RecipientQueue, recipient_id: bytes, msg_id: bytes, block: Buffer
) -> MessageReceived | QuotaMarker | DeliveryError:
    """Open a MSG block with the queue's delivery key; failures become DeliveryError."""
    try:
        plain = open_delivery(q.delivery_key, msg_id, block)
    except DeliveryDecryptError as exc:
        return DeliveryError(server, recipient_id, msg_id, str(exc))
    fields = hot.parse_delivered(plain)
    if fields is None:
        try:
            queue.decode_delivered(plain)  # raises, saying what is wrong
            reason = "malformed delivered block"
        except ProtocolError as exc:
            reason = str(exc)
        return DeliveryError(server, recipient_id, msg_id, reason)
    timestamp_ms, flags, kind, body = fields
    if kind == _QUOTA:
        return QuotaMarker(server, recipient_id, msg_id)
    return MessageReceived(server, recipient_id, msg_id, timestamp_ms, flags, body)


_QUOTA = queue.MessageKind.QUOTA.value.encode()


def decrypt_message(
    server: ServerAddress, q: RecipientQueue, frame: queue.MessageFrame
) -> MessageReceived | QuotaMarker | DeliveryError:
    return open_message(server, q, frame.recipient_id, frame.msg_id, frame.encrypted)


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




class StreamDecoder:
    """The stream's bytes in, events out (like ``FrameDecoder`` then ``frame_events``).

    MSG frames, nearly all of the stream, are decrypted straight from the bytes received;
    the reference ``FrameDecoder`` copies each 16 KB block three times on the way.
    """

    def __init__(self, server: ServerAddress,
                 queues: MutableMapping[bytes, RecipientQueue]) -> None:
        self.server = server
        self.queues = queues
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[TransportEvent]:
        events: list[TransportEvent] = []
        pos = 0
        if self._buffer:  # complete the frame begun in an earlier chunk, then go on in place
            pos = self._complete(data)
            if pos < 0:
                return events
            self._parse(self._buffer, 0, events)
            self._buffer = bytearray()
        pos = self._parse(data, pos, events)
        if pos < len(data):
            self._buffer += memoryview(data)[pos:]
        return events

    def _complete(self, data: bytes) -> int:
        """Move bytes from ``data`` to the buffer until it holds a whole frame; returns how
        many were moved, or -1 when ``data`` ran out first (all of it is buffered)."""
        buf = self._buffer
        used = 0
        if len(buf) < 4:
            used = min(4 - len(buf), len(data))
            buf += data[:used]
            if len(buf) < 4:
                return -1
        size = 4 + self._frame_length(buf, 0)
        more = min(size - len(buf), len(data) - used)
        buf += data[used : used + more]
        return used + more if len(buf) == size else -1

    @staticmethod
    def _frame_length(buf: bytes | bytearray, pos: int) -> int:
        n = int.from_bytes(buf[pos : pos + 4], "big")
        if n > queue.MAX_FRAME:
            raise ProtocolError(ErrorCode.SYNTAX, f"frame of {n} bytes over the limit")
        return n

    def _parse(self, buf: bytes | bytearray, pos: int, events: list[TransportEvent]) -> int:
        """Decode the whole frames of ``buf`` from ``pos``; returns where the rest begins."""
        size = len(buf)
        with memoryview(buf) as view:
            while size - pos >= 4:
                if buf.startswith(hot.MSG_PREFIX, pos):
                    end = pos + hot.MSG_FRAME_SIZE
                    if end > size:
                        break
                    event = self._message(bytes(view[pos + 8 : pos + 32]),
                                          bytes(view[pos + 32 : pos + 56]),
                                          view[pos + hot.MSG_HEADER_SIZE : end])
                else:
                    end = pos + 4 + self._frame_length(buf, pos)
                    if end > size:
                        break
                    frame = queue.decode_frame(bytes(view[pos + 4 : end]))
                    event = frame_event(self.server, self.queues, frame)
                if event is not None:
                    events.append(event)
                pos = end
        return pos

    def _message(self, recipient_id: bytes, msg_id: bytes,
                 block: memoryview) -> TransportEvent | None:
        q = self.queues.get(recipient_id)
        if q is None:
            log.info("message for a queue not subscribed here on %s", self.server.short())
            return None
        return open_message(self.server, q, recipient_id, msg_id, block)
