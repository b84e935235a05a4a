"""The queue-server protocol, version 1: commands, responses, batches and stream frames.

Pure encoders and strict decoders in the style of h11: no sockets, no clocks. Every
decoder raises :class:`ProtocolError` on malformed input and nothing else.
See ``docs/protocol.md`` for the layout of each message and the flows they make.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from simplextui.protocol import codec
from simplextui.protocol.codec import Reader
from simplextui.protocol.errors import ErrorCode, ProtocolError

PROTOCOL_VERSION = 1
MIN_VERSION = 1

ID_SIZE = 24  # queue ids (recipient and sender), message ids, link ids
KEY_SIZE = 32  # X25519 public keys
AUTH_SIZE = 32  # HMAC-SHA256 authenticators
CORR_ID_SIZE = 16  # random per transmission; also the replay-protection nonce
SESSION_ID_SIZE = 32

MAX_BODY = 16_000  # largest message body a sender may put in a queue
PADDED_BODY = MAX_BODY + 2  # every SEND carries exactly this: 2-byte length + body + zeros
DELIVERY_BLOCK = 16_384  # every delivered message is exactly this many bytes (after AEAD)
AEAD_TAG = 16
DELIVERY_PLAINTEXT = DELIVERY_BLOCK - AEAD_TAG

MAX_FIXED_DATA = 2_048  # immutable part of a link record
MAX_USER_DATA = 13_824  # mutable part of a link record

MAX_BATCH = 2_048  # transmissions in one request
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_FRAME = DELIVERY_BLOCK + 2 * ID_SIZE + 64

FLAG_NOTIFY = 0x01  # the message should raise a notification (sender's hint)

_ZEROS = bytes(DELIVERY_BLOCK)  # sliced for padding and for checking padding without copies
_SEND_TAG = b"\x04SEND"
_SEND_HEADER = len(_SEND_TAG) + 1 + 2  # tag, flags, body length


class QueueMode(StrEnum):
    MESSAGING = "M"  # duplex connection queue: the sender secures it, every SEND authenticated
    CONTACT = "C"  # long-term address: unsigned SENDs carry connection requests


class MessageKind(StrEnum):
    MESSAGE = "M"
    QUOTA = "Q"  # marker: the queue filled up here and a sender was refused


# ---------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class New:
    """Create a queue. ``recipient_key`` is the recipient's X25519 public key."""

    recipient_key: bytes
    mode: QueueMode = QueueMode.MESSAGING


@dataclass(frozen=True, slots=True)
class SecureQueue:
    """SKEY: the sender adds its X25519 key to a messaging queue (entity = sender id)."""

    sender_key: bytes


@dataclass(frozen=True, slots=True)
class Send:
    """SEND a body (entity = sender id). ``body`` is unpadded here; the encoding pads it."""

    body: bytes
    flags: int = 0


@dataclass(frozen=True, slots=True)
class Subscribe:
    """SUB: deliver this queue's messages on the session's stream (entity = recipient id)."""


@dataclass(frozen=True, slots=True)
class Ack:
    msg_id: bytes


@dataclass(frozen=True, slots=True)
class Suspend:
    """OFF: refuse further sends; messages already queued can still be received."""


@dataclass(frozen=True, slots=True)
class Delete:
    """DEL: delete the queue and every message in it."""


@dataclass(frozen=True, slots=True)
class LinkNew:
    """LNEW: create a link record (entity = the link id chosen by the client)."""

    owner_key: bytes
    fixed_data: bytes
    user_data: bytes


@dataclass(frozen=True, slots=True)
class LinkGet:
    """LGET: read a link record; no authentication (entity = link id)."""


@dataclass(frozen=True, slots=True)
class LinkSet:
    """LSET: replace the mutable part; authenticated by the owner key."""

    user_data: bytes


@dataclass(frozen=True, slots=True)
class LinkDelete:
    """LDEL: delete the link record; authenticated by the owner key."""


@dataclass(frozen=True, slots=True)
class Ping:
    pass


Command = (
    New | SecureQueue | Send | Subscribe | Ack | Suspend | Delete
    | LinkNew | LinkGet | LinkSet | LinkDelete | Ping
)

RECIPIENT_COMMANDS = (Subscribe, Ack, Suspend, Delete)
SENDER_COMMANDS = (SecureQueue, Send)
LINK_OWNER_COMMANDS = (LinkSet, LinkDelete)


def pad_body(body: bytes) -> bytes:
    if len(body) > MAX_BODY:
        raise ProtocolError(ErrorCode.LARGE_MSG, f"body of {len(body)} bytes over {MAX_BODY}")
    return b"".join((codec.u16(len(body)), body, _ZEROS[: MAX_BODY - len(body)]))


def unpad_body(padded: bytes) -> bytes:
    if len(padded) != PADDED_BODY:
        raise ProtocolError(ErrorCode.LARGE_MSG, "body is not padded to the block size")
    n = int.from_bytes(padded[:2], "big")
    if n > MAX_BODY:
        raise ProtocolError(ErrorCode.LARGE_MSG, "padded length over the maximum")
    if not padded.endswith(_ZEROS[: MAX_BODY - n]):
        raise ProtocolError(ErrorCode.SYNTAX, "non-zero padding")
    return padded[2 : 2 + n]


def encode_command(cmd: Command) -> bytes:
    match cmd:
        case New(recipient_key, mode):
            return (codec.tag("NEW") + codec.fixed(recipient_key, KEY_SIZE, "recipient key")
                    + mode.value.encode())
        case SecureQueue(sender_key):
            return codec.tag("SKEY") + codec.fixed(sender_key, KEY_SIZE, "sender key")
        case Send(body, flags):
            return codec.tag("SEND") + codec.u8(flags) + pad_body(body)
        case Subscribe():
            return codec.tag("SUB")
        case Ack(msg_id):
            return codec.tag("ACK") + codec.fixed(msg_id, ID_SIZE, "message id")
        case Suspend():
            return codec.tag("OFF")
        case Delete():
            return codec.tag("DEL")
        case LinkNew(owner_key, fixed_data, user_data):
            _check_link_sizes(fixed_data, user_data)
            return (codec.tag("LNEW") + codec.fixed(owner_key, KEY_SIZE, "owner key")
                    + codec.medium(fixed_data) + codec.medium(user_data))
        case LinkGet():
            return codec.tag("LGET")
        case LinkSet(user_data):
            _check_link_sizes(b"", user_data)
            return codec.tag("LSET") + codec.medium(user_data)
        case LinkDelete():
            return codec.tag("LDEL")
        case Ping():
            return codec.tag("PING")
    raise ProtocolError(ErrorCode.SYNTAX, f"cannot encode {cmd!r}")


def decode_command(data: bytes) -> Command:
    r = Reader(data)
    name = r.tag()
    cmd: Command
    if name == "NEW":
        key = r.take(KEY_SIZE)
        mode_byte = r.take(1).decode("latin-1")
        try:
            mode = QueueMode(mode_byte)
        except ValueError as exc:
            raise ProtocolError(ErrorCode.SYNTAX, "unknown queue mode") from exc
        cmd = New(key, mode)
    elif name == "SKEY":
        cmd = SecureQueue(r.take(KEY_SIZE))
    elif name == "SEND":
        flags = r.u8()
        if r.remaining != PADDED_BODY:
            raise ProtocolError(ErrorCode.LARGE_MSG, "SEND body is not padded to the block size")
        cmd = Send(unpad_body(r.take(PADDED_BODY)), flags)
    elif name == "SUB":
        cmd = Subscribe()
    elif name == "ACK":
        cmd = Ack(r.take(ID_SIZE))
    elif name == "OFF":
        cmd = Suspend()
    elif name == "DEL":
        cmd = Delete()
    elif name == "LNEW":
        owner = r.take(KEY_SIZE)
        fixed_data, user_data = r.medium(), r.medium()
        _check_link_sizes(fixed_data, user_data)
        cmd = LinkNew(owner, fixed_data, user_data)
    elif name == "LGET":
        cmd = LinkGet()
    elif name == "LSET":
        user_data = r.medium()
        _check_link_sizes(b"", user_data)
        cmd = LinkSet(user_data)
    elif name == "LDEL":
        cmd = LinkDelete()
    elif name == "PING":
        cmd = Ping()
    else:
        raise ProtocolError(ErrorCode.SYNTAX, f"unknown command {name[:16]!r}")
    r.end()
    return cmd


def _check_link_sizes(fixed_data: bytes, user_data: bytes) -> None:
    if len(fixed_data) > MAX_FIXED_DATA or len(user_data) > MAX_USER_DATA:
        raise ProtocolError(ErrorCode.LARGE_MSG, "link data over its size limit")


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True)
class Ok:
    pass


@dataclass(frozen=True, slots=True)
class QueueIds:
    """IDS: the new queue's ids and the server's per-queue X25519 keys."""

    recipient_id: bytes
    sender_id: bytes
    server_recipient_key: bytes  # DH with the recipient key: recipient MAC key + delivery key
    server_sender_key: bytes  # DH with the sender key (given in SKEY): sender MAC key


@dataclass(frozen=True, slots=True)
class LinkIds:
    """LIDS: the server's per-link X25519 key (DH with the owner key gives the owner MAC key)."""

    server_link_key: bytes


@dataclass(frozen=True, slots=True)
class LinkData:
    """LNK: both parts of a link record, as the owner uploaded them (client-encrypted)."""

    fixed_data: bytes
    user_data: bytes


@dataclass(frozen=True, slots=True)
class Pong:
    pass


@dataclass(frozen=True, slots=True)
class Err:
    code: ErrorCode


Response = Ok | QueueIds | LinkIds | LinkData | Pong | Err


def encode_response(resp: Response) -> bytes:
    match resp:
        case Ok():
            return codec.tag("OK")
        case QueueIds(rid, sid, srk, ssk):
            return (codec.tag("IDS") + codec.fixed(rid, ID_SIZE, "recipient id")
                    + codec.fixed(sid, ID_SIZE, "sender id")
                    + codec.fixed(srk, KEY_SIZE, "key") + codec.fixed(ssk, KEY_SIZE, "key"))
        case LinkIds(key):
            return codec.tag("LIDS") + codec.fixed(key, KEY_SIZE, "key")
        case LinkData(fixed_data, user_data):
            return codec.tag("LNK") + codec.medium(fixed_data) + codec.medium(user_data)
        case Pong():
            return codec.tag("PONG")
        case Err(code):
            return codec.tag("ERR") + codec.tag(code.value)
    raise ProtocolError(ErrorCode.SYNTAX, f"cannot encode {resp!r}")


def decode_response(data: bytes) -> Response:
    r = Reader(data)
    name = r.tag()
    resp: Response
    if name == "OK":
        resp = Ok()
    elif name == "IDS":
        resp = QueueIds(r.take(ID_SIZE), r.take(ID_SIZE), r.take(KEY_SIZE), r.take(KEY_SIZE))
    elif name == "LIDS":
        resp = LinkIds(r.take(KEY_SIZE))
    elif name == "LNK":
        resp = LinkData(r.medium(), r.medium())
    elif name == "PONG":
        resp = Pong()
    elif name == "ERR":
        code_name = r.tag()
        try:
            resp = Err(ErrorCode(code_name))
        except ValueError as exc:
            raise ProtocolError(ErrorCode.SYNTAX, f"unknown error code {code_name[:16]!r}") from exc
    else:
        raise ProtocolError(ErrorCode.SYNTAX, f"unknown response {name[:16]!r}")
    r.end()
    return resp


# ----------------------------------------------------------------------- transmissions


@dataclass(frozen=True, slots=True)
class Transmission:
    """One command in a batch: ``auth`` is empty or an HMAC over :func:`authorized_bytes`."""

    corr_id: bytes
    entity_id: bytes
    command: bytes  # encoded command, kept verbatim so the authenticator covers exact bytes
    auth: bytes = b""


def authorized_bytes(session_id: bytes, corr_id: bytes, entity_id: bytes, command: bytes) -> bytes:
    """The exact bytes an authenticator covers; the session id stops cross-session replay.

    A SEND is covered without its zero padding (which decoding requires to be all zeros):
    authenticating 16 KB of zeros per message would cost more than everything else a
    server does for a small message.
    """
    if command.startswith(_SEND_TAG) and len(command) >= _SEND_HEADER:
        n = int.from_bytes(command[_SEND_HEADER - 2 : _SEND_HEADER], "big")
        command = command[: _SEND_HEADER + min(n, MAX_BODY)]
    return b"".join((session_id, corr_id, codec.short(entity_id), command))


def encode_transmission(t: Transmission) -> bytes:
    if t.auth and len(t.auth) != AUTH_SIZE:
        raise ProtocolError(ErrorCode.SYNTAX, "authenticator must be 32 bytes")
    return (codec.short(t.auth) + codec.fixed(t.corr_id, CORR_ID_SIZE, "correlation id")
            + codec.short(t.entity_id) + t.command)


def decode_transmission(data: bytes) -> Transmission:
    r = Reader(data)
    auth = r.short()
    if auth and len(auth) != AUTH_SIZE:
        raise ProtocolError(ErrorCode.SYNTAX, "authenticator must be 32 bytes")
    corr_id = r.take(CORR_ID_SIZE)
    entity_id = r.short()
    return Transmission(corr_id, entity_id, r.rest(), auth)


@dataclass(frozen=True, slots=True)
class ResponseTransmission:
    corr_id: bytes
    entity_id: bytes
    response: Response


def encode_response_transmission(t: ResponseTransmission) -> bytes:
    return t.corr_id + codec.short(t.entity_id) + encode_response(t.response)


def decode_response_transmission(data: bytes) -> ResponseTransmission:
    r = Reader(data)
    corr_id = r.take(CORR_ID_SIZE)
    entity_id = r.short()
    return ResponseTransmission(corr_id, entity_id, decode_response(r.rest()))


# ----------------------------------------------------------------------------- batches


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """The body of ``POST /v1/batch``: many transmissions for many queues in one request."""

    version: int
    session_id: bytes
    transmissions: list[bytes]  # encoded transmissions


def encode_batch_request(b: BatchRequest) -> bytes:
    if len(b.transmissions) > MAX_BATCH:
        raise ProtocolError(ErrorCode.LARGE_BATCH, f"over {MAX_BATCH} transmissions")
    parts = [codec.u16(b.version), codec.fixed(b.session_id, SESSION_ID_SIZE, "session id"),
             codec.u16(len(b.transmissions))]
    for t in b.transmissions:
        parts.append(codec.u32(len(t)))
        parts.append(t)
    return b"".join(parts)


def decode_batch_request(data: bytes) -> BatchRequest:
    if len(data) > MAX_REQUEST_BYTES:
        raise ProtocolError(ErrorCode.LARGE_BATCH, "request body over the size limit")
    r = Reader(data)
    version = r.u16()
    session_id = r.take(SESSION_ID_SIZE)
    count = r.u16()
    if count > MAX_BATCH:
        raise ProtocolError(ErrorCode.LARGE_BATCH, f"over {MAX_BATCH} transmissions")
    transmissions = [r.long(MAX_REQUEST_BYTES) for _ in range(count)]
    r.end()
    return BatchRequest(version, session_id, transmissions)


def encode_batch_response(responses: list[bytes]) -> bytes:
    parts = [codec.u16(len(responses))]
    for t in responses:
        parts.append(codec.u32(len(t)))
        parts.append(t)
    return b"".join(parts)


def decode_batch_response(data: bytes) -> list[bytes]:
    r = Reader(data)
    items = [r.long(MAX_REQUEST_BYTES) for _ in range(r.u16())]
    r.end()
    return items


# ----------------------------------------------------------------------------- sessions


@dataclass(frozen=True, slots=True)
class SessionHello:
    """Body of ``POST /v1/session``: the client's supported version range."""

    min_version: int
    max_version: int


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The server's answer: agreed version, a fresh random session id, server clock (ms)."""

    version: int
    session_id: bytes
    server_time_ms: int


def encode_session_hello(h: SessionHello) -> bytes:
    return codec.u16(h.min_version) + codec.u16(h.max_version)


def decode_session_hello(data: bytes) -> SessionHello:
    r = Reader(data)
    h = SessionHello(r.u16(), r.u16())
    r.end()
    if h.min_version > h.max_version:
        raise ProtocolError(ErrorCode.SYNTAX, "empty version range")
    return h


def negotiate_version(h: SessionHello) -> int:
    version = min(h.max_version, PROTOCOL_VERSION)
    if version < max(h.min_version, MIN_VERSION):
        raise ProtocolError(ErrorCode.VERSION, "no common protocol version")
    return version


def encode_session_info(s: SessionInfo) -> bytes:
    return (codec.u16(s.version) + codec.fixed(s.session_id, SESSION_ID_SIZE, "session id")
            + codec.u64(s.server_time_ms))


def decode_session_info(data: bytes) -> SessionInfo:
    r = Reader(data)
    s = SessionInfo(r.u16(), r.take(SESSION_ID_SIZE), r.u64())
    r.end()
    return s


# ------------------------------------------------------------------------ stream frames
# The body of ``POST /v1/stream`` is the session id; the response is an endless sequence
# of frames, each ``u32 length || frame``.


@dataclass(frozen=True, slots=True)
class MessageFrame:
    """MSG: a message of a subscribed queue, encrypted to the recipient (DELIVERY_BLOCK bytes)."""

    recipient_id: bytes
    msg_id: bytes
    encrypted: bytes


@dataclass(frozen=True, slots=True)
class EndFrame:
    """END: another session subscribed to this queue; this stream no longer receives it."""

    recipient_id: bytes


@dataclass(frozen=True, slots=True)
class DeletedFrame:
    """DELD: the queue was deleted (by its recipient through another session)."""

    recipient_id: bytes


@dataclass(frozen=True, slots=True)
class PingFrame:
    """Keep-alive sent when the stream is idle, so a client can tell a dead stream."""


Frame = MessageFrame | EndFrame | DeletedFrame | PingFrame


def encode_frame(f: Frame) -> bytes:
    match f:
        case MessageFrame(rid, msg_id, encrypted):
            body = (codec.tag("MSG") + codec.fixed(rid, ID_SIZE, "recipient id")
                    + codec.fixed(msg_id, ID_SIZE, "message id")
                    + codec.fixed(encrypted, DELIVERY_BLOCK, "delivery block"))
        case EndFrame(rid):
            body = codec.tag("END") + codec.fixed(rid, ID_SIZE, "recipient id")
        case DeletedFrame(rid):
            body = codec.tag("DELD") + codec.fixed(rid, ID_SIZE, "recipient id")
        case PingFrame():
            body = codec.tag("PING")
        case _:
            raise ProtocolError(ErrorCode.SYNTAX, f"cannot encode {f!r}")
    return codec.u32(len(body)) + body


def decode_frame(data: bytes) -> Frame:
    r = Reader(data)
    name = r.tag()
    frame: Frame
    if name == "MSG":
        frame = MessageFrame(r.take(ID_SIZE), r.take(ID_SIZE), r.take(DELIVERY_BLOCK))
    elif name == "END":
        frame = EndFrame(r.take(ID_SIZE))
    elif name == "DELD":
        frame = DeletedFrame(r.take(ID_SIZE))
    elif name == "PING":
        frame = PingFrame()
    else:
        raise ProtocolError(ErrorCode.SYNTAX, f"unknown frame {name[:16]!r}")
    r.end()
    return frame


class FrameDecoder:
    """Incremental decoder for the stream: feed bytes as they arrive, get whole frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 4:
            n = int.from_bytes(self._buffer[:4], "big")
            if n > MAX_FRAME:
                raise ProtocolError(ErrorCode.SYNTAX, f"frame of {n} bytes over the limit")
            if len(self._buffer) < 4 + n:
                break
            frames.append(decode_frame(bytes(self._buffer[4 : 4 + n])))
            del self._buffer[: 4 + n]
        return frames


# ----------------------------------------------------------------- delivered plaintext


@dataclass(frozen=True, slots=True)
class DeliveredMessage:
    """What the recipient finds inside a MSG block after decrypting it."""

    timestamp_ms: int
    flags: int
    kind: MessageKind
    body: bytes


def encode_delivered(m: DeliveredMessage) -> bytes:
    """Pad to DELIVERY_PLAINTEXT so every delivered block has the same size."""
    head = codec.u64(m.timestamp_ms) + codec.u8(m.flags) + m.kind.value.encode()
    size = len(head) + 2 + len(m.body)
    if size > DELIVERY_PLAINTEXT:
        raise ProtocolError(ErrorCode.LARGE_MSG, "delivered body over the block size")
    return b"".join((head, codec.u16(len(m.body)), m.body, _ZEROS[: DELIVERY_PLAINTEXT - size]))


def decode_delivered(data: bytes) -> DeliveredMessage:
    if len(data) != DELIVERY_PLAINTEXT:
        raise ProtocolError(ErrorCode.SYNTAX, "delivered block has the wrong size")
    r = Reader(data)
    ts, flags = r.u64(), r.u8()
    try:
        kind = MessageKind(r.take(1).decode("latin-1"))
    except ValueError as exc:
        raise ProtocolError(ErrorCode.SYNTAX, "unknown delivered message kind") from exc
    body = r.medium()
    if not data.endswith(_ZEROS[: r.remaining]):
        raise ProtocolError(ErrorCode.SYNTAX, "non-zero padding")
    return DeliveredMessage(ts, flags, kind, body)
