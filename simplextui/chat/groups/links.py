"""Group links: create, show and delete a group's link; join a group by one; the host's side.

A group link is a ``simplextui://g/...`` link: an agent address of the host's, kind ``g``,
dedicated to this link, whose record carries :class:`GroupLinkData` (the group profile, the
host, the role it grants, a random group link id) as app data. ``/c LINK`` reads it, adds the
group (accepted, not connected) with the host as its one member, and sends a request to the
link's address whose info is ``x.grp.link.join``. The host tells such requests by the address
they arrive at (never the contact path; anything but a join there is rejected): it accepts with
its member info (no contact on either side, no user action), the new member connection
completes, and
the ordinary member-connection code (``groups.inbound``) introduces the joiner to everyone. A
request the host cannot honour (link deleted, host gone from the group) is accepted with
``x.grp.link.rej`` and then dropped by both sides, so the joiner learns why instead of waiting.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.agent import events as ae
from simplextui.agent.errors import AgentError
from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.errors import ChatError
from simplextui.chat.events import ConnectionErrorEvent
from simplextui.chat.groups import links_commands as lc
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.actions import can_manage
from simplextui.chat.groups.joining import join_member
from simplextui.chat.groups.links_record import (
    delete_record,
    publish,
    read,
    send_join,
    update_record,
)
from simplextui.chat.groups.lookup import find_group
from simplextui.chat.profiles import profile_of
from simplextui.chat.responses import ChatResponse, LinkResponse, OkResponse
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    decode_chat_message,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import GroupProfile, GroupRole, MemberInfo, new_member_id
from simplextui.protocol.group_link_events import (
    GroupLinkAccept,
    GroupLinkData,
    GroupLinkJoin,
    GroupLinkReject,
)
from simplextui.protocol.links import Link, LinkKind, expect_kind
from simplextui.store.chat_models import Group, GroupMember, GroupStatus, MemberStatus
from simplextui.store.group_link_models import GroupLink

__all__ = ["GroupLinkInbound", "GroupLinks", "join_by_link", "refresh_group_link"]

log = logging.getLogger("simplextui.chat.groups.links")
Handler = Callable[[Any], Awaitable[ChatResponse]]


async def _link_of(s: AsyncSession, group_id: int) -> GroupLink | None:
    result = await s.execute(select(GroupLink).where(GroupLink.group_id == group_id))
    return result.scalar_one_or_none()


async def _link_by_address(s: AsyncSession, address_id: str | None) -> GroupLink | None:
    if address_id is None:
        return None
    result = await s.execute(select(GroupLink).where(GroupLink.address_id == address_id))
    return result.scalar_one_or_none()


def _info(event: Any) -> bytes:
    return encode_chat_message(ChatMessage(new_msg_id(), event))


# --- commands ------------------------------------------------------------------------------------


class GroupLinks:
    """``/create link``, ``/show link``, ``/delete link``."""

    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx

    def handlers(self) -> dict[type, Handler]:
        return {lc.CreateGroupLink: self.create, lc.ShowGroupLink: self.show,
                lc.SetGroupLinkRole: self.set_role, lc.DeleteGroupLink: self.delete}

    async def _group(self, name: str, *active: GroupStatus) -> Group:
        return await find_group(self.ctx, name, *active)

    async def create(self, cmd: lc.CreateGroupLink) -> ChatResponse:
        group = await self._group(cmd.group)
        g = group.local_name
        if group.status != GroupStatus.CONNECTED:
            raise ChatError(f"#{g}: you are not an active member (the group is {group.status})")
        if not can_manage(group, group.role):
            raise ChatError(f"#{g}: only admins and owners can create a group link")
        async with self.ctx.db.session() as s:
            if await _link_of(s, group.id) is not None:
                raise ChatError(f"#{g} already has a group link (/show link #{g} shows it, "
                                f"/delete link #{g} deletes it)")
        # Join requests arrive at an address of this link's own (not the contact address).
        data = _link_data(self.ctx, group, new_msg_id(), cmd.role)
        address_id, uri = await publish(self.ctx.agent, data)
        try:
            async with self.ctx.tx() as s:
                if await _link_of(s, group.id) is not None:
                    raise ChatError(f"#{g} already has a group link")
                s.add(GroupLink(group_id=group.id, link_id=data.group_link_id, link=uri,
                                role=cmd.role.value, address_id=address_id,
                                created_at=now_ms()))
        except BaseException:
            with contextlib.suppress(AgentError):
                await delete_record(self.ctx.agent, address_id)
            raise
        return LinkResponse("group", uri, role=cmd.role.value, group=g)

    async def show(self, cmd: lc.ShowGroupLink) -> ChatResponse:
        group = await self._group(cmd.group)
        async with self.ctx.db.session() as s:
            row = await _link_of(s, group.id)
        g = group.local_name
        if row is None:
            raise ChatError(f"#{g} has no group link (/create link #{g} creates one)")
        return LinkResponse("group", row.link, role=row.role, group=g)

    async def set_role(self, cmd: lc.SetGroupLinkRole) -> ChatResponse:
        """Change the role the link grants: its record first (what joiners read), then the
        row (what the host grants when a request arrives); a failure changes neither."""
        group = await self._group(cmd.group)
        g = group.local_name
        if group.status != GroupStatus.CONNECTED or not can_manage(group, group.role):
            raise ChatError(f"#{g}: only active admins and owners can change the group link")
        async with self.ctx.db.session() as s:
            row = await _link_of(s, group.id)
        if row is None:
            raise ChatError(f"#{g} has no group link (/create link #{g} creates one)")
        if row.role == cmd.role.value:
            raise ChatError(f"the group link of #{g} already grants {cmd.role}")
        await update_record(self.ctx.agent, row.address_id,
                            _link_data(self.ctx, group, row.link_id, cmd.role))
        async with self.ctx.tx() as s:
            stored = await _link_of(s, group.id)
            if stored is not None and stored.link_id == row.link_id:
                stored.role = cmd.role.value
        return OkResponse(f"the group link of #{g} now grants {cmd.role}", group=g)

    async def delete(self, cmd: lc.DeleteGroupLink) -> ChatResponse:
        group = await self._group(cmd.group)
        async with self.ctx.db.session() as s:
            row = await _link_of(s, group.id)
        if row is None:
            raise ChatError(f"#{group.local_name} has no group link")
        await drop_group_link(self.ctx, group.id)
        return OkResponse(f"the group link of #{group.local_name} is deleted; joining by it "
                          "no longer works")


def _link_data(ctx: ChatContext, group: Group, link_id: str, role: GroupRole) -> GroupLinkData:
    """What the link's record holds: the group's profile and host as they are now."""
    return GroupLinkData(link_id, GroupProfile(group.display_name, group.description),
                         MemberInfo(group.member_id, GroupRole(group.role),
                                    profile_of(ctx.user)), role, group.symmetric)


async def refresh_group_link(ctx: ChatContext, group_id: int) -> None:
    """Publish the group's profile as it is now in its link's record, if it has a link (after
    a profile change, so that joiners see the group's current name). Best effort: a server
    that cannot be reached leaves the old profile there, which the group corrects on joining."""
    async with ctx.db.session() as s:
        row = await _link_of(s, group_id)
        group = await s.get(Group, group_id)
    if row is None or group is None:
        return
    try:
        await update_record(ctx.agent, row.address_id,
                            _link_data(ctx, group, row.link_id, GroupRole(row.role)))
    except ChatError as exc:
        log.warning("#%s: the group link still shows the old profile: %s",
                    group.local_name, exc)


async def drop_group_link(ctx: ChatContext, group_id: int) -> None:
    """Delete the group's link, if any: its agent address (so that nothing is subscribed for
    it any more), then the row. Also when this user leaves, is removed or deletes the group."""
    async with ctx.db.session() as s:
        row = await _link_of(s, group_id)
    if row is None:
        return
    # The address first: a crash in between leaves a row that /delete link deletes again.
    await delete_record(ctx.agent, row.address_id)
    async with ctx.tx() as s:
        fresh = await s.get(GroupLink, row.id)
        if fresh is not None:
            await s.delete(fresh)


# --- joining (``/c LINK`` with a group link) ------------------------------------------------------


async def _check_not_member(s: AsyncSession, data: GroupLinkData) -> None:
    """Refuse a second join of the same group (found by its host's group-wide member id)."""
    own = await s.execute(select(Group).where(Group.member_id == data.host.member_id))
    if own.scalars().first() is not None:
        raise ChatError("this is the link of your own group")
    rows = await s.execute(select(GroupMember, Group).join(Group, GroupMember.group_id == Group.id)
                           .where(GroupMember.member_id == data.host.member_id))
    for _, group in rows.all():
        if group.status in (GroupStatus.CONNECTED, GroupStatus.ACCEPTED):
            state = "a member of" if group.status == GroupStatus.CONNECTED else "joining"
            raise ChatError(f"you are already {state} #{group.local_name}")


async def join_by_link(ctx: ChatContext, link: Link) -> ChatResponse:
    """``/c`` with a group link: read the record, add the group, ask the host to be let in."""
    expect_kind(link, {LinkKind.GROUP})
    data = await read(ctx.agent, link)
    now = now_ms()
    async with ctx.tx() as s:
        await _check_not_member(s, data)
        name = await gq.allocate_group_name(s, data.group_profile.display_name)
        group = Group(local_name=name, display_name=data.group_profile.display_name,
                      description=data.group_profile.description, status=GroupStatus.ACCEPTED,
                      symmetric=data.symmetric, member_id=new_member_id(),
                      role=data.role.value,
                      created_at=now, updated_at=now)
        s.add(group)
        await s.flush()
        host = await gq.add_member(s, group.id, data.host.member_id, data.host.role,
                                   data.host.profile, MemberStatus.INVITED)
        group.host_id = host.id
    info = _info(GroupLinkJoin(group.member_id, profile_of(ctx.user), data.group_link_id))
    try:
        await join_member(ctx, host.id, lambda: send_join(ctx.agent, link, info))
    except BaseException:
        async with ctx.tx() as s:
            row = await s.get(Group, group.id)
            if row is not None:
                await s.delete(row)
        raise
    return OkResponse(f"joining #{name} as {data.role}; you are connected when its host "
                      f"({data.host.profile.display_name}) accepts")


# --- the agent's events ----------------------------------------------------------------------


class GroupLinkInbound:
    """Join requests at the host, and refused joins at both ends."""

    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx

    async def request(self, event: ae.ConnectionRequest) -> bool:
        """A request at one of the agent's addresses; False if it is for the contact path
        (it came to the personal address, and is not a join)."""
        join: object = None
        with contextlib.suppress(ChatEventError):
            join = decode_chat_message(event.info).event
        async with self.ctx.db.session() as s:
            link = await _link_by_address(s, event.address_id)
        if not isinstance(join, GroupLinkJoin):
            if link is None and not await self._at_other_address(event.address_id):
                return False
            # a contact request through a group link (or another address of ours that is
            # not for contacts): the link does not make its holder a contact
            log.info("a request that is not a join arrived at a group link: rejected")
            with contextlib.suppress(AgentError):
                await self.ctx.agent.reject_request(event.request_id)
            return True
        async with self.ctx.tx() as s:
            row = await _link_by_address(s, event.address_id)
            group = await s.get(Group, row.group_id) if row is not None else None
            reason = stale = None
            if row is None or group is None or row.link_id != join.group_link_id:
                reason = "this group link was deleted by its host"
            elif group.status != GroupStatus.CONNECTED or not can_manage(group, group.role):
                reason = "the host of this group link is no longer in the group"
                stale = row.address_id
                await s.delete(row)
            member = None
            if reason is None and group is not None and row is not None:
                member = await gq.member_by_id(s, group.id, join.member_id)
                if member is not None and (member.conn_id is not None
                                           or member.status != MemberStatus.INVITED):
                    return True  # a repeat (or a member since removed: not let in again)
                if member is None:  # (else accepting was cut short: try again)
                    member = await gq.add_member(s, group.id, join.member_id,
                                                 GroupRole(row.role), join.profile,
                                                 MemberStatus.INVITED)
                    member.joined_later = True  # invited by this host (races.py)
        if stale is not None:
            with contextlib.suppress(AgentError):
                await delete_record(self.ctx.agent, stale)
        if member is None or group is None:
            log.info("join by group link refused: %s", reason)
            await self._refuse(event.request_id, join.group_link_id, reason or "refused")
            return True
        accept = GroupLinkAccept(group.member_id, profile_of(self.ctx.user),
                                 GroupProfile(group.display_name, group.description),
                                 GroupRole(member.role), group.symmetric)
        try:
            conn_id = await self.ctx.agent.accept_request(event.request_id, _info(accept))
        except AgentError as exc:
            # Either accepted before a crash (the member row then gets its connection when
            # it completes, by member id) or failing now (retried when the agent re-delivers
            # the request): in both cases the row stays.
            log.warning("#%s: accepting a join by link failed: %s", group.local_name, exc)
            return True
        async with self.ctx.tx() as s:
            fresh = await s.get(GroupMember, member.id)
            if fresh is not None and fresh.conn_id is None:
                fresh.conn_id = conn_id
        return True

    async def _at_other_address(self, address_id: str | None) -> bool:
        """True if ``address_id`` is one of the agent's addresses other than the personal one
        (a group link whose row is gone, say); an address since deleted is not known."""
        if address_id is None:
            return False
        return any(a.address_id == address_id and not a.personal
                   for a in await self.ctx.agent.list_addresses())

    async def _refuse(self, request_id: str, link_id: str, reason: str) -> None:
        """Accept only to say no: the joiner learns ``reason``; both sides then drop it."""
        try:
            await self.ctx.agent.accept_request(request_id, _info(GroupLinkReject(link_id,
                                                                                   reason)))
        except AgentError as exc:
            log.info("could not answer a refused join: %s", exc)
            with contextlib.suppress(AgentError):
                await self.ctx.agent.reject_request(request_id)

    async def connected(self, event: ae.Connected) -> bool:
        """True if ``event`` ends a refused join (on either side); the member connection of
        an accepted one is left to ``groups.inbound``."""
        try:
            info = decode_chat_message(event.peer_info).event
        except ChatEventError:
            return False
        if isinstance(info, GroupLinkReject):
            await self._refused(event.conn_id, info)
            return True
        if isinstance(info, GroupLinkAccept):
            await self._accepted(event.conn_id, info)
            return False  # the member connection itself is groups.inbound's
        if not isinstance(info, GroupLinkJoin):
            return False
        async with self.ctx.db.session() as s:
            if await gq.member_by_conn(s, event.conn_id) is not None \
                    or await gq.joining_by_member_id(s, info.member_id) is not None:
                return False
        # this host's side of a join it refused: drop it
        with contextlib.suppress(AgentError):
            await self.ctx.agent.delete_connection(event.conn_id)
        return True

    async def _accepted(self, conn_id: str, event: GroupLinkAccept) -> None:
        """The joiner takes the group as the host has it now (the record may be older)."""
        async with self.ctx.tx() as s:
            host = await gq.member_by_conn(s, conn_id)
            group = await gq.group_of(s, host) if host is not None else None
            if group is None or group.status != GroupStatus.ACCEPTED or host is None \
                    or host.id != group.host_id or host.member_id != event.member_id:
                return
            group.display_name = event.group_profile.display_name
            group.description = event.group_profile.description
            group.role, group.symmetric = event.role.value, event.symmetric

    async def _refused(self, conn_id: str, event: GroupLinkReject) -> None:
        async with self.ctx.tx() as s:
            host = await gq.member_by_conn(s, conn_id)
            group = await gq.group_of(s, host) if host is not None else None
            name = None
            if group is not None and group.status == GroupStatus.ACCEPTED:
                name = group.local_name
                await s.delete(group)  # it never became a group for this user
        with contextlib.suppress(AgentError):
            await self.ctx.agent.delete_connection(conn_id)
        if name is not None:
            await self.ctx.emit(ConnectionErrorEvent(
                f"cannot join #{name} by its link: {event.reason}"))
