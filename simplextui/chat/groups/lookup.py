"""Finding the group a command names, with the error a user sees when it is not there."""

from __future__ import annotations

from simplextui.chat.context import ChatContext
from simplextui.chat.errors import ChatError
from simplextui.chat.groups import store as gq
from simplextui.store.chat_models import Group, GroupStatus

__all__ = ["find_group"]


async def find_group(ctx: ChatContext, name: str, *active: GroupStatus) -> Group:
    """The group named ``name``; with ``active``, it must be in one of these states."""
    async with ctx.db.session() as s:
        group = await gq.by_name(s, name)
    if group is None:
        raise ChatError(f"no group #{name}")
    if active and group.status not in active:
        raise ChatError(f"#{name}: you are not an active member (the group is {group.status})")
    return group
