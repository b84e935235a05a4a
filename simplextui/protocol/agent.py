"""Agent protocol v1: what connections put in link data and in queue messages.

Pure encoders and strict decoders (no I/O, no keys): every decoder raises
:class:`ProtocolError` on malformed input. Cryptographic parts (X3DH parameters, ratchet
messages, sealed boxes) are opaque bytes here; ``simplextui.agent`` fills and opens them.
See ``docs/agent-protocol.md`` for the flows.

Three layers, outermost first:

1. **Link data** (:class:`InvitationData`, :class:`AddressData`): the fixed part of a link
   record, encrypted with a key derived from the link key.
2. **Envelopes**, the body of one queue message: ``u16 version || u8 tag || ...`` —
   ``C`` confirmation (X3DH reply + first ratchet message), ``M`` ratchet message,
   ``R`` contact request (sealed to an address's keys). Unknown tags decode to
   :class:`UnknownEnvelope` so that the caller can log and skip them.
3. **Agent messages**, the plaintext inside the ratchet, padded to a fixed size:
   ``u64 agent_msg_id || prev_msg_hash (32) || u8 kind || payload``. Kinds: INFO, MSG,
   RCVD, QCONT, DEL; an unknown kind decodes to :class:`UnknownPayload`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from simplextui.protocol import codec
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.codec import Reader
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.protocol.queue import ID_SIZE, KEY_SIZE, MAX_BODY

AGENT_VERSION = 1
MIN_AGENT_VERSION = 1

HASH_SIZE = 32
MAX_SERVER_TEXT = 320  # smp://FINGERPRINT@HOST:PORT with the longest DNS name
MAX_X3DH_PARAMS = 2_048  # opaque X3DH parameters (1250 with an ML-KEM-768 key)
KEM_PUBLIC_KEY_SIZE = 1_184  # ML-KEM-768 encapsulation key
KEM_CIPHERTEXT_SIZE = 1_088

# Byte budgets. A queue message body is at most MAX_BODY (16,000) bytes. A ratchet message
# adds at most RATCHET_OVERHEAD (2,359 with a post-quantum header; checked in the agent tests).
ENVELOPE_HEADER = 3  # u16 version || u8 tag
RATCHET_OVERHEAD = 2_400
JOIN_PARAMS_FIELD = 2 + 1_154  # medium(X3DH reply with an ML-KEM ciphertext)
MESSAGE_PADDED = 13_584  # agent messages in ``M`` envelopes are padded to this size
CONFIRMATION_PADDED = 12_432  # the agent message inside a ``C`` envelope
MESSAGE_HEADER = 8 + HASH_SIZE + 1  # id, previous hash, kind
MAX_MESSAGE_BODY = MESSAGE_PADDED - 2 - MESSAGE_HEADER  # largest MSG body: 13,541 bytes
MAX_INFO = 11_900  # connection info (INFO, contact requests)
MAX_RECEIPTS = 300  # receipts in one RCVD

assert ENVELOPE_HEADER + RATCHET_OVERHEAD + MESSAGE_PADDED <= MAX_BODY
assert ENVELOPE_HEADER + JOIN_PARAMS_FIELD + RATCHET_OVERHEAD + CONFIRMATION_PADDED <= MAX_BODY
assert MESSAGE_HEADER + 2 + MAX_RECEIPTS * (8 + HASH_SIZE) <= MESSAGE_PADDED - 2

ZERO_HASH = bytes(HASH_SIZE)


def _syntax(detail: str) -> ProtocolError:
    return ProtocolError(ErrorCode.SYNTAX, detail)


def check_version_range(min_version: int, max_version: int) -> int:
    """The version to speak with a peer that supports ``min..max``; raises if none."""
    if min_version > max_version:
        raise _syntax("empty agent version range")
    version = min(max_version, AGENT_VERSION)
    if version < max(min_version, MIN_AGENT_VERSION):
        raise ProtocolError(ErrorCode.VERSION, f"no common agent version (peer supports "
                            f"{min_version}..{max_version}, we support "
                            f"{MIN_AGENT_VERSION}..{AGENT_VERSION})")
    return version


# --------------------------------------------------------------------- queue addresses


@dataclass(frozen=True, slots=True)
class QueueAddress:
    """What a peer needs to send to one of our queues.

    ``server_sender_key`` is the server's key for SKEY (messaging queues); a contact-mode
    queue (an address) takes unauthenticated sends and has none.
    """

    server: ServerAddress
    sender_id: bytes
    server_sender_key: bytes | None = None

    def __post_init__(self) -> None:
        if len(self.sender_id) != ID_SIZE:
            raise _syntax(f"sender id must be {ID_SIZE} bytes")
        if self.server_sender_key is not None and len(self.server_sender_key) != KEY_SIZE:
            raise _syntax(f"server sender key must be {KEY_SIZE} bytes")


def encode_queue_address(a: QueueAddress) -> bytes:
    server = str(a.server).encode("ascii")
    if len(server) > MAX_SERVER_TEXT:
        raise _syntax("server address too long")
    key = a.server_sender_key
    return (codec.medium(server) + a.sender_id
            + (codec.u8(1) + key if key is not None else codec.u8(0)))


def read_queue_address(r: Reader) -> QueueAddress:
    raw = r.medium()
    if len(raw) > MAX_SERVER_TEXT:
        raise _syntax("server address too long")
    try:
        server = ServerAddress.parse(raw.decode("ascii"))
    except UnicodeDecodeError as exc:
        raise _syntax("server address is not ASCII") from exc
    sender_id = r.take(ID_SIZE)
    flag = r.u8()
    if flag not in (0, 1):
        raise _syntax("bad queue address flag")
    key = r.take(KEY_SIZE) if flag else None
    return QueueAddress(server, sender_id, key)


# ---------------------------------------------------------------------------- link data

_INVITATION_TAG = "I"
_ADDRESS_TAG = "A"


@dataclass(frozen=True, slots=True)
class InvitationData:
    """A one-time invitation: the inviter's queue and its X3DH parameters.

    Also carried inline in a contact request (the requester invites the address owner).
    """

    queue: QueueAddress
    x3dh_params: bytes
    min_version: int = MIN_AGENT_VERSION
    max_version: int = AGENT_VERSION

    def __post_init__(self) -> None:
        if self.queue.server_sender_key is None:
            raise _syntax("an invitation needs a messaging queue (with a server sender key)")
        if not 0 < len(self.x3dh_params) <= MAX_X3DH_PARAMS:
            raise _syntax("bad X3DH parameters length")


@dataclass(frozen=True, slots=True)
class AddressData:
    """A contact address: its contact-mode queue and the keys requests are sealed to."""

    queue: QueueAddress
    request_key: bytes  # X25519 public key
    kem_key: bytes  # ML-KEM-768 encapsulation key
    min_version: int = MIN_AGENT_VERSION
    max_version: int = AGENT_VERSION

    def __post_init__(self) -> None:
        if self.queue.server_sender_key is not None:
            raise _syntax("an address queue takes no sender key")
        if len(self.request_key) != KEY_SIZE:
            raise _syntax("bad address request key")
        if len(self.kem_key) != KEM_PUBLIC_KEY_SIZE:
            raise _syntax("bad address KEM key")


LinkPayload = InvitationData | AddressData


def encode_link_payload(p: LinkPayload) -> bytes:
    head = codec.u16(p.min_version) + codec.u16(p.max_version)
    if isinstance(p, InvitationData):
        return (head + codec.tag(_INVITATION_TAG) + encode_queue_address(p.queue)
                + codec.medium(p.x3dh_params))
    return (head + codec.tag(_ADDRESS_TAG) + encode_queue_address(p.queue) + p.request_key
            + codec.medium(p.kem_key))


def decode_link_payload(data: bytes) -> LinkPayload:
    r = Reader(data)
    p = _read_link_payload(r)
    r.end()
    return p


def _read_link_payload(r: Reader) -> LinkPayload:
    min_v, max_v = r.u16(), r.u16()
    if min_v > max_v:
        raise _syntax("empty agent version range")
    tag = r.tag()
    queue = read_queue_address(r)
    if tag == _INVITATION_TAG:
        return InvitationData(queue, r.medium(), min_v, max_v)
    if tag == _ADDRESS_TAG:
        request_key = r.take(KEY_SIZE)
        return AddressData(queue, request_key, r.medium(), min_v, max_v)
    raise _syntax(f"unknown link data kind {tag[:8]!r}")


# ---------------------------------------------------------------------------- envelopes

_CONFIRMATION = ord("C")
_MESSAGE = ord("M")
_REQUEST = ord("R")


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The joiner's first message: its X3DH reply and the first ratchet message (INFO)."""

    join_params: bytes
    ratchet_message: bytes
    version: int = AGENT_VERSION


@dataclass(frozen=True, slots=True)
class RatchetEnvelope:
    ratchet_message: bytes
    version: int = AGENT_VERSION


@dataclass(frozen=True, slots=True)
class ContactRequestEnvelope:
    """Sent unauthenticated to an address: sealed to the address's X25519 + ML-KEM keys."""

    ephemeral_key: bytes
    kem_ciphertext: bytes
    sealed: bytes
    version: int = AGENT_VERSION


@dataclass(frozen=True, slots=True)
class UnknownEnvelope:
    """A well-formed header with a tag this version does not know: skipped by the caller."""

    tag: int
    version: int


Envelope = Confirmation | RatchetEnvelope | ContactRequestEnvelope | UnknownEnvelope


def envelope_header(tag: str, version: int = AGENT_VERSION) -> bytes:
    """The 3 header bytes; the agent binds them to the ratchet message as associated data."""
    return codec.u16(version) + tag.encode("ascii")


def encode_envelope(e: Envelope) -> bytes:
    if isinstance(e, Confirmation):
        if len(e.join_params) > MAX_X3DH_PARAMS:
            raise _syntax("X3DH reply too long")
        out = (envelope_header("C", e.version) + codec.medium(e.join_params)
               + e.ratchet_message)
    elif isinstance(e, RatchetEnvelope):
        out = envelope_header("M", e.version) + e.ratchet_message
    elif isinstance(e, ContactRequestEnvelope):
        if len(e.ephemeral_key) != KEY_SIZE or len(e.kem_ciphertext) != KEM_CIPHERTEXT_SIZE:
            raise _syntax("bad contact request keys")
        out = (envelope_header("R", e.version) + e.ephemeral_key
               + codec.medium(e.kem_ciphertext) + e.sealed)
    else:
        raise _syntax(f"cannot encode {e!r}")
    if len(out) > MAX_BODY:
        raise ProtocolError(ErrorCode.LARGE_MSG, f"envelope of {len(out)} bytes over {MAX_BODY}")
    return out


def decode_envelope(data: bytes) -> Envelope:
    r = Reader(data)
    version = r.u16()
    if not MIN_AGENT_VERSION <= version <= AGENT_VERSION:
        raise ProtocolError(ErrorCode.VERSION, f"unsupported agent version {version}")
    tag = r.u8()
    if tag == _CONFIRMATION:
        join_params = r.medium()
        if not join_params or len(join_params) > MAX_X3DH_PARAMS:
            raise _syntax("bad X3DH reply length")
        rest = r.rest()
        if not rest:
            raise _syntax("confirmation without a ratchet message")
        return Confirmation(join_params, rest, version)
    if tag == _MESSAGE:
        rest = r.rest()
        if not rest:
            raise _syntax("empty ratchet message")
        return RatchetEnvelope(rest, version)
    if tag == _REQUEST:
        eph = r.take(KEY_SIZE)
        ct = r.medium()
        if len(ct) != KEM_CIPHERTEXT_SIZE:
            raise _syntax("bad KEM ciphertext length")
        sealed = r.rest()
        if not sealed:
            raise _syntax("empty contact request")
        return ContactRequestEnvelope(eph, ct, sealed, version)
    return UnknownEnvelope(tag, version)


# --------------------------------------------------------------------- contact requests


@dataclass(frozen=True, slots=True)
class ContactRequestBody:
    """Inside a sealed contact request: the requester's inline invitation and its info."""

    invitation: InvitationData
    info: bytes


def encode_contact_request(b: ContactRequestBody) -> bytes:
    if len(b.info) > MAX_INFO:
        raise ProtocolError(ErrorCode.LARGE_MSG, f"connection info over {MAX_INFO} bytes")
    return codec.medium(encode_link_payload(b.invitation)) + codec.medium(b.info)


def decode_contact_request(data: bytes) -> ContactRequestBody:
    r = Reader(data)
    invitation = decode_link_payload(r.medium())
    if not isinstance(invitation, InvitationData):
        raise _syntax("a contact request must carry an invitation")
    info = r.medium()
    if len(info) > MAX_INFO:
        raise ProtocolError(ErrorCode.LARGE_MSG, "connection info too long")
    r.end()
    return ContactRequestBody(invitation, info)


# ------------------------------------------------------------------------ agent messages

_K_INFO = ord("I")
_K_MSG = ord("M")
_K_MSG_NO_RECEIPT = ord("N")  # a MSG whose sender wants no delivery receipt
_K_RCVD = ord("V")
_K_QCONT = ord("Q")
_K_DEL = ord("D")


@dataclass(frozen=True, slots=True)
class Info:
    """Connection info; the joiner's first message also names its reply queue."""

    info: bytes
    reply_queue: QueueAddress | None = None


@dataclass(frozen=True, slots=True)
class Msg:
    """MSG: a chat-layer message; ``receipt=False`` (kind ``N``) asks for no RCVD."""

    body: bytes
    receipt: bool = True


@dataclass(frozen=True, slots=True)
class Receipt:
    agent_msg_id: int
    msg_hash: bytes


@dataclass(frozen=True, slots=True)
class Receipts:
    """RCVD: the peer's agent committed these messages and the chat layer processed them."""

    receipts: tuple[Receipt, ...]


@dataclass(frozen=True, slots=True)
class QuotaContinue:
    """QCONT: our queue had filled up and is drained now: resume sending."""


@dataclass(frozen=True, slots=True)
class Deleted:
    """DEL: the sender deleted the connection."""


@dataclass(frozen=True, slots=True)
class UnknownPayload:
    kind: int
    data: bytes


Payload = Info | Msg | Receipts | QuotaContinue | Deleted | UnknownPayload


@dataclass(frozen=True, slots=True)
class AgentMessage:
    agent_msg_id: int
    prev_msg_hash: bytes
    payload: Payload
    msg_hash: bytes = field(default=ZERO_HASH, compare=False)  # set by the decoder


def encode_payload(p: Payload) -> bytes:
    if isinstance(p, Msg):
        if len(p.body) > MAX_MESSAGE_BODY:
            raise ProtocolError(ErrorCode.LARGE_MSG,
                                f"message of {len(p.body)} bytes over {MAX_MESSAGE_BODY}")
        return codec.u8(_K_MSG if p.receipt else _K_MSG_NO_RECEIPT) + p.body
    if isinstance(p, Info):
        if len(p.info) > MAX_INFO:
            raise ProtocolError(ErrorCode.LARGE_MSG, f"connection info over {MAX_INFO} bytes")
        queue = (codec.u8(1) + encode_queue_address(p.reply_queue)
                 if p.reply_queue is not None else codec.u8(0))
        return codec.u8(_K_INFO) + queue + codec.medium(p.info)
    if isinstance(p, Receipts):
        if not 0 < len(p.receipts) <= MAX_RECEIPTS:
            raise _syntax("bad receipt count")
        parts = [codec.u8(_K_RCVD), codec.u16(len(p.receipts))]
        for rc in p.receipts:
            parts.append(codec.u64(rc.agent_msg_id))
            parts.append(codec.fixed(rc.msg_hash, HASH_SIZE, "message hash"))
        return b"".join(parts)
    if isinstance(p, QuotaContinue):
        return codec.u8(_K_QCONT)
    if isinstance(p, Deleted):
        return codec.u8(_K_DEL)
    raise _syntax(f"cannot encode {p!r}")


def message_content(agent_msg_id: int, prev_msg_hash: bytes, payload: Payload) -> bytes:
    """The unpadded bytes of an agent message; its SHA-256 is the message hash."""
    return (codec.u64(agent_msg_id) + codec.fixed(prev_msg_hash, HASH_SIZE, "previous hash")
            + encode_payload(payload))


def message_hash(content: bytes) -> bytes:
    return hashlib.sha256(content).digest()


def pad(content: bytes, size: int) -> bytes:
    if len(content) > size - 2:
        raise ProtocolError(ErrorCode.LARGE_MSG, f"agent message of {len(content)} bytes "
                            f"does not fit in {size - 2}")
    return codec.u16(len(content)) + content + bytes(size - 2 - len(content))


def decode_agent_message(padded: bytes) -> AgentMessage:
    """Strict: the padding must be zeros, the payload must be well formed."""
    if len(padded) < 2:
        raise _syntax("agent message too short")
    n = int.from_bytes(padded[:2], "big")
    if 2 + n > len(padded):
        raise _syntax("agent message length over its padding")
    if padded.count(0, 2 + n) != len(padded) - 2 - n:
        raise _syntax("non-zero padding in agent message")
    content = padded[2 : 2 + n]
    r = Reader(content)
    msg_id = r.u64()
    prev = r.take(HASH_SIZE)
    kind = r.u8()
    payload = _read_payload(kind, r)
    r.end()
    return AgentMessage(msg_id, prev, payload, message_hash(content))


def _read_payload(kind: int, r: Reader) -> Payload:
    if kind == _K_MSG:
        return Msg(r.rest())
    if kind == _K_MSG_NO_RECEIPT:
        return Msg(r.rest(), receipt=False)
    if kind == _K_INFO:
        flag = r.u8()
        if flag not in (0, 1):
            raise _syntax("bad INFO flag")
        queue = read_queue_address(r) if flag else None
        info = r.medium()
        if len(info) > MAX_INFO:
            raise ProtocolError(ErrorCode.LARGE_MSG, "connection info too long")
        return Info(info, queue)
    if kind == _K_RCVD:
        count = r.u16()
        if not 0 < count <= MAX_RECEIPTS:
            raise _syntax("bad receipt count")
        return Receipts(tuple(Receipt(r.u64(), r.take(HASH_SIZE)) for _ in range(count)))
    if kind == _K_QCONT:
        return QuotaContinue()
    if kind == _K_DEL:
        return Deleted()
    return UnknownPayload(kind, r.rest())


def encode_agent_message(agent_msg_id: int, prev_msg_hash: bytes, payload: Payload,
                         size: int = MESSAGE_PADDED) -> tuple[bytes, bytes]:
    """(padded plaintext for the ratchet, message hash)."""
    content = message_content(agent_msg_id, prev_msg_hash, payload)
    return pad(content, size), message_hash(content)
