"""Allocation-light codecs for the hottest queue-protocol messages (SEND, ACK, OK, MSG).

Same wire format as :mod:`simplextui.protocol.queue`, which stays the reference: every
function here either agrees byte for byte with the reference codec or says "not mine"
(``None``), and the caller falls back to the reference, which then raises the exact error.
``tests/protocol/test_queue_hot.py`` checks the agreement.

Why a second codec: a message costs the server one SEND, one ACK and one MSG frame, and the
client as much again. The reference decoders build a ``Reader`` and frozen dataclasses and
copy the 16 KB padded body a few times; at 10,000 messages/s that alone costs more CPU than
the cryptography. Here transmissions are read at offsets into the request body, the padding
is checked in place, and frames are built with one copy.
"""

from __future__ import annotations

import struct

from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode, ProtocolError

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_ZEROS = memoryview(bytes(q.DELIVERY_BLOCK))  # slices of a memoryview are not copies

SEND_TAG = b"\x04SEND"
ACK_TAG = b"\x03ACK"
_SEND_SIZE = len(SEND_TAG) + 1 + q.PADDED_BODY  # tag, flags, padded body
_SEND_BODY = len(SEND_TAG) + 1 + 2  # where the body starts: after tag, flags, length
_ACK_SIZE = len(ACK_TAG) + q.ID_SIZE
OK = q.encode_response(q.Ok())
_BATCH_HEAD = 2 + q.SESSION_ID_SIZE + 2


def _truncated() -> ProtocolError:
    return ProtocolError(ErrorCode.SYNTAX, "truncated input")


# ------------------------------------------------------------------ server: requests


def split_batch_request(data: bytes) -> tuple[int, bytes, list[tuple[int, int]]]:
    """Like :func:`queue.decode_batch_request`, with each transmission as ``(start, end)``
    offsets into ``data`` instead of a copy."""
    if len(data) > q.MAX_REQUEST_BYTES:
        raise ProtocolError(ErrorCode.LARGE_BATCH, "request body over the size limit")
    if len(data) < _BATCH_HEAD:
        raise _truncated()
    version = _U16.unpack_from(data, 0)[0]
    session_id = data[2 : 2 + q.SESSION_ID_SIZE]
    count = _U16.unpack_from(data, 2 + q.SESSION_ID_SIZE)[0]
    if count > q.MAX_BATCH:
        raise ProtocolError(ErrorCode.LARGE_BATCH, f"over {q.MAX_BATCH} transmissions")
    spans: list[tuple[int, int]] = []
    pos, size, unpack = _BATCH_HEAD, len(data), _U32.unpack_from
    for _ in range(count):
        if pos + 4 > size:
            raise _truncated()
        n = unpack(data, pos)[0]
        if n > q.MAX_REQUEST_BYTES:
            raise ProtocolError(ErrorCode.LARGE_MSG, f"field of {n} bytes over limit")
        start = pos + 4
        pos = start + n
        if pos > size:
            raise _truncated()
        spans.append((start, pos))
    if pos != size:
        raise ProtocolError(ErrorCode.SYNTAX, f"{size - pos} trailing bytes")
    return version, session_id, spans


def transmission_fields(data: bytes, start: int, end: int) -> tuple[bytes, bytes, bytes, int, int]:
    """The transmission at ``data[start:end]``: ``(auth, corr_id, entity_id, covered, command)``
    where ``covered`` and ``command`` are offsets: the authenticator covers the session id
    followed by ``data[covered:...]`` and the command starts at ``command``.

    Raises ProtocolError where :func:`queue.decode_transmission` does.
    """
    if start >= end:
        raise _truncated()
    auth_end = start + 1 + data[start]
    covered = auth_end
    entity_at = covered + q.CORR_ID_SIZE
    if entity_at >= end:  # also covers a truncated authenticator
        raise _truncated()
    if auth_end != start + 1 and auth_end - start - 1 != q.AUTH_SIZE:
        raise ProtocolError(ErrorCode.SYNTAX, "authenticator must be 32 bytes")
    command = entity_at + 1 + data[entity_at]
    if command > end:
        raise _truncated()
    return (data[start + 1 : auth_end], data[covered:entity_at], data[entity_at + 1 : command],
            covered, command)


def send_fields(data: bytes, command: int, end: int) -> tuple[int, bytes, int] | None:
    """``(flags, body, covered_end)`` of a well-formed SEND at ``data[command:end]``, or None.

    ``covered_end`` is where the authenticated bytes end (the padding is not covered). None
    for anything :func:`queue.decode_command` would not accept as a SEND.
    """
    if end - command != _SEND_SIZE or not data.startswith(SEND_TAG, command):
        return None
    body_at = command + _SEND_BODY
    n = _U16.unpack_from(data, body_at - 2)[0]
    if n > q.MAX_BODY or not data.startswith(_ZEROS[: q.MAX_BODY - n], body_at + n):
        return None
    return data[command + len(SEND_TAG)], data[body_at : body_at + n], body_at + n


def ack_msg_id(data: bytes, command: int, end: int) -> bytes | None:
    """The message id of a well-formed ACK at ``data[command:end]``, or None."""
    if end - command != _ACK_SIZE or not data.startswith(ACK_TAG, command):
        return None
    return data[command + len(ACK_TAG) : end]


def encode_batch_response(replies: list[bytes], responses: list[bytes]) -> bytes:
    """:func:`queue.encode_batch_response` of the response transmissions made of each
    ``reply`` (``corr_id || short(entity_id)``) and its encoded response, in one join."""
    parts = [_U16.pack(len(responses))]
    append, pack = parts.append, _U32.pack
    for reply, response in zip(replies, responses, strict=True):
        append(pack(len(reply) + len(response)))
        append(reply)
        append(response)
    return b"".join(parts)


def reply_head(corr_id: bytes, entity_id: bytes) -> bytes:
    """``corr_id || short(entity_id)``: how a response transmission starts."""
    return corr_id + bytes((len(entity_id),)) + entity_id


# ----------------------------------------------------------------- server: delivery

_DELIVERED_HEAD = struct.Struct(">QBcH")  # timestamp, flags, kind, body length
_DELIVERED_PAD = q.DELIVERY_PLAINTEXT - _DELIVERED_HEAD.size
_KINDS = frozenset(kind.value.encode() for kind in q.MessageKind)
MSG_PREFIX = _U32.pack(1 + 3 + 2 * q.ID_SIZE + q.DELIVERY_BLOCK) + b"\x03MSG"
MSG_HEADER_SIZE = len(MSG_PREFIX) + 2 * q.ID_SIZE  # what precedes the encrypted block
MSG_FRAME_SIZE = MSG_HEADER_SIZE + q.DELIVERY_BLOCK  # a whole MSG frame, length included


class DeliveredWriter:
    """Builds delivered plaintexts (:func:`queue.encode_delivered`) in one reused buffer.

    Only the header and the body are written; the padding stays zero (what the previous
    body left beyond the new one is cleared). Encrypt the result before the next ``write``.
    """

    def __init__(self) -> None:
        self._buffer = bytearray(q.DELIVERY_PLAINTEXT)
        self._used = 0  # bytes that may be non-zero

    def write(self, timestamp_ms: int, flags: int, kind: bytes, body: bytes) -> bytearray:
        """``kind`` is one ASCII byte (``b"M"``, ``b"Q"``)."""
        if len(body) > _DELIVERED_PAD:
            raise ProtocolError(ErrorCode.LARGE_MSG, "delivered body over the block size")
        buf = self._buffer
        _DELIVERED_HEAD.pack_into(buf, 0, timestamp_ms, flags, kind, len(body))
        end = _DELIVERED_HEAD.size + len(body)
        buf[_DELIVERED_HEAD.size : end] = body
        if self._used > end:
            buf[end : self._used] = _ZEROS[: self._used - end]
        self._used = end
        return buf


def message_frame(recipient_id: bytes, msg_id: bytes) -> tuple[bytearray, memoryview]:
    """A MSG frame (length prefix included) whose encrypted block is still to be written:
    returns the frame and a view of its last ``DELIVERY_BLOCK`` bytes to encrypt into."""
    if len(recipient_id) != q.ID_SIZE or len(msg_id) != q.ID_SIZE:
        raise ProtocolError(ErrorCode.SYNTAX, "ids must be 24 bytes")
    frame = bytearray(MSG_HEADER_SIZE + q.DELIVERY_BLOCK)
    frame[:MSG_HEADER_SIZE] = b"".join((MSG_PREFIX, recipient_id, msg_id))
    return frame, memoryview(frame)[MSG_HEADER_SIZE:]


def parse_delivered(data: bytes) -> tuple[int, int, bytes, bytes] | None:
    """``(timestamp_ms, flags, kind, body)`` of a well-formed delivered plaintext (``kind``
    one byte, ``b"M"`` or ``b"Q"``), or None (:func:`queue.decode_delivered` says why)."""
    if len(data) != q.DELIVERY_PLAINTEXT:
        return None
    timestamp_ms, flags, kind, n = _DELIVERED_HEAD.unpack_from(data, 0)
    if n > _DELIVERED_PAD or kind not in _KINDS or not data.endswith(_ZEROS[: _DELIVERED_PAD - n]):
        return None
    return timestamp_ms, flags, kind, data[_DELIVERED_HEAD.size : _DELIVERED_HEAD.size + n]


# ------------------------------------------------------------------ client: requests


def send_command_parts(body: bytes, flags: int) -> tuple[bytes, bytes, memoryview]:
    """A SEND command as (header, body, padding): joined, they are
    ``encode_command(Send(body, flags))``; the first two are what the authenticator covers."""
    if len(body) > q.MAX_BODY:
        raise ProtocolError(ErrorCode.LARGE_MSG, f"body of {len(body)} bytes over {q.MAX_BODY}")
    head = SEND_TAG + bytes((flags,)) + _U16.pack(len(body))
    return head, body, _ZEROS[: q.MAX_BODY - len(body)]


def ack_command(msg_id: bytes) -> bytes:
    """``encode_command(Ack(msg_id))``."""
    if len(msg_id) != q.ID_SIZE:
        raise ProtocolError(ErrorCode.SYNTAX, f"message id must be {q.ID_SIZE} bytes")
    return ACK_TAG + msg_id


def batch_request_head(version: int, session_id: bytes, count: int) -> bytes:
    if count > q.MAX_BATCH:
        raise ProtocolError(ErrorCode.LARGE_BATCH, f"over {q.MAX_BATCH} transmissions")
    if len(session_id) != q.SESSION_ID_SIZE:
        raise ProtocolError(ErrorCode.SYNTAX, "session id must be 32 bytes")
    return _U16.pack(version) + session_id + _U16.pack(count)


def u32(n: int) -> bytes:
    return _U32.pack(n)


# ----------------------------------------------------------------- client: responses

_OK = q.Ok()


def decode_batch_response(data: bytes) -> list[tuple[bytes, q.Response]]:
    """:func:`queue.decode_batch_response` and :func:`queue.decode_response_transmission`
    in one pass: ``(corr_id, response)`` per item; OK answers share one ``Ok`` instance."""
    if len(data) < 2:
        raise _truncated()
    count = _U16.unpack_from(data, 0)[0]
    out: list[tuple[bytes, q.Response]] = []
    pos, size, unpack = 2, len(data), _U32.unpack_from
    ok, ok_size = OK, len(OK)
    for _ in range(count):
        if pos + 4 > size:
            raise _truncated()
        n = unpack(data, pos)[0]
        if n > q.MAX_REQUEST_BYTES:
            raise ProtocolError(ErrorCode.LARGE_MSG, f"field of {n} bytes over limit")
        start = pos + 4
        pos = start + n
        if pos > size or n < q.CORR_ID_SIZE + 1:
            raise _truncated()
        corr_end = start + q.CORR_ID_SIZE
        response_at = corr_end + 1 + data[corr_end]
        if response_at > pos:
            raise _truncated()
        if pos - response_at == ok_size and data.startswith(ok, response_at):
            out.append((data[start:corr_end], _OK))
        else:
            out.append((data[start:corr_end], q.decode_response(data[response_at:pos])))
    if pos != size:
        raise ProtocolError(ErrorCode.SYNTAX, f"{size - pos} trailing bytes")
    return out
