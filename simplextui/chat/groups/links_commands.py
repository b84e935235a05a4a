"""Group link commands: ``/create link #GROUP [ROLE]``, ``/show link #GROUP``,
``/set link role #GROUP ROLE``, ``/delete link #GROUP`` (parsed here, run by ``groups.links``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simplextui.protocol.group_events import GroupRole

__all__ = [
    "LINK_HELP",
    "CreateGroupLink",
    "DeleteGroupLink",
    "GroupLinkCommand",
    "SetGroupLinkRole",
    "ShowGroupLink",
    "register",
]


@dataclass(frozen=True, slots=True)
class CreateGroupLink:
    group: str
    role: GroupRole = GroupRole.MEMBER


@dataclass(frozen=True, slots=True)
class ShowGroupLink:
    group: str


@dataclass(frozen=True, slots=True)
class SetGroupLinkRole:
    group: str
    role: GroupRole


@dataclass(frozen=True, slots=True)
class DeleteGroupLink:
    group: str


GroupLinkCommand = CreateGroupLink | ShowGroupLink | SetGroupLinkRole | DeleteGroupLink

LINK_HELP = """\
  /create link #GROUP [ROLE]   a link anyone can join the group by (role: member, observer)
  /show link #GROUP            the group's link and the role it grants
  /set link role #GROUP ROLE   change the role the link grants (member, observer)
  /delete link #GROUP          delete the group's link (joining by it stops working)"""


def _error(message: str) -> Exception:
    from simplextui.chat.commands import CommandError

    return CommandError(message)


def _link_args(args: str, usage: str, high: int) -> list[str]:
    from simplextui.chat.groups.commands import group_name

    parts = args.split()
    if not 2 <= len(parts) <= high or parts[0].lower() != "link":
        raise _error(f"usage: {usage}")
    return [group_name(parts[1]), *parts[2:]]


def _link_role(word: str) -> GroupRole:
    """The role a group link may grant: member or observer."""
    try:
        role = GroupRole(word.lower())
    except ValueError:
        role = GroupRole.OWNER  # refused just below, with the same message
    if role not in (GroupRole.MEMBER, GroupRole.OBSERVER):
        raise _error(f"a group link grants member or observer, not {word!r}")
    return role


def _create(args: str) -> GroupLinkCommand:
    parts = _link_args(args, "/create link #GROUP [member|observer]", 3)
    return CreateGroupLink(parts[0], _link_role(parts[1]) if len(parts) == 2 else GroupRole.MEMBER)


def _show(args: str) -> GroupLinkCommand:
    return ShowGroupLink(_link_args(args, "/show link #GROUP", 2)[0])


def _delete_or(args: str) -> Any:
    """``/delete link #GROUP``; anything else is the existing ``/delete`` (group or contact:
    ``/delete link MSGID`` still deletes a message of a contact named link)."""
    parts = args.split()
    if len(parts) == 2 and parts[0].lower() == "link" and parts[1].startswith("#"):
        return DeleteGroupLink(_link_args(args, "/delete link #GROUP", 2)[0])
    from simplextui.chat import commands as cc
    from simplextui.chat.groups.commands import delete_or

    return delete_or(cc._delete)(args)


def _set_or(args: str) -> Any:
    """``/set link role #GROUP ROLE``; anything else is the group settings ``/set``."""
    parts = args.split()
    if parts[:1] and parts[0].lower() == "link":
        usage = "/set link role #GROUP member|observer"
        if len(parts) != 4 or parts[1].lower() != "role":
            raise _error(f"usage: {usage}")
        from simplextui.chat.groups.commands import group_name

        return SetGroupLinkRole(group_name(parts[2]), _link_role(parts[3]))
    from simplextui.chat.groups import commands as gc

    return gc._set(args)


def register(add: Callable[[tuple[str, ...], Callable[[str], Any]], None]) -> None:
    add(("/create",), _create)
    add(("/show",), _show)
    add(("/set",), _set_or)
    add(("/delete",), _delete_or)
