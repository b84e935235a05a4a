"""Rejection of a member waiting for approval (symmetric groups, ``/reject``).

A rejection is this user's own: it will never connect to the rejected member, who stays in
the group for everyone else (to take it out of the group, ``/rm``, which any member of a
symmetric group may). So that the pair does not stay half-introduced, the rejecting member R
tells the pair's introducer I (``x.grp.mem.rej``); I closes the introduction (no more
forwarding between the two, either way) and passes the event on to the rejected member N,
which drops its side (the invitation it made for R, the messages it kept for R) and shows R as
``rejected``. R likewise drops what it kept for N.
"""

from __future__ import annotations

import logging

from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.events import MemberConnectedAll
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.actions import drop_member
from simplextui.chat.groups.notices import add_notice
from simplextui.chat.groups.pending import drop_pending
from simplextui.protocol.group_events import MemberRejected
from simplextui.store.chat_models import Group, GroupMember, MemberStatus

__all__ = ["reject", "rejected"]

log = logging.getLogger("simplextui.chat.groups")


async def reject(ctx: ChatContext, group: Group, member: GroupMember) -> None:
    """This user rejects ``member`` (waiting for its approval) and tells its introducer."""
    async with ctx.tx() as s:
        row = await s.get(GroupMember, member.id)
        assert row is not None
        row.status, row.pending_conn_req = MemberStatus.REJECTED.value, None
        row.updated_at = now_ms()
        await drop_pending(s, row.id)
        await add_notice(s, group.id, row.id, f"you rejected {row.local_name}")
        introducer = await s.get(GroupMember, row.introducer_id) if row.introducer_id else None
    if introducer is not None and introducer.conn_id is not None:
        await ctx.send_event(introducer.conn_id, MemberRejected(member.member_id,
                                                                group.member_id))


async def rejected(ctx: ChatContext, group: Group, sender: GroupMember,
                   event: MemberRejected) -> None:
    """``x.grp.mem.rej`` from ``sender``: as the introducer, stop forwarding and pass it on;
    as the rejected member, drop the rejecting one."""
    if event.member_id == group.member_id:
        await _was_rejected(ctx, group, sender, event.by_member_id)
        return
    if event.by_member_id != sender.member_id:
        log.warning("#%s: rejection on behalf of another member ignored", group.local_name)
        return
    async with ctx.tx() as s:
        new = await gq.member_by_id(s, group.id, event.member_id)
        if new is None:
            return
        closed = done = False
        for intro in await gq.open_intros_with(s, sender.id):
            if {intro.re_member_id, intro.to_member_id} == {sender.id, new.id}:
                intro.re_connected = intro.to_connected = True  # closed: nothing forwarded
                closed = True
        if closed:
            await s.flush()
            if new.joined_later and not new.all_connected \
                    and not await gq.open_intros_with(s, new.id):
                new.all_connected = done = True  # connected to all who accepted it
    if not closed:
        log.info("#%s: rejection of a pair this user did not introduce ignored",
                 group.local_name)
        return
    if new.conn_id is not None and new.status == MemberStatus.CONNECTED:
        await ctx.send_event(new.conn_id, event)
    if done:
        await ctx.emit(MemberConnectedAll(group.local_name, new.local_name))


async def _was_rejected(ctx: ChatContext, group: Group, sender: GroupMember,
                        by_member_id: str) -> None:
    async with ctx.db.session() as s:
        by = await gq.member_by_id(s, group.id, by_member_id)
    if by is None or by.status not in (MemberStatus.INTRODUCED, MemberStatus.PENDING_APPROVAL):
        return  # unknown, a repeat, or connected meanwhile (then it approved after all)
    if by.introducer_id != sender.id:
        log.warning("#%s: rejection not from the member's introducer ignored", group.local_name)
        return
    await drop_member(ctx, by, MemberStatus.REJECTED,
                      notice=f"{by.local_name} did not accept you: you will not be connected")
