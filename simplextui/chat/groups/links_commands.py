"""Group link commands: ``/create link #GROUP [ROLE]``, ``/show link #GROUP``,
``/delete link #GROUP`` (parsed here, run by ``groups.links``)."""

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
class DeleteGroupLink:
    group: str


GroupLinkCommand = CreateGroupLink | ShowGroupLink | DeleteGroupLink

LINK_HELP = """\
  /create link #GROUP [ROLE]   a link anyone can join the group by (role: member, observer)
  /show link #GROUP            the group's link
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


def _create(args: str) -> GroupLinkCommand:
    parts = _link_args(args, "/create link #GROUP [member|observer]", 3)
    role = GroupRole.MEMBER
    if len(parts) == 2:
        try:
            role = GroupRole(parts[1].lower())
        except ValueError:
            role = GroupRole.OWNER  # refused just below, with the same message
        if role not in (GroupRole.MEMBER, GroupRole.OBSERVER):
            raise _error(f"a group link grants member or observer, not {parts[1]!r}")
    return CreateGroupLink(parts[0], role)


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


def register(add: Callable[[tuple[str, ...], Callable[[str], Any]], None]) -> None:
    add(("/create",), _create)
    add(("/show",), _show)
    add(("/delete",), _delete_or)
