"""Running group commands: create, invite, join, send, members, remove, leave, delete, roles,
profile. Receivers enforce roles too (``groups.inbound``); the checks here only spare the user
an action the others would refuse."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.agent.errors import AgentError
from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.errors import ChatError
from simplextui.chat.groups import commands as gc
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.closing import delete_when_sent
from simplextui.chat.groups.items import GroupItems, post_message
from simplextui.chat.groups.joining import join_member
from simplextui.chat.groups.lookup import find_group
from simplextui.chat.groups.notices import add_notice
from simplextui.chat.groups.pending import drop_pending, keep_pending
from simplextui.chat.groups.send import member_self_info, send_to_many, wrap
from simplextui.chat.groups.sequence import numbered
from simplextui.chat.profiles import profile_of
from simplextui.chat.responses import (
    ChatResponse,
    GroupMembersResponse,
    MemberView,
    OkResponse,
)
from simplextui.protocol.chat_events import (
    ChatMessage,
    MsgContent,
    MsgNew,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import (
    GroupAccept,
    GroupDecline,
    GroupDelete,
    GroupInfo,
    GroupInvitation,
    GroupLeave,
    GroupMemberRole,
    GroupProfile,
    GroupRole,
    MemberDelete,
    MemberRef,
    new_member_id,
)
from simplextui.store.chat_models import (
    Contact,
    ContactStatus,
    Group,
    GroupMember,
    GroupStatus,
    MemberStatus,
)

__all__ = ["GroupActions", "can_manage"]

log = logging.getLogger("simplextui.chat.groups")
Handler = Callable[[Any], Awaitable[ChatResponse]]


def can_manage(group: Group, role: str) -> bool:
    """May a member of ``role`` add and remove members? (Any member, in a symmetric group.)"""
    needed = GroupRole.MEMBER if group.symmetric else GroupRole.ADMIN  # observers only read
    return GroupRole(role).rank >= needed.rank


class GroupActions:
    def __init__(self, ctx: ChatContext) -> None:
        from simplextui.chat.groups.options import GroupOptions

        self.ctx = ctx
        self.options = GroupOptions(ctx)

    def handlers(self) -> dict[type, Handler]:
        return {gc.CreateGroup: self.create, gc.AddMember: self.add, gc.JoinGroup: self.join,
                gc.SendGroup: self.send, gc.ListMembers: self.list_members,
                gc.RemoveMember: self.remove, gc.LeaveGroup: self.leave,
                gc.DeleteGroup: self.delete, gc.ChangeRole: self.change_role,
                gc.SetGroupProfile: self.set_profile, gc.SetHistory: self.options.set_history,
                gc.SetSymmetric: self.options.set_symmetric,
                gc.SetApproval: self.options.set_approval, gc.ApproveMember: self.options.approve,
                gc.TailGroup: self.options.tail, gc.MarkGroupRead: self.options.mark_read,
                **GroupItems(self.ctx).handlers()}

    async def _group(self, name: str, *active: GroupStatus) -> Group:
        return await find_group(self.ctx, name, *active)

    async def _member(self, group: Group, name: str) -> GroupMember:
        async with self.ctx.db.session() as s:
            member = await gq.member_by_name(s, group.id, name)
        if member is None:
            raise ChatError(f"no member {name} in #{group.local_name} (/ms lists them)")
        return member

    async def _broadcast(self, group: Group, message: ChatMessage) -> dict[str, int]:
        async with self.ctx.tx() as s:
            message = await numbered(s, group.id, message)
            conns = [m.conn_id for m in await gq.connected_members(s, group.id) if m.conn_id]
        return await send_to_many(self.ctx, conns, message)

    # --- create, invite, join ---------------------------------------------------------------

    async def create(self, cmd: gc.CreateGroup) -> ChatResponse:
        now = now_ms()
        async with self.ctx.tx() as s:
            name = await gq.allocate_group_name(s, cmd.name)
            group = Group(local_name=name, display_name=cmd.name, description=cmd.description,
                          status=GroupStatus.CONNECTED, symmetric=False,
                          member_id=new_member_id(), role=GroupRole.OWNER.value,
                          created_at=now, updated_at=now)
            s.add(group)
            await s.flush()
            await add_notice(s, group.id, None, "you created the group")
        return OkResponse(f"group #{name} created; /a {name} CONTACT invites a contact",
                          group=name)

    async def add(self, cmd: gc.AddMember) -> ChatResponse:
        group = await self._group(cmd.group, GroupStatus.CONNECTED)
        if not can_manage(group, group.role):
            raise ChatError(f"#{group.local_name}: only admins and owners can add members")
        if GroupRole(group.role).rank < cmd.role.rank:
            raise ChatError(f"you cannot grant the role {cmd.role} (yours is {group.role})")
        declined: int | None = None  # the row of an earlier invitation this contact declined
        async with self.ctx.db.session() as s:
            contact = await self.ctx.contact(s, cmd.contact)
            contact_conn = self.ctx.require_connected(contact)
            for m in await gq.members(s, group.id):
                if m.contact_id == contact.id and m.status in (MemberStatus.INVITED,
                                                               MemberStatus.CONNECTED):
                    raise ChatError(f"@{cmd.contact} is already invited to #{group.local_name}")
                if m.contact_id == contact.id and m.status == MemberStatus.DECLINED:
                    declined = m.id
        conn_id, link = await self.ctx.agent.create_invitation(member_self_info(self.ctx, group))
        member_id = new_member_id()  # a new one each time: the declined id is spent
        async with self.ctx.tx() as s:
            member = await s.get(GroupMember, declined) if declined is not None else None
            if member is None:
                member = await gq.add_member(
                    s, group.id, member_id, cmd.role,
                    profile_of_contact(contact), MemberStatus.INVITED, contact_id=contact.id)
            else:  # invited again: the same row (and name), a new member id
                member.member_id, member.role = member_id, cmd.role.value
                member.status, member.updated_at = MemberStatus.INVITED.value, now_ms()
            member.conn_id, member.joined_later = conn_id, True
        invitation = GroupInvitation(MemberRef(group.member_id, GroupRole(group.role)),
                                     MemberRef(member_id, cmd.role), link,
                                     GroupProfile(group.display_name, group.description),
                                     group.symmetric)
        await self.ctx.send_event(contact_conn, invitation)
        return OkResponse(f"invitation to #{group.local_name} sent to @{cmd.contact}",
                          contact=cmd.contact, group=group.local_name)

    async def join(self, cmd: gc.JoinGroup) -> ChatResponse:
        group = await self._group(cmd.group)
        if group.status != GroupStatus.INVITED or group.conn_req is None:
            raise ChatError(f"#{group.local_name}: there is no invitation to join")
        if group.host_id is None:
            raise ChatError("the group is gone")
        info = encode_chat_message(ChatMessage(new_msg_id(), GroupAccept(
            group.member_id, profile_of(self.ctx.user))))
        conn_req = group.conn_req

        async def accepted(s: AsyncSession, _host: GroupMember) -> None:
            row = await s.get(Group, group.id)  # before the join: it may complete at once
            if row is not None:
                row.status, row.conn_req, row.updated_at = GroupStatus.ACCEPTED, None, now_ms()

        async def invited_again(s: AsyncSession, _host: GroupMember) -> None:
            row = await s.get(Group, group.id)
            if row is not None:
                row.status, row.conn_req = GroupStatus.INVITED.value, conn_req

        try:
            await join_member(self.ctx, group.host_id,
                              lambda: self.ctx.agent.join(conn_req, info),
                              prepare=accepted, undo=invited_again)
        except LookupError:
            raise ChatError("the group is gone") from None
        return OkResponse(f"joining #{group.local_name}…", group=group.local_name)

    # --- messages ---------------------------------------------------------------------------

    async def send(self, cmd: gc.SendGroup) -> ChatResponse:
        group = await self._group(cmd.group, GroupStatus.CONNECTED)
        return await post_message(self.ctx, group, MsgNew(MsgContent(cmd.text)))

    async def list_members(self, cmd: gc.ListMembers) -> ChatResponse:
        group = await self._group(cmd.group)
        async with self.ctx.db.session() as s:
            members = await gq.members(s, group.id)
        by_id = {m.id: m for m in members}
        views = [MemberView(self.ctx.user.display_name, self.ctx.user.display_name, group.role,
                            group.status, me=True)]
        for m in members:
            via = None
            if m.status == MemberStatus.INTRODUCED and m.introducer_id in by_id:
                via = by_id[m.introducer_id].local_name  # forwarding meanwhile
            views.append(MemberView(m.local_name, m.display_name, m.role, m.status, via))
        return GroupMembersResponse(group.local_name, views)

    # --- removal, leave, delete, roles, profile ------------------------------------------------

    async def remove(self, cmd: gc.RemoveMember) -> ChatResponse:
        group = await self._group(cmd.group, GroupStatus.CONNECTED)
        member = await self._member(group, cmd.member)
        if not can_manage(group, group.role):
            raise ChatError(f"#{group.local_name}: only admins and owners can remove members")
        if GroupRole(member.role).rank > GroupRole(group.role).rank:
            raise ChatError(f"you cannot remove a member with the role {member.role}")
        if member.status in (MemberStatus.REMOVED, MemberStatus.LEFT):
            raise ChatError(f"{cmd.member} is no longer a member")
        async with self.ctx.tx() as s:
            message = await numbered(s, group.id, wrap(MemberDelete(member.member_id)))
            await keep_pending(s, group.id, message)  # for members not connected yet
            conns = [m.conn_id for m in await gq.connected_members(s, group.id) if m.conn_id]
        sent = await send_to_many(self.ctx, conns, message)
        await drop_member(self.ctx, member, MemberStatus.REMOVED, sent,
                          notice=f"you removed {member.local_name}")
        return OkResponse(f"{cmd.member} removed from #{group.local_name}")

    async def leave(self, cmd: gc.LeaveGroup) -> ChatResponse:
        """Leave; while members this user introduced wait for their invitations, first pass
        those on (the pairs connect without us), unless ``/l`` is given again."""
        group = await self._group(cmd.group, GroupStatus.CONNECTED, GroupStatus.ACCEPTED,
                                  GroupStatus.LEAVING)
        if group.status == GroupStatus.CONNECTED:
            async with self.ctx.tx() as s:
                pending = await gq.unforwarded_intros(s, group.id)
                if pending:
                    row = await s.get(Group, group.id)
                    assert row is not None
                    row.status, row.updated_at = GroupStatus.LEAVING.value, now_ms()
            if pending:
                return OkResponse(f"leaving #{group.local_name} once {len(pending)} "
                                  "introduction(s) in flight are passed on (/l again leaves "
                                  "now)", group=group.local_name)
        await leave_now(self.ctx, group)
        return OkResponse(f"you left #{group.local_name}", group=group.local_name)

    async def delete(self, cmd: gc.DeleteGroup) -> ChatResponse:
        group = await self._group(cmd.group)
        if group.status == GroupStatus.CONNECTED:
            if GroupRole(group.role) is not GroupRole.OWNER:
                raise ChatError(f"#{group.local_name}: only owners can delete the group "
                                "(/l leaves it)")
            sent = await self._broadcast(group, wrap(GroupDelete()))
            await close_group(self.ctx, group, GroupStatus.DELETED, sent,
                              notice="you deleted the group")
            return OkResponse(f"#{group.local_name} deleted for everyone")
        declined = group.status == GroupStatus.INVITED and await self._decline(group)
        if group.status in (GroupStatus.INVITED, GroupStatus.ACCEPTED):
            await close_group(self.ctx, group, GroupStatus.LEFT)
        async with self.ctx.tx() as s:
            row = await s.get(Group, group.id)
            if row is not None:
                await s.delete(row)
        if declined:
            return OkResponse(f"invitation to #{group.local_name} declined")
        return OkResponse(f"#{group.local_name} deleted")

    async def _decline(self, group: Group) -> bool:
        """Tell the inviter (over the contact connection) that this invitation is declined;
        False if that contact is gone."""
        async with self.ctx.db.session() as s:
            contact = (await s.get(Contact, group.inviter_contact_id)
                       if group.inviter_contact_id else None)
        if contact is None or contact.conn_id is None or contact.status != ContactStatus.CONNECTED:
            return False
        try:
            await self.ctx.send_event(contact.conn_id, GroupDecline(group.member_id))
        except AgentError as exc:
            log.info("#%s: could not tell the inviter: %s", group.local_name, exc)
            return False
        return True

    async def change_role(self, cmd: gc.ChangeRole) -> ChatResponse:
        group = await self._group(cmd.group, GroupStatus.CONNECTED)
        member = await self._member(group, cmd.member)
        mine = GroupRole(group.role)
        if mine.rank < GroupRole.ADMIN.rank or max(cmd.role.rank, GroupRole(member.role).rank) \
                > mine.rank:
            raise ChatError(f"#{group.local_name}: your role ({mine}) cannot make this change")
        await self._broadcast(group, wrap(GroupMemberRole(member.member_id, cmd.role)))
        async with self.ctx.tx() as s:
            row = await s.get(GroupMember, member.id)
            if row is not None:
                row.role, row.updated_at = cmd.role.value, now_ms()
                await add_notice(s, group.id, row.id, f"{row.local_name} is now {cmd.role}")
        return OkResponse(f"{cmd.member} is now {cmd.role} in #{group.local_name}")

    async def set_profile(self, cmd: gc.SetGroupProfile) -> ChatResponse:
        group = await self._group(cmd.group, GroupStatus.CONNECTED)
        if GroupRole(group.role) is not GroupRole.OWNER:
            raise ChatError(f"#{group.local_name}: only owners can change the group profile")
        await self._broadcast(group, wrap(GroupInfo(GroupProfile(cmd.name, cmd.description))))
        async with self.ctx.tx() as s:
            row = await s.get(Group, group.id)
            if row is not None:
                row.display_name, row.description = cmd.name, cmd.description
                row.updated_at = now_ms()
                await add_notice(s, group.id, None, "you changed the group profile")
        from simplextui.chat.groups.links import refresh_group_link  # links imports actions

        await refresh_group_link(self.ctx, group.id)
        return OkResponse(f"#{group.local_name} profile updated")


async def leave_now(ctx: ChatContext, group: Group) -> None:
    async with ctx.tx() as s:
        message = await numbered(s, group.id, wrap(GroupLeave()))
        conns = [m.conn_id for m in await gq.connected_members(s, group.id) if m.conn_id]
    sent = await send_to_many(ctx, conns, message)
    await close_group(ctx, group, GroupStatus.LEFT, sent, notice="you left")


def profile_of_contact(contact: Any) -> Any:
    from simplextui.protocol.chat_events import Profile

    return Profile(contact.display_name or contact.local_name or "member", contact.full_name,
                   contact.bio)


async def _delete_conn(ctx: ChatContext, conn_id: str, sent: dict[str, int] | None) -> None:
    if sent and conn_id in sent:
        await delete_when_sent(ctx, conn_id)  # the notice must leave the outbox first
        return
    with contextlib.suppress(AgentError):
        await ctx.agent.delete_connection(conn_id)


async def drop_member(ctx: ChatContext, member: GroupMember, status: MemberStatus,
                      sent: dict[str, int] | None = None, *, notice: str | None = None) -> None:
    """Mark ``member`` gone and delete this user's connection to it (after ``sent``, the
    notices just queued, left the outbox); ``notice`` goes into the conversation."""
    conn_id = member.conn_id
    async with ctx.tx() as s:
        row = await s.get(GroupMember, member.id)
        if row is not None:
            row.status, row.conn_id, row.updated_at = status.value, None, now_ms()
            await drop_pending(s, row.id)
            if notice:
                await add_notice(s, row.group_id, row.id, notice)
    if conn_id is not None:
        await _delete_conn(ctx, conn_id, sent)


async def close_group(ctx: ChatContext, group: Group, status: GroupStatus,
                      sent: dict[str, int] | None = None, *, notice: str | None = None,
                      about: int | None = None) -> None:
    """This user is out of the group: every member connection is deleted; history is kept."""
    async with ctx.tx() as s:
        members = await gq.members(s, group.id)
        row = await s.get(Group, group.id)
        if row is not None:
            row.status, row.updated_at = status.value, now_ms()
            if notice:
                await add_notice(s, row.id, about, notice)
        conns = [m.conn_id for m in members if m.conn_id]
        for m in members:
            m.conn_id = None
            await drop_pending(s, m.id)
    for conn_id in conns:
        await _delete_conn(ctx, conn_id, sent)
    from simplextui.chat.groups.links import drop_group_link  # links builds on this module

    try:
        await drop_group_link(ctx, group.id)  # nobody joins a group this user is out of
    except (ChatError, AgentError) as exc:
        log.warning("#%s: its group link could not be deleted: %s", group.local_name, exc)
