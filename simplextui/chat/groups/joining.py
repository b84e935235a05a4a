"""Joining a member's invitation: the member row is marked ``joining`` while the agent's join
runs, so that a connection completing before its id is recorded is matched to that row, and
only to it (a connection whose info merely names a member id takes nobody's place)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.context import ChatContext
from simplextui.store.chat_models import GroupMember

__all__ = ["join_member"]

Prepare = Callable[[AsyncSession, GroupMember], Awaitable[None]]


async def join_member(ctx: ChatContext, member_id: int, join: Callable[[], Awaitable[str]],
                      *, prepare: Prepare | None = None, undo: Prepare | None = None) -> str:
    """Run ``join`` (the agent's join of this member's invitation) for member row
    ``member_id``; ``prepare`` runs in the transaction that marks the row (state the
    connection may already need, e.g. the group's "accepted"), ``undo`` if the join fails.
    Returns the new connection's id, recorded on the row."""
    async with ctx.tx() as s:
        row = await s.get(GroupMember, member_id)
        if row is None:
            raise LookupError("the member is gone")
        row.joining = True
        if prepare is not None:
            await prepare(s, row)
    try:
        conn_id = await join()
    except BaseException:
        async with ctx.tx() as s:
            row = await s.get(GroupMember, member_id)
            if row is not None:
                row.joining = False
                if undo is not None:
                    await undo(s, row)
        raise
    async with ctx.tx() as s:
        row = await s.get(GroupMember, member_id)
        if row is not None:
            if row.conn_id is None:
                row.conn_id = conn_id
            row.joining = False
    return conn_id
