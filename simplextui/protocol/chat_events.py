"""Chat events: the versioned JSON the chat layer sends inside agent messages.

Envelope (UTF-8 JSON, one object)::

    {"v": "1-1", "msgId": "<base64url of 12 random bytes>", "event": "x.msg.new", "params": {...}}

``v`` is the sender's supported version range ``MIN-MAX``; a message is accepted when that range
overlaps ours. ``msgId`` is the shared message id: both sides know a message by it, so edits,
quotes, reactions, deletions and read receipts refer to it, and receivers deduplicate by it.

Parsing is strict about what it knows (wrong types, missing fields, oversize values raise one
``ChatEventError``) and lenient about what it does not: unknown params keys are ignored and an
unknown ``event`` parses as ``UnknownEvent``, which the receiver logs and skips, so newer peers
can add events without breaking older ones.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from simplextui.protocol.agent import MAX_MESSAGE_BODY
from simplextui.protocol.b64 import b64decode, b64encode
from simplextui.protocol.errors import ErrorCode, ProtocolError

__all__ = [
    "ALLOWED_REACTIONS",
    "CHAT_VERSION_MAX",
    "CHAT_VERSION_MIN",
    "MAX_BODY_BYTES",
    "MAX_TEXT_CHARS",
    "MSG_ID_BYTES",
    "ChatEvent",
    "ChatEventError",
    "ChatMessage",
    "MsgContent",
    "MsgDelete",
    "MsgNew",
    "MsgReact",
    "MsgRead",
    "MsgUpdate",
    "Profile",
    "ProfileInfo",
    "Quote",
    "UnknownEvent",
    "decode_chat_message",
    "encode_chat_message",
    "new_msg_id",
    "parse_msg_id",
    "parse_seq",
    "register_events",
]

CHAT_VERSION_MIN = 1
CHAT_VERSION_MAX = 1
MSG_ID_BYTES = 12
MAX_BODY_BYTES = MAX_MESSAGE_BODY  # an encoded chat message must fit one agent message
MAX_TEXT_CHARS = 10_000
MAX_NAME_CHARS = 64
MAX_FULL_NAME_CHARS = 128
MAX_BIO_CHARS = 500
MAX_REACTION_CHARS = 16
MAX_READ_IDS = 500
# The reactions a client offers; received reactions outside this set are still accepted.
ALLOWED_REACTIONS = ("👍", "👎", "😀", "😂", "😢", "❤️", "🚀", "✅")

_VERSION = re.compile(r"^(\d{1,4})(?:-(\d{1,4}))?$")


class ChatEventError(ProtocolError):
    """A malformed chat message: bad JSON, a missing or mistyped field, an oversize value."""

    def __init__(self, detail: str, code: ErrorCode = ErrorCode.SYNTAX) -> None:
        super().__init__(code, detail)


def new_msg_id() -> str:
    """A fresh shared message id: 12 random bytes, unpadded base64url (16 characters)."""
    return b64encode(os.urandom(MSG_ID_BYTES))


def parse_msg_id(text: object) -> str:
    """Check a shared message id's form and return it; raise ``ChatEventError`` otherwise."""
    if not isinstance(text, str):
        raise ChatEventError("msgId must be a string")
    try:
        b64decode(text, MSG_ID_BYTES)
    except ProtocolError as exc:
        raise ChatEventError(f"bad msgId {text[:40]!r}: {exc.detail}") from exc
    return text


# --- payload types ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    display_name: str
    full_name: str = ""
    bio: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"displayName": self.display_name}
        if self.full_name:
            out["fullName"] = self.full_name
        if self.bio:
            out["bio"] = self.bio
        return out

    @classmethod
    def from_dict(cls, data: object) -> Profile:
        obj = _obj(data, "profile")
        name = _str(obj, "displayName", MAX_NAME_CHARS)
        if not name.strip():
            raise ChatEventError("profile displayName is empty")
        return cls(name, _str(obj, "fullName", MAX_FULL_NAME_CHARS, default=""),
                   _str(obj, "bio", MAX_BIO_CHARS, default=""))


@dataclass(frozen=True, slots=True)
class MsgContent:
    """Message content; only ``text`` exists in version 1 (other types parse as text)."""

    text: str
    type: str = "text"

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "text": self.text}

    @classmethod
    def from_dict(cls, data: object) -> MsgContent:
        obj = _obj(data, "content")
        return cls(_str(obj, "text", MAX_TEXT_CHARS), _str(obj, "type", 32, default="text"))


@dataclass(frozen=True, slots=True)
class Quote:
    """A reply's reference to an earlier message, with a snapshot of its content."""

    msg_id: str
    content: MsgContent
    sent: bool = False  # True when the quoted message was sent by the author of the reply
    # in a group, when not ``sent``: the group member id of the quoted message's author
    member_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"msgId": self.msg_id, "sent": self.sent, "content": self.content.to_dict()}
        if self.member_id is not None:
            out["memberId"] = self.member_id
        return out

    @classmethod
    def from_dict(cls, data: object) -> Quote:
        obj = _obj(data, "quote")
        sent = obj.get("sent", False)
        if not isinstance(sent, bool):
            raise ChatEventError("quote.sent must be a boolean")
        member_id = _optional_member_id(obj.get("memberId"))
        if sent and member_id is not None:
            raise ChatEventError("quote: memberId names another author than the sender")
        return cls(parse_msg_id(obj.get("msgId")), MsgContent.from_dict(obj.get("content")), sent,
                   member_id)


def _optional_member_id(value: object) -> str | None:
    """A group member id (same form as a message id), or None when absent."""
    if value is None:
        return None
    try:
        return parse_msg_id(value)
    except ChatEventError as exc:
        raise ChatEventError(f"bad memberId: {exc.detail}") from None


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    """``x.info``: the sender's profile (in the handshake and whenever it changes)."""

    profile: Profile
    EVENT: ClassVar[str] = "x.info"

    def params(self) -> dict[str, Any]:
        return {"profile": self.profile.to_dict()}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> ProfileInfo:
        return cls(Profile.from_dict(p.get("profile")))


@dataclass(frozen=True, slots=True)
class MsgNew:
    """``x.msg.new``: a new message, optionally replying to (quoting) another."""

    content: MsgContent
    quote: Quote | None = None
    EVENT: ClassVar[str] = "x.msg.new"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"content": self.content.to_dict()}
        if self.quote is not None:
            out["quote"] = self.quote.to_dict()
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MsgNew:
        quote = p.get("quote")
        return cls(MsgContent.from_dict(p.get("content")),
                   None if quote is None else Quote.from_dict(quote))


@dataclass(frozen=True, slots=True)
class MsgUpdate:
    """``x.msg.update``: the sender edits its message ``msg_id``."""

    msg_id: str
    content: MsgContent
    EVENT: ClassVar[str] = "x.msg.update"

    def params(self) -> dict[str, Any]:
        return {"msgId": self.msg_id, "content": self.content.to_dict()}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MsgUpdate:
        return cls(parse_msg_id(p.get("msgId")), MsgContent.from_dict(p.get("content")))


@dataclass(frozen=True, slots=True)
class MsgDelete:
    """``x.msg.del``: the sender deletes its message ``msg_id`` for everyone; in a group, an
    admin may delete another member's message (moderation), naming its author ``member_id``."""

    msg_id: str
    member_id: str | None = None
    EVENT: ClassVar[str] = "x.msg.del"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"msgId": self.msg_id}
        if self.member_id is not None:
            out["memberId"] = self.member_id
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MsgDelete:
        return cls(parse_msg_id(p.get("msgId")), _optional_member_id(p.get("memberId")))


@dataclass(frozen=True, slots=True)
class MsgReact:
    """``x.msg.react``: add or remove a reaction to message ``msg_id`` (either side's). In a
    group, ``member_id`` names the reacted message's author (message ids are unique per
    author only)."""

    msg_id: str
    reaction: str
    add: bool = True
    member_id: str | None = None
    EVENT: ClassVar[str] = "x.msg.react"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"msgId": self.msg_id, "reaction": self.reaction, "add": self.add}
        if self.member_id is not None:
            out["memberId"] = self.member_id
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MsgReact:
        reaction = _str(p, "reaction", MAX_REACTION_CHARS)
        if not reaction.strip():
            raise ChatEventError("reaction is empty")
        add = p.get("add", True)
        if not isinstance(add, bool):
            raise ChatEventError("add must be a boolean")
        return cls(parse_msg_id(p.get("msgId")), reaction, add,
                   _optional_member_id(p.get("memberId")))


@dataclass(frozen=True, slots=True)
class MsgRead:
    """``x.msg.read``: read receipts for the recipient's messages ``msg_ids``."""

    msg_ids: tuple[str, ...]
    EVENT: ClassVar[str] = "x.msg.read"

    def params(self) -> dict[str, Any]:
        return {"msgIds": list(self.msg_ids)}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MsgRead:
        ids = p.get("msgIds")
        if not isinstance(ids, list) or not ids:
            raise ChatEventError("msgIds must be a non-empty list")
        if len(ids) > MAX_READ_IDS:
            raise ChatEventError(f"at most {MAX_READ_IDS} msgIds per read receipt")
        return cls(tuple(parse_msg_id(i) for i in ids))


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event this version does not know: kept so the receiver can log and skip it."""

    event: str
    raw_params: dict[str, Any] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return self.raw_params


class KnownEvent(Protocol):
    """Any event class ``decode_chat_message`` knows: these and those added by
    ``register_events`` (group events)."""

    EVENT: ClassVar[str]

    def params(self) -> dict[str, Any]: ...


ChatEvent = KnownEvent | UnknownEvent

_KNOWN: dict[str, Any] = {
    cls.EVENT: cls for cls in (ProfileInfo, MsgNew, MsgUpdate, MsgDelete, MsgReact, MsgRead)
}


def register_events(*classes: Any) -> None:
    """Make ``decode_chat_message`` parse more events (``protocol.group_events`` uses it)."""
    for cls in classes:
        _KNOWN[cls.EVENT] = cls


MAX_SEQ = 2**53 - 1  # JSON integers every parser keeps exact


@dataclass(frozen=True, slots=True)
class ChatMessage:
    msg_id: str
    event: ChatEvent
    version: tuple[int, int] = (CHAT_VERSION_MIN, CHAT_VERSION_MAX)
    # groups: the author's sequence number of the events it authored in the group (1, 2, ...)
    seq: int | None = None

    @property
    def event_name(self) -> str:
        return self.event.event if isinstance(self.event, UnknownEvent) else self.event.EVENT


def encode_chat_message(message: ChatMessage) -> bytes:
    lo, hi = message.version
    doc: dict[str, Any] = {"v": f"{lo}-{hi}", "msgId": message.msg_id,
                           "event": message.event_name, "params": message.event.params()}
    if message.seq is not None:
        doc["seq"] = message.seq
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_BODY_BYTES:
        raise ChatEventError(f"message too large ({len(body)} bytes, at most {MAX_BODY_BYTES})",
                             ErrorCode.LARGE_MSG)
    return body


def decode_chat_message(body: bytes) -> ChatMessage:
    """Parse one chat message; raise ``ChatEventError`` for anything malformed."""
    if len(body) > MAX_BODY_BYTES:
        raise ChatEventError("chat message too large", ErrorCode.LARGE_MSG)
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ChatEventError(f"not a JSON chat message: {exc}") from exc
    obj = _obj(doc, "chat message")
    version = _parse_version(obj.get("v"))
    msg_id = parse_msg_id(obj.get("msgId"))
    name = obj.get("event")
    if not isinstance(name, str) or not name or len(name) > 64:
        raise ChatEventError("event must be a non-empty string")
    params = _obj(obj.get("params", {}), "params")
    cls = _KNOWN.get(name)
    event: ChatEvent = UnknownEvent(name, params) if cls is None else cls.from_params(params)
    return ChatMessage(msg_id, event, version, parse_seq(obj.get("seq"), "seq"))


def parse_seq(value: object, what: str) -> int | None:
    """An optional sequence number: absent, or an integer from 0 to ``MAX_SEQ``."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SEQ:
        raise ChatEventError(f"{what} must be an integer from 0 to {MAX_SEQ}")
    return value


def _parse_version(value: object) -> tuple[int, int]:
    if not isinstance(value, str) or not (m := _VERSION.match(value)):
        raise ChatEventError("v must be a version range like '1-1'")
    lo = int(m.group(1))
    hi = int(m.group(2) or lo)
    if lo > hi:
        raise ChatEventError(f"bad version range {value!r}")
    if hi < CHAT_VERSION_MIN or lo > CHAT_VERSION_MAX:
        raise ChatEventError(f"no common chat version: peer {value}, ours "
                             f"{CHAT_VERSION_MIN}-{CHAT_VERSION_MAX}", ErrorCode.VERSION)
    return lo, hi


def _obj(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ChatEventError(f"{what} must be a JSON object")
    return data


_MISSING = object()


def _str(obj: dict[str, Any], key: str, limit: int, default: object = _MISSING) -> str:
    value = obj.get(key, default)
    if value is _MISSING:
        raise ChatEventError(f"{key} is missing")
    if not isinstance(value, str):
        raise ChatEventError(f"{key} must be a string")
    if len(value) > limit:
        raise ChatEventError(f"{key} longer than {limit} characters")
    try:  # JSON can escape lone surrogates ("\ud800"): not text, and no database stores it
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ChatEventError(f"{key} is not valid Unicode text") from None
    return value


# Group events live in their own module and register themselves here; imported last so that
# decoding always knows them, whichever module is imported first.
from simplextui.protocol import group_events as _group_events  # noqa: E402,F401
