"""Building groups in tests: create, invite contacts, wait until members are connected."""

from __future__ import annotations

from simplextui.chat.events import (
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
)
from tests.chat.helpers import Pair, connect, ok

T = 20.0  # every wait is bounded


async def invite_and_join(owner: Pair, member: Pair, group: str, role: str = "member") -> None:
    """``owner`` invites its contact ``member`` (already connected) and ``member`` joins; returns
    once ``owner`` saw the new member connected to every other member."""
    name = member[0].user_name
    await ok(owner[0], f"/a {group} {name} {role}")
    inv = await member[1].wait(GroupInvitationReceived, T, group=group)
    assert inv.from_ == owner[0].user_name and inv.role == role
    await ok(member[0], f"/j {group}")
    await member[1].wait(MemberConnectedEvent, T, group=group, member=owner[0].user_name)
    await owner[1].wait(MemberConnectedAll, T, group=group, member=name)


async def build_group(users: list[Pair], group: str = "team") -> None:
    """users[0] creates ``group``, connects to every other user and adds them one by one."""
    owner = users[0]
    await ok(owner[0], f"/g {group}")
    for user in users[1:]:
        await connect(owner, user, T)
        await invite_and_join(owner, user, group)
