"""Group chat events (``x.grp.*``) of lightweight groups: pairwise connections between members.

Every member has a group-wide random ``memberId`` (12 bytes, base64url, the same form as a
shared message id). Events refer to members only by it. See ``docs/protocol.md`` "Groups".

These classes register themselves with :mod:`simplextui.protocol.chat_events`, so that
``decode_chat_message`` returns them; parsing is as strict as for the other events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from simplextui.protocol.chat_events import (
    MAX_NAME_CHARS,
    ChatEventError,
    ChatMessage,
    Profile,
    _obj,
    _str,
    decode_chat_message,
    encode_chat_message,
    parse_msg_id,
    parse_seq,
    register_events,
)

__all__ = [
    "MAX_LINK_CHARS",
    "GroupAccept",
    "GroupDecline",
    "GroupDelete",
    "GroupEvent",
    "GroupInfo",
    "GroupInvitation",
    "GroupLeave",
    "GroupMemberRole",
    "GroupProfile",
    "GroupRole",
    "MemberConnected",
    "MemberDelete",
    "MemberForward",
    "MemberInfo",
    "MemberIntro",
    "MemberInvitation",
    "MemberNew",
    "MemberRef",
    "MemberRejected",
    "MemberSelf",
    "MsgForward",
    "new_member_id",
    "parse_member_id",
]

MAX_LINK_CHARS = 4096
MAX_GROUP_DESCRIPTION = 1000
MAX_INTRODUCED = 1000  # member ids in one x.grp.mem.new


class GroupRole(StrEnum):
    OBSERVER = "observer"  # reads only
    MEMBER = "member"  # sends messages
    ADMIN = "admin"  # adds and removes members, changes roles (not of owners)
    OWNER = "owner"  # changes the profile, deletes the group, manages owners

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {GroupRole.OBSERVER: 0, GroupRole.MEMBER: 1, GroupRole.ADMIN: 2, GroupRole.OWNER: 3}


def new_member_id() -> str:
    from simplextui.protocol.chat_events import new_msg_id

    return new_msg_id()


def parse_member_id(value: object) -> str:
    try:
        return parse_msg_id(value)
    except ChatEventError as exc:
        raise ChatEventError(f"bad memberId: {exc.detail}") from None


def _role(value: object) -> GroupRole:
    try:
        return GroupRole(value)  # type: ignore[arg-type]
    except ValueError:
        raise ChatEventError(f"unknown role {str(value)[:20]!r}") from None


def _bool(obj: dict[str, Any], key: str, default: bool = False) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise ChatEventError(f"{key} must be a boolean")
    return value


def _link(obj: dict[str, Any], key: str) -> str:
    link = _str(obj, key, MAX_LINK_CHARS)
    if not link:
        raise ChatEventError(f"{key} is empty")
    return link


# --- payloads ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupProfile:
    display_name: str
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"displayName": self.display_name}
        if self.description:
            out["description"] = self.description
        return out

    @classmethod
    def from_dict(cls, data: object) -> GroupProfile:
        obj = _obj(data, "groupProfile")
        name = _str(obj, "displayName", MAX_NAME_CHARS)
        if not name.strip():
            raise ChatEventError("group displayName is empty")
        return cls(name, _str(obj, "description", MAX_GROUP_DESCRIPTION, default=""))


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member id with its role (in invitations)."""

    member_id: str
    role: GroupRole

    def to_dict(self) -> dict[str, Any]:
        return {"memberId": self.member_id, "role": self.role.value}

    @classmethod
    def from_dict(cls, data: object, what: str = "member") -> MemberRef:
        obj = _obj(data, what)
        return cls(parse_member_id(obj.get("memberId")), _role(obj.get("role")))


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member as the group knows it: id, role and profile."""

    member_id: str
    role: GroupRole
    profile: Profile

    def to_dict(self) -> dict[str, Any]:
        return {"memberId": self.member_id, "role": self.role.value,
                "profile": self.profile.to_dict()}

    @classmethod
    def from_dict(cls, data: object) -> MemberInfo:
        obj = _obj(data, "memberInfo")
        return cls(parse_member_id(obj.get("memberId")), _role(obj.get("role")),
                   Profile.from_dict(obj.get("profile")))


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupInvitation:
    """``x.grp.inv`` (over a contact connection): join this group through ``conn_req``, a
    one-time invitation to a new connection with the inviter made for this group only."""

    from_member: MemberRef
    invited_member: MemberRef
    conn_req: str
    group_profile: GroupProfile
    symmetric: bool = False
    EVENT: ClassVar[str] = "x.grp.inv"

    def params(self) -> dict[str, Any]:
        inv: dict[str, Any] = {
            "fromMember": self.from_member.to_dict(),
            "invitedMember": self.invited_member.to_dict(),
            "connRequest": self.conn_req, "groupProfile": self.group_profile.to_dict()}
        if self.symmetric:
            inv["symmetric"] = True
        return {"groupInvitation": inv}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupInvitation:
        inv = _obj(p.get("groupInvitation"), "groupInvitation")
        from_member = MemberRef.from_dict(inv.get("fromMember"), "fromMember")
        invited = MemberRef.from_dict(inv.get("invitedMember"), "invitedMember")
        if from_member.member_id == invited.member_id:
            raise ChatEventError("fromMember and invitedMember have the same memberId")
        return cls(from_member, invited, _link(inv, "connRequest"),
                   GroupProfile.from_dict(inv.get("groupProfile")), _bool(inv, "symmetric"))


@dataclass(frozen=True, slots=True)
class GroupAccept:
    """``x.grp.acpt``: the invitee's connection info on the new member connection."""

    member_id: str
    profile: Profile
    EVENT: ClassVar[str] = "x.grp.acpt"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id, "profile": self.profile.to_dict()}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupAccept:
        return cls(parse_member_id(p.get("memberId")), Profile.from_dict(p.get("profile")))


@dataclass(frozen=True, slots=True)
class MemberSelf:
    """``x.grp.mem.info``: the connection info every other member connection carries.
    ``seq_before``: the sequence number of the last group event the sender authored before it
    learned of the member it connects to; the receiver refuses forwarded copies of the
    sender's events numbered higher (or not numbered) once the two are connected."""

    member_id: str
    profile: Profile
    # keyword-only: subclasses (``GroupLinkAccept``) add positional fields after these
    seq_before: int | None = field(default=None, kw_only=True)
    EVENT: ClassVar[str] = "x.grp.mem.info"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"memberId": self.member_id, "profile": self.profile.to_dict()}
        if self.seq_before is not None:
            out["seqBefore"] = self.seq_before
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberSelf:
        return cls(parse_member_id(p.get("memberId")), Profile.from_dict(p.get("profile")),
                   seq_before=parse_seq(p.get("seqBefore"), "seqBefore"))


@dataclass(frozen=True, slots=True)
class MemberNew:
    """``x.grp.mem.new``: an admin announces a new member to an existing one.
    ``introduced_to``: the member ids it introduces the new member to (None: not told), which
    lets other admins find pairs a concurrent invitation left unintroduced."""

    member: MemberInfo
    introduced_to: tuple[str, ...] | None = None
    EVENT: ClassVar[str] = "x.grp.mem.new"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"memberInfo": self.member.to_dict()}
        if self.introduced_to is not None:
            out["introducedTo"] = list(self.introduced_to)
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberNew:
        raw = p.get("introducedTo")
        ids: tuple[str, ...] | None = None
        if raw is not None:
            if not isinstance(raw, list) or len(raw) > MAX_INTRODUCED:
                raise ChatEventError(f"introducedTo must be a list of at most "
                                     f"{MAX_INTRODUCED} member ids")
            ids = tuple(parse_member_id(x) for x in raw)
        return cls(MemberInfo.from_dict(p.get("memberInfo")), ids)


@dataclass(frozen=True, slots=True)
class MemberIntro:
    """``x.grp.mem.intro``: the inviter introduces an existing member to the new one."""

    member: MemberInfo
    EVENT: ClassVar[str] = "x.grp.mem.intro"

    def params(self) -> dict[str, Any]:
        return {"memberInfo": self.member.to_dict()}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberIntro:
        return cls(MemberInfo.from_dict(p.get("memberInfo")))


@dataclass(frozen=True, slots=True)
class MemberInvitation:
    """``x.grp.mem.inv``: the new member's one-time invitation for existing member
    ``member_id``, sent to the inviter."""

    member_id: str
    conn_req: str
    EVENT: ClassVar[str] = "x.grp.mem.inv"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id, "memberIntro": {"connRequest": self.conn_req}}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberInvitation:
        intro = _obj(p.get("memberIntro"), "memberIntro")
        return cls(parse_member_id(p.get("memberId")), _link(intro, "connRequest"))


@dataclass(frozen=True, slots=True)
class MemberForward:
    """``x.grp.mem.fwd``: the inviter forwards the new member's invitation to an existing
    member, who joins it."""

    member: MemberInfo
    conn_req: str
    EVENT: ClassVar[str] = "x.grp.mem.fwd"

    def params(self) -> dict[str, Any]:
        return {"memberInfo": self.member.to_dict(),
                "memberIntro": {"connRequest": self.conn_req}}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberForward:
        intro = _obj(p.get("memberIntro"), "memberIntro")
        return cls(MemberInfo.from_dict(p.get("memberInfo")), _link(intro, "connRequest"))


@dataclass(frozen=True, slots=True)
class MemberConnected:
    """``x.grp.mem.con``: "I am connected to ``member_id``" (to the introducer, which then
    stops forwarding between us once both of us said so)."""

    member_id: str
    EVENT: ClassVar[str] = "x.grp.mem.con"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberConnected:
        return cls(parse_member_id(p.get("memberId")))


@dataclass(frozen=True, slots=True)
class MemberRejected:
    """``x.grp.mem.rej``: ``by_member_id`` rejected ``member_id`` (a symmetric group's
    approval) and will never connect to it. Sent by the rejecting member to the pair's
    introducer, which stops forwarding between the two and passes it on to ``member_id``."""

    member_id: str
    by_member_id: str
    EVENT: ClassVar[str] = "x.grp.mem.rej"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id, "byMemberId": self.by_member_id}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberRejected:
        return cls(parse_member_id(p.get("memberId")), parse_member_id(p.get("byMemberId")))


@dataclass(frozen=True, slots=True)
class MsgForward:
    """``x.grp.msg.forward``: the introducer re-sends ``msg`` of ``member_id`` to a member
    not yet connected to its author. ``msg`` is the original chat message, as sent.
    ``history``: sent by the inviter to a new member, one of the group's last messages from
    before it joined (its author may have left since)."""

    member_id: str
    member_name: str
    msg_ts: int
    msg: ChatMessage
    history: bool = False
    EVENT: ClassVar[str] = "x.grp.msg.forward"

    def params(self) -> dict[str, Any]:
        import json

        raw = json.loads(encode_chat_message(self.msg))
        out = {"memberId": self.member_id, "memberName": self.member_name,
               "msgTs": self.msg_ts, "msg": raw}
        if self.history:
            out["history"] = True
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MsgForward:
        import json

        ts = p.get("msgTs")
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            raise ChatEventError("msgTs must be a non-negative integer")
        raw = _obj(p.get("msg"), "msg")
        if raw.get("event") == cls.EVENT:
            raise ChatEventError("a forwarded message cannot be a forward")
        inner = decode_chat_message(json.dumps(raw, separators=(",", ":")).encode())
        return cls(parse_member_id(p.get("memberId")),
                   _str(p, "memberName", MAX_NAME_CHARS, default=""), ts, inner,
                   _bool(p, "history"))


@dataclass(frozen=True, slots=True)
class MemberDelete:
    """``x.grp.mem.del``: an admin removed ``member_id`` (every member drops its
    connection to it)."""

    member_id: str
    EVENT: ClassVar[str] = "x.grp.mem.del"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> MemberDelete:
        return cls(parse_member_id(p.get("memberId")))


@dataclass(frozen=True, slots=True)
class GroupMemberRole:
    """``x.grp.mem.role``: an admin changed ``member_id``'s role."""

    member_id: str
    role: GroupRole
    EVENT: ClassVar[str] = "x.grp.mem.role"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id, "role": self.role.value}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupMemberRole:
        return cls(parse_member_id(p.get("memberId")), _role(p.get("role")))


@dataclass(frozen=True, slots=True)
class GroupLeave:
    """``x.grp.leave``: the sender left the group."""

    EVENT: ClassVar[str] = "x.grp.leave"

    def params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupLeave:
        return cls()


@dataclass(frozen=True, slots=True)
class GroupDecline:
    """``x.grp.decl``: on the contact connection, the invitee declines the invitation that
    made it member ``member_id`` (its inviter drops the unused member connection)."""

    member_id: str
    EVENT: ClassVar[str] = "x.grp.decl"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupDecline:
        return cls(parse_member_id(p.get("memberId")))


@dataclass(frozen=True, slots=True)
class GroupDelete:
    """``x.grp.del``: an owner deleted the group."""

    EVENT: ClassVar[str] = "x.grp.del"

    def params(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupDelete:
        return cls()


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """``x.grp.info``: an owner changed the group profile."""

    group_profile: GroupProfile
    EVENT: ClassVar[str] = "x.grp.info"

    def params(self) -> dict[str, Any]:
        return {"groupProfile": self.group_profile.to_dict()}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupInfo:
        return cls(GroupProfile.from_dict(p.get("groupProfile")))


GroupEvent = (
    GroupInvitation | GroupAccept | MemberSelf | MemberNew | MemberIntro | MemberInvitation
    | MemberForward | MemberConnected | MemberRejected | MsgForward | MemberDelete
    | GroupMemberRole | GroupLeave | GroupDelete | GroupInfo
)

register_events(GroupInvitation, GroupAccept, MemberSelf, MemberNew, MemberIntro,
                MemberInvitation, MemberForward, MemberConnected, MemberRejected, MsgForward,
                MemberDelete, GroupMemberRole, GroupLeave, GroupDecline, GroupDelete, GroupInfo)
