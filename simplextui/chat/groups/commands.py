"""Group commands of the command language (parsed here, run by ``groups.actions``).

``/g NAME``, ``/a GROUP CONTACT [ROLE]``, ``/j GROUP``, ``#GROUP TEXT``, ``/ms GROUP``,
``/rm GROUP MEMBER``, ``/l GROUP``, ``/d #GROUP``, ``/mr GROUP MEMBER ROLE``,
``/gp GROUP NAME [DESCRIPTION]``, ``/set history|symmetric|approval #GROUP VALUE``,
``/approve #GROUP MEMBER``, ``/reject #GROUP MEMBER``, ``/tail #GROUP [N]``. A group may be
written with or without ``#`` (``/reject`` and ``/tail`` need it: without, they are the
contact commands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simplextui.chat.groups.links_commands import LINK_HELP  # GROUP-LINKS hook
from simplextui.chat.groups.links_commands import register as register_links  # GROUP-LINKS
from simplextui.chat.names import InvalidName, validate_display_name
from simplextui.chat.refs import MsgRef
from simplextui.protocol.group_events import GroupRole

__all__ = [
    "GROUP_HELP",
    "AddMember",
    "ApproveMember",
    "ChangeRole",
    "CreateGroup",
    "DeleteGroup",
    "DeleteGroupMessage",
    "EditGroupMessage",
    "GroupCommand",
    "JoinGroup",
    "LeaveGroup",
    "ListMembers",
    "MarkGroupRead",
    "ReactGroup",
    "RemoveMember",
    "ReplyGroup",
    "SendGroup",
    "SetApproval",
    "SetGroupProfile",
    "SetHistory",
    "SetSymmetric",
    "TailGroup",
    "parse_group_send",
    "register",
]


@dataclass(frozen=True, slots=True)
class CreateGroup:
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class AddMember:
    group: str
    contact: str
    role: GroupRole = GroupRole.MEMBER


@dataclass(frozen=True, slots=True)
class JoinGroup:
    group: str


@dataclass(frozen=True, slots=True)
class SendGroup:
    group: str
    text: str


@dataclass(frozen=True, slots=True)
class ListMembers:
    group: str


@dataclass(frozen=True, slots=True)
class RemoveMember:
    group: str
    member: str


@dataclass(frozen=True, slots=True)
class LeaveGroup:
    group: str


@dataclass(frozen=True, slots=True)
class DeleteGroup:
    group: str


@dataclass(frozen=True, slots=True)
class ChangeRole:
    group: str
    member: str
    role: GroupRole


@dataclass(frozen=True, slots=True)
class SetGroupProfile:
    group: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class SetHistory:
    """``/set history #G N|off``: how many messages a new member gets from its inviter."""

    group: str
    count: int  # 0: off


@dataclass(frozen=True, slots=True)
class SetSymmetric:
    """``/set symmetric #G on|off`` (owner, while the group has no other members)."""

    group: str
    on: bool


@dataclass(frozen=True, slots=True)
class SetApproval:
    """``/set approval #G N|off``: additions once the group has N members wait for approval."""

    group: str
    threshold: int | None  # None: off


@dataclass(frozen=True, slots=True)
class ApproveMember:
    """``/approve #G MEMBER`` (``approve=False``: ``/reject #G MEMBER``)."""

    group: str
    member: str
    approve: bool = True


@dataclass(frozen=True, slots=True)
class MarkGroupRead:
    """``/read #GROUP``: the group's received messages are read."""

    group: str


@dataclass(frozen=True, slots=True)
class TailGroup:
    group: str
    count: int = 10


@dataclass(frozen=True, slots=True)
class ReplyGroup:
    """``> #GROUP (PREFIX) TEXT`` or ``/reply #GROUP MSGID TEXT``: quote a group message."""

    group: str
    ref: MsgRef
    text: str


@dataclass(frozen=True, slots=True)
class EditGroupMessage:
    """``! #GROUP (PREFIX) NEW TEXT`` or ``/edit #GROUP MSGID TEXT``: this user's own."""

    group: str
    ref: MsgRef
    text: str


@dataclass(frozen=True, slots=True)
class DeleteGroupMessage:
    """``\\ #GROUP PREFIX`` or ``/delete #GROUP MSGID``: this user's own message, or (admins
    and owners) another member's, for everyone."""

    group: str
    ref: MsgRef


@dataclass(frozen=True, slots=True)
class ReactGroup:
    """``+R #GROUP PREFIX`` / ``-R ...`` or ``/react #GROUP MSGID EMOJI``."""

    group: str
    ref: MsgRef
    reaction: str
    add: bool = True


GroupCommand = (
    CreateGroup | AddMember | JoinGroup | SendGroup | ListMembers | RemoveMember | LeaveGroup
    | DeleteGroup | ChangeRole | SetGroupProfile | SetHistory | SetSymmetric | SetApproval
    | ApproveMember | TailGroup | MarkGroupRead | ReplyGroup | EditGroupMessage
    | DeleteGroupMessage | ReactGroup
)

GROUP_HELP = """\
Groups
  /g NAME [DESCRIPTION]        create a group (you are its owner)
  /a GROUP CONTACT [ROLE]      invite a contact (role: observer, member, admin, owner)
  /j GROUP                     join a group you were invited to
  #GROUP TEXT                  send a message to the group
  > #GROUP (PREFIX) TEXT       reply to the latest message starting with PREFIX
  ! #GROUP (PREFIX) NEW TEXT   edit your message · \\ #GROUP PREFIX  delete it for everyone
  +R #GROUP PREFIX · -R ...    react (R: an emoji or a shortcut such as 1) · remove it
  /reply /edit /delete /react /unreact #GROUP MSGID ...   the same by message id
  /ms GROUP                    members, their roles and connection states
  /rm GROUP MEMBER             remove a member (admins and owners)
  /mr GROUP MEMBER ROLE        change a member's role (admins and owners)
  /gp GROUP NAME [DESCR]       change the group profile (owners)
  /l GROUP                     leave the group
  /d #GROUP                    delete the group (owners: for everyone; an invitation: decline it)
  /tail #GROUP [N]             the last N messages of the group (default 10)
  /set history #GROUP N|off    messages a new member gets from its inviter (default 100)
  /set symmetric #GROUP on|off all members equal: anyone adds and removes (owner, empty group)
  /set approval #GROUP N|off   symmetric: additions to a group of N or more members wait
  /approve #GROUP MEMBER       connect to a member waiting for your approval
  /reject #GROUP MEMBER        refuse a member waiting for your approval
""" + LINK_HELP  # GROUP-LINKS hook


def _error(message: str) -> Exception:
    from simplextui.chat.commands import CommandError

    return CommandError(message)


def group_name(token: str) -> str:
    name = token[1:] if token.startswith("#") else token
    if not name:
        raise _error("missing group name after #")
    return name


def member_name(token: str) -> str:
    name = token[1:] if token.startswith("@") else token
    if not name:
        raise _error("missing member name after @")
    return name


def role_of(token: str) -> GroupRole:
    try:
        return GroupRole(token.lower())
    except ValueError:
        raise _error(f"unknown role {token!r}: use observer, member, admin or owner") from None


def _words(args: str, low: int, high: int, usage: str) -> list[str]:
    parts = args.split()
    if not low <= len(parts) <= high:
        raise _error(f"usage: {usage}")
    return parts


def _create(args: str) -> GroupCommand:
    parts = args.split(maxsplit=1)
    if not parts:
        raise _error("usage: /g NAME [DESCRIPTION]")
    name = group_name(parts[0])
    try:
        validate_display_name(name)
    except InvalidName as exc:
        raise _error(str(exc).replace("display name", "group name")) from None
    return CreateGroup(name, parts[1].strip() if len(parts) > 1 else "")


def _add(args: str) -> GroupCommand:
    parts = _words(args, 2, 3, "/a GROUP CONTACT [ROLE]")
    role = role_of(parts[2]) if len(parts) == 3 else GroupRole.MEMBER
    return AddMember(group_name(parts[0]), member_name(parts[1]), role)


def _one_group(make: Callable[[str], GroupCommand], usage: str) -> Callable[[str], GroupCommand]:
    def parse(args: str) -> GroupCommand:
        return make(group_name(_words(args, 1, 1, usage)[0]))
    return parse


def _remove(args: str) -> GroupCommand:
    parts = _words(args, 2, 2, "/rm GROUP MEMBER")
    return RemoveMember(group_name(parts[0]), member_name(parts[1]))


def _role(args: str) -> GroupCommand:
    parts = _words(args, 3, 3, "/mr GROUP MEMBER ROLE")
    return ChangeRole(group_name(parts[0]), member_name(parts[1]), role_of(parts[2]))


def _profile(args: str) -> GroupCommand:
    parts = args.split(maxsplit=2)
    if len(parts) < 2:
        raise _error("usage: /gp GROUP NAME [DESCRIPTION]")
    try:
        validate_display_name(parts[1])
    except InvalidName as exc:
        raise _error(str(exc).replace("display name", "group name")) from None
    return SetGroupProfile(group_name(parts[0]), parts[1], parts[2] if len(parts) > 2 else "")


def parse_group_send(text: str) -> GroupCommand:
    """``#GROUP TEXT``."""
    from simplextui.chat.commands import _message_text

    parts = text.split(maxsplit=1)
    if len(parts) < 2:
        raise _error("usage: #GROUP TEXT")
    return SendGroup(group_name(parts[0]), _message_text(parts[1].strip()))


def delete_or(fallback: Callable[[str], object]) -> Callable[[str], object]:
    """``/d #GROUP`` deletes a group; anything else goes on to the contact command."""
    def parse(args: str) -> object:
        if args.startswith("#") and len(args.split()) == 1:
            return DeleteGroup(group_name(args))
        return fallback(args)
    return parse


MAX_HISTORY = 1000
MAX_TAIL = 1000


def _number(token: str, what: str, low: int, high: int) -> int:
    if not token.isdigit() or not low <= int(token) <= high:
        raise _error(f"{what} must be a number from {low} to {high} or off, not {token!r}")
    return int(token)


def _set(args: str) -> GroupCommand:
    usage = "/set history|symmetric|approval #GROUP VALUE"
    parts = _words(args, 3, 3, usage)
    what, group, value = parts[0].lower(), group_name(parts[1]), parts[2].lower()
    if what == "history":
        return SetHistory(group, 0 if value == "off" else
                          _number(value, "history", 0, MAX_HISTORY))
    if what == "symmetric":
        if value not in ("on", "off"):
            raise _error("usage: /set symmetric #GROUP on|off")
        return SetSymmetric(group, value == "on")
    if what == "approval":
        return SetApproval(group, None if value == "off" else
                           _number(value, "approval", 1, 100_000))
    raise _error(f"usage: {usage}")


def _approve(args: str) -> GroupCommand:
    parts = _words(args, 2, 2, "/approve #GROUP MEMBER")
    return ApproveMember(group_name(parts[0]), member_name(parts[1]))


def _reject_or(args: str) -> object:
    """``/reject #GROUP MEMBER``; ``/reject NAME`` stays the contact request command."""
    if args.startswith("#"):
        parts = _words(args, 2, 2, "/reject #GROUP MEMBER")
        return ApproveMember(group_name(parts[0]), member_name(parts[1]), approve=False)
    from simplextui.chat import commands as cc

    return cc._one_contact("/reject NAME", cc.RejectRequest)(args)


def _tail_or(args: str) -> object:
    """``/tail #GROUP [N]``; anything else is the contact ``/tail``."""
    if args.startswith("#"):
        parts = _words(args, 1, 2, "/tail #GROUP [N]")
        count = _number(parts[1], "N", 1, MAX_TAIL) if len(parts) == 2 else 10
        return TailGroup(group_name(parts[0]), count)
    from simplextui.chat import commands as cc

    return cc._tail(args)


def read_or(fallback: Callable[[str], object]) -> Callable[[str], object]:
    """``/read #GROUP`` marks a group read; anything else goes on to the contact command."""
    def parse(args: str) -> object:
        if args.startswith("#"):
            return MarkGroupRead(group_name(_words(args, 1, 1, "/read #GROUP")[0]))
        return fallback(args)
    return parse


def register(add: Callable[[tuple[str, ...], Callable[[str], GroupCommand]], None]) -> None:
    add(("/g", "/group"), _create)
    add(("/a", "/add"), _add)
    add(("/j", "/join"), _one_group(JoinGroup, "/j GROUP"))
    add(("/ms", "/members"), _one_group(ListMembers, "/ms GROUP"))
    add(("/rm", "/remove"), _remove)
    add(("/l", "/leave"), _one_group(LeaveGroup, "/l GROUP"))
    add(("/mr", "/member_role"), _role)
    add(("/gp", "/group_profile"), _profile)
    add(("/set",), _set)
    add(("/approve",), _approve)
    add(("/rc", "/reject"), _reject_or)  # type: ignore[arg-type]
    add(("/tail",), _tail_or)  # type: ignore[arg-type]
    register_links(add)  # GROUP-LINKS hook: /create, /show, /delete link
