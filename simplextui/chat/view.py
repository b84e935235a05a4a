"""What frontends see: plain views of contacts, requests and messages, and their JSON form.

Views are built from database rows by the chat core and carry names, not database ids, so that
a frontend can show them and echo them back in commands (``@bob``, message ids).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

__all__ = [
    "ContactView",
    "MessageView",
    "PendingView",
    "QuoteView",
    "ReactionView",
    "RequestView",
    "json_fields",
    "json_value",
]


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def json_value(value: Any) -> Any:
    """A JSON-ready copy of ``value``: dataclasses as objects (camelCase keys, no Nones)."""
    if is_dataclass(value) and not isinstance(value, type):
        return json_fields(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def json_fields(obj: Any) -> dict[str, Any]:
    """The fields of dataclass ``obj`` as JSON, keys renamed ``msg_id`` → ``msgId``,
    ``from_`` → ``from`` (or by ``field(metadata={"json": ...})``); None values left out."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        out[f.metadata.get("json", _camel(f.name))] = json_value(value)
    return out


@dataclass(frozen=True, slots=True)
class ContactView:
    name: str  # how this user addresses the contact: @name
    display_name: str
    full_name: str
    bio: str
    status: str
    verified: bool


@dataclass(frozen=True, slots=True)
class RequestView:
    name: str
    display_name: str
    full_name: str
    bio: str


@dataclass(frozen=True, slots=True)
class PendingView:
    """A connection this user started that is still waiting for the other side: a one-time
    invitation made with ``/c`` that nobody has used (``kind`` "invitation"), or a contact
    request sent to an address and not yet accepted ("request"). ``id`` is for ``/cancel``."""

    id: int
    kind: str  # "invitation" | "request"
    link: str
    created_at: int  # milliseconds since the epoch


@dataclass(frozen=True, slots=True)
class QuoteView:
    msg_id: str
    text: str
    from_: str  # who wrote the quoted message


@dataclass(frozen=True, slots=True)
class ReactionView:
    reaction: str
    from_: str


@dataclass(frozen=True, slots=True)
class MessageView:
    chat: str  # "@name"
    msg_id: str
    direction: str  # "snd" | "rcv"
    from_: str
    text: str
    status: str
    ts: int  # milliseconds since the epoch (server time for received messages)
    edited: bool = False
    deleted: bool = False
    quote: QuoteView | None = None
    reactions: list[ReactionView] = field(default_factory=list)
