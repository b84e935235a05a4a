"""Chat events: what the chat core tells frontends as things happen (not answers to commands).

Each event is a frozen dataclass with a ``TYPE`` and ``to_json()``; headless mode writes that
JSON as one line, the TUI renders the dataclass. Events carry names (``@bob``), never db ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from simplextui.chat.view import QuoteView, json_fields

__all__ = [
    "ChatEvent",
    "ConnectionErrorEvent",
    "ContactConnected",
    "ContactDeleted",
    "ContactRequestReceived",
    "ContactUpdated",
    "GroupDeleted",
    "GroupEmpty",
    "GroupInvitationReceived",
    "GroupItemStatus",
    "GroupUpdated",
    "IntegrityError",
    "MemberConnectedAll",
    "MemberConnectedEvent",
    "MemberDeclined",
    "MemberLeft",
    "MemberPendingApproval",
    "MemberRemoved",
    "MemberRoleChanged",
    "MessageDeleted",
    "MessageReceived",
    "MessageStatus",
    "MessageUpdated",
    "ReactionChanged",
    "Ready",
]


class _Event:
    __slots__ = ()
    TYPE: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, **json_fields(self)}


@dataclass(frozen=True, slots=True)
class Ready(_Event):
    """The core started: the database is open and the agent subscribed."""

    TYPE: ClassVar[str] = "ready"
    user: str


@dataclass(frozen=True, slots=True)
class ContactRequestReceived(_Event):
    """Someone asked to connect through this user's address (/ac or /rc NAME)."""

    TYPE: ClassVar[str] = "contact_request"
    contact: str
    display_name: str
    full_name: str = ""
    bio: str = ""


@dataclass(frozen=True, slots=True)
class ContactConnected(_Event):
    TYPE: ClassVar[str] = "contact_connected"
    contact: str
    display_name: str
    full_name: str = ""
    bio: str = ""


@dataclass(frozen=True, slots=True)
class ContactUpdated(_Event):
    """The contact changed its profile."""

    TYPE: ClassVar[str] = "contact_updated"
    contact: str
    display_name: str
    full_name: str = ""
    bio: str = ""


@dataclass(frozen=True, slots=True)
class ContactDeleted(_Event):
    """The contact deleted the connection; the history is kept, sending is no longer possible."""

    TYPE: ClassVar[str] = "contact_deleted"
    contact: str


@dataclass(frozen=True, slots=True)
class MessageReceived(_Event):
    TYPE: ClassVar[str] = "message"
    chat: str
    from_: str
    text: str
    msg_id: str
    ts: int
    quote: QuoteView | None = None


@dataclass(frozen=True, slots=True)
class MessageUpdated(_Event):
    TYPE: ClassVar[str] = "message_updated"
    chat: str
    from_: str
    msg_id: str
    text: str


@dataclass(frozen=True, slots=True)
class MessageDeleted(_Event):
    TYPE: ClassVar[str] = "message_deleted"
    chat: str
    from_: str
    msg_id: str


@dataclass(frozen=True, slots=True)
class ReactionChanged(_Event):
    TYPE: ClassVar[str] = "reaction"
    chat: str
    from_: str
    msg_id: str
    reaction: str
    add: bool


@dataclass(frozen=True, slots=True)
class MessageStatus(_Event):
    """A sent message moved on: ``sent`` (server accepted), ``delivered``, ``read``."""

    TYPE: ClassVar[str] = "message_status"
    chat: str
    msg_id: str
    status: str


@dataclass(frozen=True, slots=True)
class IntegrityError(_Event):
    """Messages were skipped or a message failed the integrity check (shown, not hidden)."""

    TYPE: ClassVar[str] = "integrity_error"
    contact: str
    error: str


@dataclass(frozen=True, slots=True)
class ConnectionErrorEvent(_Event):
    TYPE: ClassVar[str] = "connection_error"
    error: str
    contact: str | None = None


# --- groups (names without "#"; "member" is the member's name in that group) --------------------


@dataclass(frozen=True, slots=True)
class GroupInvitationReceived(_Event):
    """A contact invited this user to a group: ``/j GROUP`` joins it."""

    TYPE: ClassVar[str] = "group_invitation"
    group: str
    from_: str
    role: str = "member"


@dataclass(frozen=True, slots=True)
class MemberConnectedEvent(_Event):
    """This user is now connected directly to ``member`` (the inviter included)."""

    TYPE: ClassVar[str] = "member_connected"
    group: str
    member: str


@dataclass(frozen=True, slots=True)
class MemberConnectedAll(_Event):
    """(To the inviter) ``member``, invited by this user, is connected to every member."""

    TYPE: ClassVar[str] = "member_connected_all"
    group: str
    member: str


@dataclass(frozen=True, slots=True)
class MemberRemoved(_Event):
    """``member`` was removed by ``by``; ``member`` is this user's own name if it was."""

    TYPE: ClassVar[str] = "member_removed"
    group: str
    member: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class MemberLeft(_Event):
    TYPE: ClassVar[str] = "member_left"
    group: str
    member: str


@dataclass(frozen=True, slots=True)
class MemberDeclined(_Event):
    """A contact this user invited declined the invitation."""

    TYPE: ClassVar[str] = "member_declined"
    group: str
    member: str


@dataclass(frozen=True, slots=True)
class MemberRoleChanged(_Event):
    TYPE: ClassVar[str] = "member_role"
    group: str
    member: str
    role: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class GroupDeleted(_Event):
    TYPE: ClassVar[str] = "group_deleted"
    group: str
    by: str = ""


@dataclass(frozen=True, slots=True)
class GroupUpdated(_Event):
    TYPE: ClassVar[str] = "group_updated"
    group: str
    display_name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class GroupEmpty(_Event):
    """After this user was removed: no member connection is left."""

    TYPE: ClassVar[str] = "group_empty"
    group: str


@dataclass(frozen=True, slots=True)
class MemberPendingApproval(_Event):
    """Symmetric group: ``by`` added ``member``; this user connects after ``/approve``."""

    TYPE: ClassVar[str] = "member_pending_approval"
    group: str
    member: str
    by: str


@dataclass(frozen=True, slots=True)
class GroupItemStatus(_Event):
    """A sent group message's delivery: ``status`` is ``sent`` once the server took it for
    every member, ``delivered`` once every member's agent got it; ``delivered`` of ``total``
    members have it so far."""

    TYPE: ClassVar[str] = "group_msg_status"
    group: str
    msg_id: str
    status: str
    delivered: int
    total: int


ChatEvent = (
    Ready | ContactRequestReceived | ContactConnected | ContactUpdated | ContactDeleted
    | MessageReceived | MessageUpdated | MessageDeleted | ReactionChanged | MessageStatus
    | IntegrityError | ConnectionErrorEvent | GroupInvitationReceived | MemberConnectedEvent
    | MemberConnectedAll | MemberRemoved | MemberLeft | MemberDeclined | MemberRoleChanged
    | GroupDeleted
    | GroupUpdated | GroupEmpty | MemberPendingApproval | GroupItemStatus
)
