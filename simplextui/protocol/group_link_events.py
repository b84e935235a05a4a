"""Group links (issue 5): the data a group link's record holds, and the two chat events of a
join by link. See ``docs/protocol.md`` "Group links".

- :class:`GroupLinkData`: the app data of the record a ``simplextui://g/...`` link names (the
  record itself is an agent address of kind ``g``, dedicated to this link: join requests go
  there). It carries the group profile, the host (member id, role, profile), the role the link
  grants and the random group link id.
- ``x.grp.link.join`` (:class:`GroupLinkJoin`): the joiner's request info, and later its
  connection info on the new member connection. It is an ``x.grp.acpt`` (a new member's
  id and profile) plus the group link id, so the host's ordinary member-connection code
  takes the new member in and introduces it.
- ``x.grp.link.inv`` (:class:`GroupLinkAccept`): the host's connection info when it lets the
  joiner in: an ``x.grp.mem.info`` plus the current group profile and the role granted.
- ``x.grp.link.rej`` (:class:`GroupLinkReject`): the host's connection info when it refuses a
  join (the link was deleted, the host left...); both sides then drop the connection.

Pure: no I/O. Malformed input raises :class:`ChatEventError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from simplextui.protocol.chat_events import (
    ChatEventError,
    Profile,
    _obj,
    _str,
    parse_msg_id,
    register_events,
)
from simplextui.protocol.group_events import (
    GroupAccept,
    GroupProfile,
    GroupRole,
    MemberInfo,
    MemberSelf,
    parse_member_id,
)

__all__ = [
    "LINK_DATA_VERSION",
    "LINK_ROLES",
    "GroupLinkAccept",
    "GroupLinkData",
    "GroupLinkJoin",
    "GroupLinkReject",
    "parse_link_role",
]

LINK_DATA_VERSION = 2  # 1 named the host's personal contact address
LINK_ROLES = (GroupRole.MEMBER, GroupRole.OBSERVER)  # what a link may grant
MAX_REASON_CHARS = 300


def parse_link_role(value: object) -> GroupRole:
    if value not in {r.value for r in LINK_ROLES}:
        raise ChatEventError(f"a group link grants member or observer, not {str(value)[:20]!r}")
    return GroupRole(str(value))


def _link_id(value: object) -> str:
    try:
        return parse_msg_id(value)
    except ChatEventError as exc:
        raise ChatEventError(f"bad groupLinkId: {exc.detail}") from None


@dataclass(frozen=True, slots=True)
class GroupLinkData:
    """What a group link's record holds as app data (sealed to the link's key on the queue
    server). Join requests go to the address the link itself is."""

    group_link_id: str
    group_profile: GroupProfile
    host: MemberInfo
    role: GroupRole
    symmetric: bool = False

    def encode(self) -> bytes:
        doc: dict[str, Any] = {
            "v": LINK_DATA_VERSION, "groupLinkId": self.group_link_id,
            "groupProfile": self.group_profile.to_dict(), "host": self.host.to_dict(),
            "role": self.role.value}
        if self.symmetric:
            doc["symmetric"] = True
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> GroupLinkData:
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ChatEventError(f"the group link's data is not JSON ({exc})") from None
        obj = _obj(doc, "group link data")
        if obj.get("v") != LINK_DATA_VERSION:
            raise ChatEventError(f"unsupported group link data version {obj.get('v')!r}")
        host = MemberInfo.from_dict(obj.get("host"))
        symmetric = obj.get("symmetric", False)
        if not isinstance(symmetric, bool):
            raise ChatEventError("symmetric must be a boolean")
        return cls(_link_id(obj.get("groupLinkId")), GroupProfile.from_dict(
            obj.get("groupProfile")), host, parse_link_role(obj.get("role")), symmetric)


@dataclass(frozen=True, slots=True)
class GroupLinkJoin(GroupAccept):
    """``x.grp.link.join``: "I, ``member_id`` with ``profile``, join by ``group_link_id``"."""

    group_link_id: str
    EVENT: ClassVar[str] = "x.grp.link.join"

    def params(self) -> dict[str, Any]:
        return {"memberId": self.member_id, "profile": self.profile.to_dict(),
                "groupLinkId": self.group_link_id}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupLinkJoin:
        return cls(parse_member_id(p.get("memberId")), Profile.from_dict(p.get("profile")),
                   _link_id(p.get("groupLinkId")))


@dataclass(frozen=True, slots=True)
class GroupLinkAccept(MemberSelf):
    """``x.grp.link.inv``: the host's connection info when it lets a joiner in: its member
    info (an ``x.grp.mem.info``) plus the group as it is now (the link's record may be
    older) and the role granted."""

    group_profile: GroupProfile
    role: GroupRole
    symmetric: bool = False
    EVENT: ClassVar[str] = "x.grp.link.inv"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"memberId": self.member_id, "profile": self.profile.to_dict(),
               "groupProfile": self.group_profile.to_dict(), "role": self.role.value}
        if self.symmetric:
            out["symmetric"] = True
        return out

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupLinkAccept:
        symmetric = p.get("symmetric", False)
        if not isinstance(symmetric, bool):
            raise ChatEventError("symmetric must be a boolean")
        return cls(parse_member_id(p.get("memberId")), Profile.from_dict(p.get("profile")),
                   GroupProfile.from_dict(p.get("groupProfile")),
                   parse_link_role(p.get("role")), symmetric)


@dataclass(frozen=True, slots=True)
class GroupLinkReject:
    """``x.grp.link.rej``: the host refuses this join; ``reason`` is shown to the joiner."""

    group_link_id: str
    reason: str
    EVENT: ClassVar[str] = "x.grp.link.rej"

    def params(self) -> dict[str, Any]:
        return {"groupLinkId": self.group_link_id, "reason": self.reason}

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> GroupLinkReject:
        return cls(_link_id(p.get("groupLinkId")), _str(p, "reason", MAX_REASON_CHARS))


register_events(GroupLinkJoin, GroupLinkAccept, GroupLinkReject)
