"""Chat responses: the one answer every command gets (``ChatCore.execute``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from simplextui.chat.view import ContactView, MessageView, PendingView, RequestView, json_fields

__all__ = [
    "ChatResponse",
    "CodeResponse",
    "ContactInfoResponse",
    "ContactsResponse",
    "ErrorResponse",
    "GroupMembersResponse",
    "HelpResponse",
    "HistoryResponse",
    "LinkResponse",
    "MemberView",
    "OkResponse",
    "PendingResponse",
    "ProfileResponse",
    "RequestsResponse",
    "SentResponse",
    "VerifyResponse",
]


class _Response:
    __slots__ = ()
    TYPE: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.TYPE, **json_fields(self)}


@dataclass(frozen=True, slots=True)
class OkResponse(_Response):
    TYPE: ClassVar[str] = "ok"
    message: str | None = None
    contact: str | None = None
    group: str | None = None  # the group's local name (without "#"), for group commands


@dataclass(frozen=True, slots=True)
class ErrorResponse(_Response):
    TYPE: ClassVar[str] = "error"
    error: str


@dataclass(frozen=True, slots=True)
class LinkResponse(_Response):
    TYPE: ClassVar[str] = "link"
    kind: str  # "invitation" | "address" | "group"
    link: str
    role: str | None = None  # a group link's: the role it grants (member | observer)
    group: str | None = None  # a group link's: the group's local name


@dataclass(frozen=True, slots=True)
class SentResponse(_Response):
    """A message, reply, edit, deletion or reaction was committed to the outbox."""

    TYPE: ClassVar[str] = "sent"
    chat: str
    msg_id: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class ContactsResponse(_Response):
    TYPE: ClassVar[str] = "contacts"
    contacts: list[ContactView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RequestsResponse(_Response):
    TYPE: ClassVar[str] = "requests"
    requests: list[RequestView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PendingResponse(_Response):
    """``/invitations``: one-time invitations not yet used and requests not yet accepted."""

    TYPE: ClassVar[str] = "invitations"
    invitations: list[PendingView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HistoryResponse(_Response):
    TYPE: ClassVar[str] = "history"
    chat: str | None
    messages: list[MessageView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ContactInfoResponse(_Response):
    TYPE: ClassVar[str] = "info"
    contact: ContactView


@dataclass(frozen=True, slots=True)
class CodeResponse(_Response):
    TYPE: ClassVar[str] = "code"
    contact: str
    code: str


@dataclass(frozen=True, slots=True)
class VerifyResponse(_Response):
    TYPE: ClassVar[str] = "verified"
    contact: str
    verified: bool


@dataclass(frozen=True, slots=True)
class ProfileResponse(_Response):
    TYPE: ClassVar[str] = "profile"
    display_name: str
    full_name: str
    bio: str
    auto_accept: bool


@dataclass(frozen=True, slots=True)
class HelpResponse(_Response):
    TYPE: ClassVar[str] = "help"
    text: str


@dataclass(frozen=True, slots=True)
class MemberView:
    """A group member: ``status`` is this user's connection to it (invited, introduced,
    connected, left, removed); ``via`` names the member forwarding between us meanwhile."""

    name: str
    display_name: str
    role: str
    status: str
    via: str | None = None
    me: bool = False


@dataclass(frozen=True, slots=True)
class GroupMembersResponse(_Response):
    TYPE: ClassVar[str] = "members"
    group: str
    members: list[MemberView] = field(default_factory=list)


ChatResponse = (
    OkResponse | ErrorResponse | LinkResponse | SentResponse | ContactsResponse
    | RequestsResponse | PendingResponse | HistoryResponse | ContactInfoResponse
    | CodeResponse | VerifyResponse | ProfileResponse | HelpResponse | GroupMembersResponse
)
