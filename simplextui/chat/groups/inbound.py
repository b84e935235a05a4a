"""Group events from the agent: member connections, introductions, forwarding, messages.

Receivers enforce roles: an event whose author's role does not allow it is logged and ignored
(it changes nothing and is not forwarded). Handlers are idempotent, as the agent delivers at
least once; database work is done under the context's writer lock, agent calls outside it.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.agent import events as ae
from simplextui.agent.errors import AgentError
from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.events import (
    ChatEvent,
    GroupDeleted,
    GroupEmpty,
    GroupInvitationReceived,
    GroupUpdated,
    MemberConnectedAll,
    MemberConnectedEvent,
    MemberLeft,
    MemberPendingApproval,
    MemberRemoved,
    MemberRoleChanged,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.actions import can_manage, close_group, drop_member, leave_now
from simplextui.chat.groups.delivery import deliveries_of
from simplextui.chat.groups.history import receive_history, send_history
from simplextui.chat.groups.items import (
    ITEM_EVENTS,
    GroupItems,
    checked_quote_columns,
)
from simplextui.chat.groups.joining import join_member
from simplextui.chat.groups.notices import add_notice
from simplextui.chat.groups.pending import send_pending
from simplextui.chat.groups.races import catch_up
from simplextui.chat.groups.rejection import rejected
from simplextui.chat.groups.retry import Redelivery, is_transient
from simplextui.chat.groups.send import member_self_info, send_to_many, wrap
from simplextui.chat.groups.sequence import forward_allowed
from simplextui.chat.groups.views import quote_view
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    MsgNew,
    Profile,
    UnknownEvent,
    decode_chat_message,
)
from simplextui.protocol.group_events import (
    GroupAccept,
    GroupDelete,
    GroupInfo,
    GroupInvitation,
    GroupLeave,
    GroupMemberRole,
    GroupRole,
    MemberConnected,
    MemberDelete,
    MemberForward,
    MemberIntro,
    MemberInvitation,
    MemberNew,
    MemberRejected,
    MemberSelf,
    MsgForward,
)
from simplextui.store.chat_models import (
    Contact,
    Group,
    GroupIntro,
    GroupMember,
    GroupStatus,
    ItemStatus,
    MemberStatus,
)

__all__ = ["GroupInbound", "receive_invitation"]

log = logging.getLogger("simplextui.chat.groups")

# Events an introducer forwards between members not yet connected to each other.
FORWARDED = (MsgNew, *ITEM_EVENTS, MemberDelete, GroupLeave, GroupDelete, GroupInfo,
             GroupMemberRole)
_GONE = (GroupStatus.LEFT, GroupStatus.REMOVED, GroupStatus.DELETED)
ACTIVE = (MemberStatus.INVITED, MemberStatus.INTRODUCED, MemberStatus.CONNECTED)


async def receive_invitation(s: object, contact: Contact, event: GroupInvitation
                             ) -> list[ChatEvent]:
    """``x.grp.inv`` on a contact connection: keep the invitation for ``/j``."""
    from sqlalchemy import select

    assert isinstance(s, AsyncSession)
    seen = await s.execute(select(Group).where(Group.member_id == event.invited_member.member_id))
    if seen.scalars().first() is not None:
        return []  # a repeat
    now = now_ms()
    name = await gq.allocate_group_name(s, event.group_profile.display_name)
    group = Group(local_name=name, display_name=event.group_profile.display_name,
                  description=event.group_profile.description, status=GroupStatus.INVITED,
                  symmetric=event.symmetric, member_id=event.invited_member.member_id,
                  role=event.invited_member.role.value, inviter_contact_id=contact.id,
                  conn_req=event.conn_req, created_at=now, updated_at=now)
    s.add(group)
    await s.flush()
    host = await gq.add_member(
        s, group.id, event.from_member.member_id, event.from_member.role,
        Profile(contact.display_name or contact.local_name or "member", contact.full_name,
                contact.bio), MemberStatus.INVITED, contact_id=contact.id)
    group.host_id = host.id
    return [GroupInvitationReceived(name, contact.local_name or "", event.invited_member.role)]


class GroupInbound:
    def __init__(self, ctx: ChatContext, *, retry_first: float = 1.0) -> None:
        self.ctx = ctx
        self.items = GroupItems(ctx)
        self.redelivery = Redelivery(self.message, first=retry_first)

    def close(self) -> None:
        """Stop handling messages again (they stay unprocessed for the next start)."""
        self.redelivery.close()

    # --- connections --------------------------------------------------------------------------

    async def connected(self, event: ae.Connected) -> bool:
        """A member connection completed; False if ``event`` is not about a group."""
        try:
            info = decode_chat_message(event.peer_info).event
        except ChatEventError:
            return False
        if not isinstance(info, GroupAccept | MemberSelf):
            return False
        async with self.ctx.tx() as s:
            found = await gq.member_with_group(s, event.conn_id)
            member = found[0] if found else await gq.joining_by_member_id(s, info.member_id)
            if member is None or member.member_id != info.member_id:
                if found is None:
                    return False  # not a member connection (a contact's, say): not ours
                log.warning("member connection %s with unexpected info dropped", event.conn_id)
                return True
            member.conn_id, member.joining = event.conn_id, False
            group = found[1] if found else await gq.group_of(s, member)
            introducer = (await s.get(GroupMember, member.introducer_id)
                          if member.introducer_id else None)
            repeat = member.status == MemberStatus.CONNECTED
            if not repeat:
                if member.status not in ACTIVE:
                    return True
                await self._mark_connected(s, group, member, info)
        if repeat:  # the agent delivers again after a crash: redo what may not have been sent
            await self._after_connected(group, member, info, introducer, repeat=True)
            return True
        await self.ctx.emit(MemberConnectedEvent(group.local_name, member.local_name))
        await self._after_connected(group, member, info, introducer)
        return True

    @staticmethod
    async def _mark_connected(s: AsyncSession, group: Group, member: GroupMember,
                              info: GroupAccept | MemberSelf) -> None:
        """In the connection's transaction: the member is connected, with the profile it sent."""
        member.status, member.updated_at = MemberStatus.CONNECTED.value, now_ms()
        p = info.profile
        member.display_name, member.full_name, member.bio = p.display_name, p.full_name, p.bio
        if isinstance(info, MemberSelf):  # what the member may still get forwarded to us
            member.seq_bound = info.seq_before
        if member.id == group.host_id and group.status == GroupStatus.ACCEPTED:
            group.status = GroupStatus.CONNECTED.value
            await add_notice(s, group.id, None, "you joined")
        if isinstance(info, GroupAccept) or member.joined_later:
            await add_notice(s, group.id, member.id, f"{member.local_name} joined")

    async def _after_connected(self, group: Group, member: GroupMember,
                               info: GroupAccept | MemberSelf, introducer: GroupMember | None,
                               *, repeat: bool = False) -> None:
        await send_pending(self.ctx, member)  # before anything else on this connection
        if isinstance(info, GroupAccept):
            await self._introduce(group, member, repeat=repeat)
        elif introducer is not None and introducer.conn_id is not None:
            await self.ctx.send_event(introducer.conn_id, MemberConnected(member.member_id))
        await catch_up(self.ctx, group, can_manage(group, group.role), resend=repeat)

    async def _introduce(self, group: Group, new: GroupMember, *, repeat: bool = False) -> None:
        """Announce ``new`` to every connected member and introduce each of them to it. Again
        (``repeat``, after a crash): the introductions whose invitation has not come back yet
        are sent again (receivers ignore repeats), the new ones made."""
        async with self.ctx.tx() as s:
            existing = [m for m in await gq.connected_members(s, group.id) if m.id != new.id]
            made = {i.re_member_id: i for i in await gq.intros_of(s, new.id)}
            if repeat and not made and existing:
                log.info("#%s: introducing %s again after a restart", group.local_name,
                         new.local_name)
            for m in existing:
                if m.id not in made:
                    s.add(GroupIntro(group_id=group.id, re_member_id=m.id, to_member_id=new.id,
                                     invitation_forwarded=False, re_connected=False,
                                     to_connected=False, created_at=now_ms()))
            existing = [m for m in existing
                        if m.id not in made or not made[m.id].invitation_forwarded]
        if repeat and not existing:
            return
        conns = [m.conn_id for m in existing if m.conn_id]
        introduced_to = tuple(m.member_id for m in existing)
        await send_to_many(self.ctx, conns, wrap(MemberNew(gq.member_info(new), introduced_to)))
        assert new.conn_id is not None
        for m in existing:
            await self.ctx.send_event(new.conn_id, MemberIntro(gq.member_info(m)))
        await send_history(self.ctx, group, new)
        if not existing:
            async with self.ctx.tx() as s:
                row = await s.get(GroupMember, new.id)
                if row is None or row.all_connected:
                    return
                row.all_connected = True
            await self.ctx.emit(MemberConnectedAll(group.local_name, new.local_name))

    async def deleted(self, event: ae.ConnectionDeleted) -> bool:
        """A member deleted its connection with us (after removing us, leaving...)."""
        async with self.ctx.tx() as s:
            member = await gq.member_by_conn(s, event.conn_id)
            if member is None:
                return False
            member.conn_id = None
            group = await gq.group_of(s, member)
            left = [m for m in await gq.members(s, group.id) if m.conn_id is not None]
        if group.status == GroupStatus.REMOVED and not left:
            await self.ctx.emit(GroupEmpty(group.local_name))
        return True

    async def status(self, conn_id: str, agent_msg_id: int, status: ItemStatus) -> bool:
        """A sent/delivered status on a member connection; False if ``conn_id`` is not one."""
        return await deliveries_of(self.ctx).status_on(conn_id, agent_msg_id, status)

    # --- messages -------------------------------------------------------------------------------

    async def message(self, event: ae.MessageReceived) -> bool:
        """A message on a member connection; False if ``conn_id`` is not one."""
        async with self.ctx.db.session() as s:
            found = await gq.member_with_group(s, event.conn_id)
        if found is None:
            return False
        member, group = found
        emitted: list[ChatEvent] = []
        if group.status in _GONE:  # removed, left or deleted: what is still in flight is moot
            log.info("#%s: message from %s after this user was out ignored", group.local_name,
                     member.local_name)
            self.redelivery.done(event)  # (it may have failed before the user was out)
            await self.ctx.agent.message_processed(event.conn_id, event.agent_msg_id)
            return True
        try:
            message = decode_chat_message(event.body)
        except ChatEventError as exc:
            log.warning("malformed group message from %s ignored: %s", member.local_name, exc)
            message = None
        change = None if message is None else self.items.seen.key(group, member, message)
        if change is not None and await self.items.seen.seen(change):
            log.info("#%s: a change already received from its author ignored (from %s)",
                     group.local_name, member.local_name)
        elif message is not None and not isinstance(message.event, UnknownEvent):
            try:
                await self._dispatch(group, member, message, event.broker_ts_ms, emitted)
                if change is not None and not isinstance(message.event, MsgForward):
                    await self.items.seen.add(change)  # direct: its author is this connection's
            except AgentError as exc:
                if is_transient(exc):  # not processed: handled again later (see retry.py)
                    delay = self.redelivery.schedule(event)
                    log.info("#%s: group event %s from %s failed (%s); again in %.0f s",
                             group.local_name, message.event_name, member.local_name, exc,
                             delay)
                    return True
                log.exception("group event %s from %s failed", message.event_name,
                              member.local_name)
            except Exception:
                log.exception("group event %s from %s failed", message.event_name,
                              member.local_name)
        self.redelivery.done(event)
        await self.ctx.agent.message_processed(event.conn_id, event.agent_msg_id)
        for chat_event in emitted:
            await self.ctx.emit(chat_event)
        return True

    async def _dispatch(self, group: Group, sender: GroupMember, message: ChatMessage,
                        ts: int, out: list[ChatEvent]) -> None:
        event = message.event
        if isinstance(event, MsgForward):
            await self._forwarded(group, sender, event, out)
            return
        if isinstance(event, FORWARDED):
            if not await self._allowed(group, sender, event):
                return  # refused: not applied, and not forwarded either
            sent = await self._forward(group, sender, message, ts)
            await self._authored(group, sender, message, ts, False, out, sent)
        elif isinstance(event, MemberNew):
            await self._member_new(group, sender, event)
        elif isinstance(event, MemberIntro):
            await self._member_intro(group, sender, event)
        elif isinstance(event, MemberInvitation):
            await self._member_invitation(group, sender, event)
        elif isinstance(event, MemberForward):
            await self._member_forward(group, sender, event)
        elif isinstance(event, MemberConnected):
            await self._member_connected(group, sender, event, out)
        elif isinstance(event, MemberRejected):
            await rejected(self.ctx, group, sender, event)
        else:
            log.info("group event %s from %s ignored", message.event_name, sender.local_name)

    # --- introductions ----------------------------------------------------------------------

    def _may_manage(self, group: Group, member: GroupMember, what: str) -> bool:
        if can_manage(group, member.role):
            return True
        log.warning("#%s: %s (%s) may not %s: ignored", group.local_name, member.local_name,
                    member.role, what)
        return False

    def _may_grant(self, group: Group, sender: GroupMember, role: GroupRole) -> bool:
        """May ``sender`` add a member with ``role``? Not above its own role; in a symmetric
        group a non-owner adds members and observers only."""
        mine = GroupRole(sender.role)
        limit = mine if not group.symmetric or mine is GroupRole.OWNER else GroupRole.MEMBER
        if role.rank <= min(mine.rank, limit.rank):
            return True
        log.warning("#%s: %s (%s) may not add a member as %s: ignored", group.local_name,
                    sender.local_name, sender.role, role)
        return False

    async def _member_new(self, group: Group, sender: GroupMember, event: MemberNew) -> None:
        if not self._may_manage(group, sender, "add members") \
                or not self._may_grant(group, sender, event.member.role):
            return
        if event.member.member_id == group.member_id:
            return
        async with self.ctx.tx() as s:
            member = await gq.member_by_id(s, group.id, event.member.member_id)
            if member is None:
                member = await gq.add_member(s, group.id, event.member.member_id,
                                             event.member.role, event.member.profile,
                                             MemberStatus.INTRODUCED, introducer_id=sender.id)
            member.joined_later = True
            if event.introduced_to is not None and member.announced_to is None:
                member.announced_to = " ".join(event.introduced_to)
        await catch_up(self.ctx, group, can_manage(group, group.role))

    async def _member_intro(self, group: Group, sender: GroupMember, event: MemberIntro) -> None:
        if sender.id != group.host_id or not self._may_manage(group, sender, "introduce"):
            log.warning("#%s: introduction not from our inviter ignored", group.local_name)
            return  # (the roles it tells are the existing members': the inviter is trusted)
        async with self.ctx.tx() as s:
            member = await gq.member_by_id(s, group.id, event.member.member_id)
            if member is None:
                member = await gq.add_member(s, group.id, event.member.member_id,
                                             event.member.role, event.member.profile,
                                             MemberStatus.INTRODUCED, introducer_id=sender.id)
        if member.conn_id is not None:
            return  # a repeat
        conn_id, link = await self.ctx.agent.create_invitation(
            member_self_info(self.ctx, group, member))
        async with self.ctx.tx() as s:
            row = await s.get(GroupMember, member.id)
            assert row is not None
            row.conn_id = conn_id
        assert sender.conn_id is not None
        try:
            await self.ctx.send_event(sender.conn_id, MemberInvitation(member.member_id, link))
        except AgentError:
            async with self.ctx.db.session() as s:
                row_group = await s.get(Group, group.id)
            if row_group is not None and row_group.status in (GroupStatus.CONNECTED,
                                                              GroupStatus.ACCEPTED):
                raise
            log.info("#%s: left meanwhile; the introduction is dropped", group.local_name)

    async def _member_invitation(self, group: Group, sender: GroupMember,
                                 event: MemberInvitation) -> None:
        async with self.ctx.tx() as s:
            existing = await gq.member_by_id(s, group.id, event.member_id)
            intro = None
            if existing is not None:
                for i in await gq.intros_of(s, sender.id):
                    if i.re_member_id == existing.id:
                        intro = i
            if intro is None or intro.invitation_forwarded or existing is None \
                    or existing.conn_id is None:
                log.warning("#%s: unexpected member invitation from %s ignored",
                            group.local_name, sender.local_name)
                return
            intro.invitation_forwarded = True
        await self.ctx.send_event(existing.conn_id,
                                  MemberForward(gq.member_info(sender), event.conn_req))
        await self._leave_if_done(group)

    async def _leave_if_done(self, group: Group) -> None:
        """``/l`` waited for the introductions in flight: leave once they are passed on."""
        async with self.ctx.db.session() as s:
            row = await s.get(Group, group.id)
            if row is None or row.status != GroupStatus.LEAVING \
                    or await gq.unforwarded_intros(s, group.id):
                return
        await leave_now(self.ctx, row)

    async def _member_forward(self, group: Group, sender: GroupMember,
                              event: MemberForward) -> None:
        if not self._may_manage(group, sender, "introduce members"):
            return
        async with self.ctx.db.session() as s:
            member = await gq.member_by_id(s, group.id, event.member.member_id)
        if member is None:  # a member is announced (x.grp.mem.new) before it is forwarded
            log.warning("#%s: invitation of a member never announced, from %s, ignored",
                        group.local_name, sender.local_name)
            return
        if member.conn_id is not None or member.status not in ACTIVE:
            return  # a repeat, or gone meanwhile
        if await self._hold_for_approval(group, sender, member, event.conn_req):
            return
        info = member_self_info(self.ctx, group, member)

        async def introduced_by_sender(s: AsyncSession, row: GroupMember) -> None:
            row.introducer_id = sender.id  # it learns when we are connected (catch-ups too)

        await join_member(self.ctx, member.id, lambda: self.ctx.agent.join(event.conn_req, info),
                          prepare=introduced_by_sender)

    async def _hold_for_approval(self, group: Group, sender: GroupMember, member: GroupMember,
                                 conn_req: str) -> bool:
        """Symmetric group with ``/set approval`` N: once the group has N members, a member
        added by a non-owner waits for this user's ``/approve`` (the invitation is kept)."""
        if not group.symmetric or group.approval_threshold is None \
                or GroupRole(sender.role) is GroupRole.OWNER:
            return False
        async with self.ctx.tx() as s:
            others = [m for m in await gq.members(s, group.id)
                      if m.id != member.id and m.status in ACTIVE]
            if len(others) + 1 < group.approval_threshold:
                return False
            row = await s.get(GroupMember, member.id)
            assert row is not None
            row.status = MemberStatus.PENDING_APPROVAL.value
            row.pending_conn_req, row.introducer_id = conn_req, sender.id
            await add_notice(s, group.id, row.id, f"{row.local_name}, added by "
                             f"{sender.local_name}, waits for your approval")
        await self.ctx.emit(MemberPendingApproval(group.local_name, member.local_name,
                                                  sender.local_name))
        return True

    async def _member_connected(self, group: Group, sender: GroupMember,
                                event: MemberConnected, out: list[ChatEvent]) -> None:
        async with self.ctx.tx() as s:
            other = await gq.member_by_id(s, group.id, event.member_id)
            if other is None:
                return
            done_for: GroupMember | None = None
            for intro in await gq.open_intros_with(s, sender.id):
                if {intro.re_member_id, intro.to_member_id} != {sender.id, other.id}:
                    continue
                if intro.re_member_id == sender.id:
                    intro.re_connected = True
                else:
                    intro.to_connected = True
                if intro.re_connected and intro.to_connected:
                    new = await s.get(GroupMember, intro.to_member_id)
                    if new is not None and not new.all_connected \
                            and not await gq.open_intros_with(s, new.id):
                        new.all_connected = True  # told once, catch-up pairs included
                        done_for = new
        if done_for is not None:
            out.append(MemberConnectedAll(group.local_name, done_for.local_name))

    # --- forwarding -------------------------------------------------------------------------

    async def _allowed(self, group: Group, author: GroupMember, event: object) -> bool:
        """Does ``author``'s role allow ``event`` (one of ``FORWARDED``)? Checked before it is
        forwarded, so an introducer never passes on what it refuses; ``_authored`` applies
        the same rules (and checks the state, which may change meanwhile)."""
        g, role = group.local_name, GroupRole(author.role)
        if author.status not in ACTIVE:
            return False
        if isinstance(event, MsgNew) and role is GroupRole.OBSERVER:
            log.warning("#%s: message from observer %s refused", g, author.local_name)
            return False
        if isinstance(event, ITEM_EVENTS) and not self.items.allowed(group, author, event):
            return False
        if isinstance(event, GroupDelete | GroupInfo) and role is not GroupRole.OWNER:
            log.warning("#%s: %s is not an owner: %s refused", g, author.local_name,
                        type(event).__name__)
            return False
        if isinstance(event, GroupMemberRole) and (role.rank < GroupRole.ADMIN.rank
                                                   or event.role.rank > role.rank):
            log.warning("#%s: %s may not grant %s", g, author.local_name, event.role)
            return False
        if isinstance(event, MemberDelete) and not self._may_manage(group, author,
                                                                    "remove members"):
            return False
        if isinstance(event, MemberDelete | GroupMemberRole):
            if event.member_id == group.member_id:
                target_role = GroupRole(group.role)
            else:
                async with self.ctx.db.session() as s:
                    target = await gq.member_by_id(s, group.id, event.member_id)
                if target is None:
                    return True  # unknown here: nothing to apply, others may know it
                target_role = GroupRole(target.role)
            if target_role.rank > role.rank:
                log.warning("#%s: %s may not change an %s", g, author.local_name, target_role)
                return False
        return True

    async def _forward(self, group: Group, author: GroupMember, message: ChatMessage,
                       ts: int) -> dict[str, int]:
        """As an introducer, re-send ``author``'s message to the members it introduced to
        (or was introduced to) that are not connected with it yet; the agent ids sent."""
        async with self.ctx.db.session() as s:
            targets: list[str] = []
            for intro in await gq.open_intros_with(s, author.id):
                other_id = intro.to_member_id if intro.re_member_id == author.id \
                    else intro.re_member_id
                other = await s.get(GroupMember, other_id)
                if other is not None and other.status == MemberStatus.CONNECTED \
                        and other.conn_id is not None:
                    targets.append(other.conn_id)
        if targets:
            forward = MsgForward(author.member_id, author.display_name, ts, message)
            try:
                return await send_to_many(self.ctx, targets, wrap(forward))
            except ChatEventError as exc:  # too large once wrapped
                log.warning("#%s: cannot forward %s: %s", group.local_name, message.msg_id, exc)
        return {}

    async def _forwarded(self, group: Group, sender: GroupMember, event: MsgForward,
                         out: list[ChatEvent]) -> None:
        if event.history:
            await receive_history(self.ctx, group, sender, event, out)
            if isinstance(event.msg.event, MsgNew):
                await self.items.apply_early(group, event.member_id, event.msg.msg_id, out)
            return
        if not self._may_manage(group, sender, "forward messages"):
            return
        async with self.ctx.db.session() as s:
            author = await gq.member_by_id(s, group.id, event.member_id)
        if author is None or not isinstance(event.msg.event, FORWARDED):
            log.warning("#%s: forwarded message of unknown member ignored", group.local_name)
            return
        if author.introducer_id != sender.id:  # only the pair's introducer forwards for it
            log.warning("#%s: %s forwarded a message of %s, whom it did not introduce: ignored",
                        group.local_name, sender.local_name, author.local_name)
            return
        if not forward_allowed(author, event.msg):
            log.warning("#%s: %s forwarded an event of %s (seq %s) sent after %s knew of this "
                        "user (bound %s), now connected directly: ignored", group.local_name,
                        sender.local_name, author.local_name, event.msg.seq,
                        author.local_name, author.seq_bound)
            return
        await self._authored(group, author, event.msg, event.msg_ts, True, out)

    # --- events authored by a member (received directly or forwarded) ---------------------

    async def _authored(self, group: Group, author: GroupMember, message: ChatMessage, ts: int,
                        forwarded: bool, out: list[ChatEvent],
                        sent: dict[str, int] | None = None) -> None:
        """Apply ``author``'s event; ``sent``: what was just forwarded (the connections
        dropped here are deleted only once it left the outbox)."""
        event = message.event
        g = group.local_name
        if author.status not in ACTIVE:
            return
        if isinstance(event, MsgNew):
            if GroupRole(author.role) is GroupRole.OBSERVER:
                log.warning("#%s: message from observer %s refused", g, author.local_name)
                return
            async with self.ctx.tx() as s:
                columns = (None if event.quote is None
                           else await checked_quote_columns(s, group, event.quote, author))
                item = await gq.insert_item(s, group, author, message.msg_id,
                                            event.content.text, forwarded=forwarded, sent_at=ts,
                                            quote=columns)
                quote = None if item is None else await quote_view(s, self.ctx, group, item)
            if item is not None:
                out.append(MessageReceived(f"#{g}", author.local_name, event.content.text,
                                           message.msg_id, ts, quote))
                await self.items.apply_early(group, author.member_id, message.msg_id, out)
        elif isinstance(event, ITEM_EVENTS):
            await self.items.apply(group, author, event, out, message)
        elif isinstance(event, GroupLeave):
            await drop_member(self.ctx, author, MemberStatus.LEFT, sent,
                              notice=f"{author.local_name} left")
            out.append(MemberLeft(g, author.local_name))
        elif isinstance(event, MemberDelete):
            await self._member_delete(group, author, event, out, sent)
        elif isinstance(event, GroupDelete):
            if GroupRole(author.role) is not GroupRole.OWNER:
                log.warning("#%s: %s is not an owner: deletion refused", g, author.local_name)
                return
            await close_group(self.ctx, group, GroupStatus.DELETED, sent,
                              notice=f"{author.local_name} deleted the group", about=author.id)
            out.append(GroupDeleted(g, author.local_name))
        elif isinstance(event, GroupInfo):
            if GroupRole(author.role) is not GroupRole.OWNER:
                log.warning("#%s: %s is not an owner: profile change refused", g,
                            author.local_name)
                return
            async with self.ctx.tx() as s:
                row = await s.get(Group, group.id)
                if row is None:
                    return
                row.display_name = event.group_profile.display_name
                row.description = event.group_profile.description
                await add_notice(s, group.id, author.id,
                                 f"{author.local_name} changed the group profile")
            out.append(GroupUpdated(g, event.group_profile.display_name,
                                    event.group_profile.description))
        elif isinstance(event, GroupMemberRole):
            await self._role(group, author, event, out)

    async def _member_delete(self, group: Group, author: GroupMember, event: MemberDelete,
                             out: list[ChatEvent], sent: dict[str, int] | None = None) -> None:
        g = group.local_name
        if not self._may_manage(group, author, "remove members"):
            return
        if event.member_id == group.member_id:
            if GroupRole(group.role).rank > GroupRole(author.role).rank:
                log.warning("#%s: %s may not remove an %s", g, author.local_name, group.role)
                return
            async with self.ctx.tx() as s:
                row = await s.get(Group, group.id)
                if row is None or row.status == GroupStatus.REMOVED:
                    return
                row.status = GroupStatus.REMOVED.value
                await add_notice(s, group.id, None, f"you were removed by {author.local_name}")
            out.append(MemberRemoved(g, self.ctx.user.display_name, author.local_name))
            return
        async with self.ctx.db.session() as s:
            target = await gq.member_by_id(s, group.id, event.member_id)
        if target is None or target.status not in (*ACTIVE, MemberStatus.PENDING_APPROVAL):
            return
        if GroupRole(target.role).rank > GroupRole(author.role).rank:
            log.warning("#%s: %s may not remove an %s", g, author.local_name, target.role)
            return
        await drop_member(self.ctx, target, MemberStatus.REMOVED, sent,
                          notice=f"{target.local_name} was removed by {author.local_name}")
        out.append(MemberRemoved(g, target.local_name, author.local_name))

    async def _role(self, group: Group, author: GroupMember, event: GroupMemberRole,
                    out: list[ChatEvent]) -> None:
        mine = GroupRole(author.role)
        if mine.rank < GroupRole.ADMIN.rank or event.role.rank > mine.rank:
            log.warning("#%s: %s may not grant %s", group.local_name, author.local_name,
                        event.role)
            return
        async with self.ctx.tx() as s:
            if event.member_id == group.member_id:
                row = await s.get(Group, group.id)
                if row is None or GroupRole(row.role).rank > mine.rank:
                    return
                if row.role != event.role.value:
                    await add_notice(s, group.id, None, f"you are now {event.role}")
                row.role, name = event.role.value, self.ctx.user.display_name
            else:
                target = await gq.member_by_id(s, group.id, event.member_id)
                if target is None or GroupRole(target.role).rank > mine.rank:
                    return
                if target.role != event.role.value:
                    await add_notice(s, group.id, target.id,
                                     f"{target.local_name} is now {event.role}")
                target.role, name = event.role.value, target.local_name
        out.append(MemberRoleChanged(group.local_name, name, event.role.value,
                                     author.local_name))
