"""Group commands of the command language (parsed here, run by ``groups.actions``).

``/g NAME``, ``/a GROUP CONTACT [ROLE]``, ``/j GROUP``, ``#GROUP TEXT``, ``/ms GROUP``,
``/rm GROUP MEMBER``, ``/l GROUP``, ``/d #GROUP``, ``/mr GROUP MEMBER ROLE``,
``/gp GROUP NAME [DESCRIPTION]``. A group may be written with or without ``#``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simplextui.chat.names import InvalidName, validate_display_name
from simplextui.protocol.group_events import GroupRole

__all__ = [
    "GROUP_HELP",
    "AddMember",
    "ChangeRole",
    "CreateGroup",
    "DeleteGroup",
    "GroupCommand",
    "JoinGroup",
    "LeaveGroup",
    "ListMembers",
    "RemoveMember",
    "SendGroup",
    "SetGroupProfile",
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


GroupCommand = (
    CreateGroup | AddMember | JoinGroup | SendGroup | ListMembers | RemoveMember | LeaveGroup
    | DeleteGroup | ChangeRole | SetGroupProfile
)

GROUP_HELP = """\
Groups
  /g NAME [DESCRIPTION]        create a group (you are its owner)
  /a GROUP CONTACT [ROLE]      invite a contact (role: observer, member, admin, owner)
  /j GROUP                     join a group you were invited to
  #GROUP TEXT                  send a message to the group
  /ms GROUP                    members, their roles and connection states
  /rm GROUP MEMBER             remove a member (admins and owners)
  /mr GROUP MEMBER ROLE        change a member's role (admins and owners)
  /gp GROUP NAME [DESCR]       change the group profile (owners)
  /l GROUP                     leave the group
  /d #GROUP                    delete the group (owners: for everyone)"""


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


def register(add: Callable[[tuple[str, ...], Callable[[str], GroupCommand]], None]) -> None:
    add(("/g", "/group"), _create)
    add(("/a", "/add"), _add)
    add(("/j", "/join"), _one_group(JoinGroup, "/j GROUP"))
    add(("/ms", "/members"), _one_group(ListMembers, "/ms GROUP"))
    add(("/rm", "/remove"), _remove)
    add(("/l", "/leave"), _one_group(LeaveGroup, "/l GROUP"))
    add(("/mr", "/member_role"), _role)
    add(("/gp", "/group_profile"), _profile)
