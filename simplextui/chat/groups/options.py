"""Group settings and approvals: ``/set history|symmetric|approval``, ``/approve``,
``/reject``, and ``/tail #GROUP``.

All three settings are this user's own: ``history`` is what this user sends to the members
it invites, ``symmetric`` is fixed by the creator before anyone joins and travels in every
invitation, ``approval`` is when this user wants to approve additions itself (symmetric
groups, where any member may add).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.errors import ChatError
from simplextui.chat.groups import commands as gc
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.joining import join_member
from simplextui.chat.groups.lookup import find_group
from simplextui.chat.groups.notices import add_notice
from simplextui.chat.groups.rejection import reject
from simplextui.chat.groups.send import member_self_info
from simplextui.chat.groups.views import group_item_views
from simplextui.chat.responses import ChatResponse, HistoryResponse, OkResponse
from simplextui.protocol.group_events import GroupRole
from simplextui.store.chat_models import (
    ChatItem,
    Direction,
    Group,
    GroupMember,
    GroupStatus,
    ItemKind,
    ItemStatus,
    MemberStatus,
)

__all__ = ["GroupOptions"]

ACTIVE = (MemberStatus.INVITED, MemberStatus.INTRODUCED, MemberStatus.CONNECTED,
          MemberStatus.PENDING_APPROVAL)


class GroupOptions:
    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx

    async def _group(self, name: str, *active: GroupStatus) -> Group:
        return await find_group(self.ctx, name, *active)

    async def set_history(self, cmd: gc.SetHistory) -> ChatResponse:
        group = await self._group(cmd.group)
        async with self.ctx.tx() as s:
            row = await s.get(Group, group.id)
            assert row is not None
            row.history_count, row.updated_at = cmd.count, now_ms()
        if cmd.count == 0:
            return OkResponse(f"#{group.local_name}: no history for the members you invite")
        return OkResponse(f"#{group.local_name}: the members you invite get the last "
                          f"{cmd.count} messages")

    async def set_symmetric(self, cmd: gc.SetSymmetric) -> ChatResponse:
        group = await self._group(cmd.group)
        if GroupRole(group.role) is not GroupRole.OWNER or group.status != GroupStatus.CONNECTED:
            raise ChatError(f"#{group.local_name}: only its owner can make a group symmetric")
        async with self.ctx.tx() as s:
            if any(m.status in ACTIVE for m in await gq.members(s, group.id)):
                raise ChatError(f"#{group.local_name}: symmetric mode is chosen before anyone "
                                "is invited (every member must know it)")
            row = await s.get(Group, group.id)
            assert row is not None
            row.symmetric, row.updated_at = cmd.on, now_ms()
        state = "symmetric: every member may add and remove" if cmd.on else "not symmetric"
        return OkResponse(f"#{group.local_name} is {state}")

    async def set_approval(self, cmd: gc.SetApproval) -> ChatResponse:
        group = await self._group(cmd.group)
        if not group.symmetric:
            raise ChatError(f"#{group.local_name} is not symmetric: only admins add members")
        async with self.ctx.tx() as s:
            row = await s.get(Group, group.id)
            assert row is not None
            row.approval_threshold, row.updated_at = cmd.threshold, now_ms()
        if cmd.threshold is None:
            return OkResponse(f"#{group.local_name}: additions connect without approval")
        return OkResponse(f"#{group.local_name}: once it has {cmd.threshold} members, members "
                          "added by non-owners wait for your /approve")

    async def approve(self, cmd: gc.ApproveMember) -> ChatResponse:
        group = await self._group(cmd.group)
        async with self.ctx.db.session() as s:
            member = await gq.member_by_name(s, group.id, cmd.member)
        if member is None or member.status != MemberStatus.PENDING_APPROVAL \
                or member.pending_conn_req is None:
            raise ChatError(f"#{group.local_name}: {cmd.member} does not wait for approval")
        if not cmd.approve:
            await reject(self.ctx, group, member)
            return OkResponse(f"#{group.local_name}: you will not connect to {cmd.member}")
        conn_req, info = member.pending_conn_req, member_self_info(self.ctx, group, member)

        async def approved(s: AsyncSession, row: GroupMember) -> None:
            # before the join: the connection may complete before it returns
            row.status, row.pending_conn_req = MemberStatus.INTRODUCED.value, None
            row.updated_at = now_ms()

        async def waiting_again(s: AsyncSession, row: GroupMember) -> None:
            row.status, row.pending_conn_req = MemberStatus.PENDING_APPROVAL.value, conn_req

        await join_member(self.ctx, member.id, lambda: self.ctx.agent.join(conn_req, info),
                          prepare=approved, undo=waiting_again)
        async with self.ctx.tx() as s:
            await add_notice(s, group.id, member.id, f"you approved {member.local_name}")
        return OkResponse(f"#{group.local_name}: connecting to {cmd.member}…")

    async def mark_read(self, cmd: gc.MarkGroupRead) -> ChatResponse:
        """Received items of the group become read (locally: groups send no read receipts)."""
        group = await self._group(cmd.group)
        async with self.ctx.tx() as s:
            result = await s.execute(
                update(ChatItem).where(ChatItem.group_id == group.id,
                                       ChatItem.direction == Direction.RCV,
                                       ChatItem.status == ItemStatus.NEW)
                .values(status=ItemStatus.READ, updated_at=now_ms()))
            count = result.rowcount  # type: ignore[attr-defined]
        return OkResponse(f"{count} message(s) marked read", group=group.local_name)

    async def tail(self, cmd: gc.TailGroup) -> ChatResponse:
        group = await self._group(cmd.group)
        async with self.ctx.db.session() as s:
            items = list((await s.execute(
                select(ChatItem).where(ChatItem.group_id == group.id,
                                       ChatItem.kind == ItemKind.MSG)
                .order_by(ChatItem.id.desc()).limit(cmd.count))).scalars())
            items.reverse()
            views = await group_item_views(s, self.ctx, items)
        return HistoryResponse(f"#{group.local_name}", views)
