"""Two admins inviting at the same time: introducing the pair they both missed.

Admin A invites N while admin B invites M. A introduces N to the members A is connected to
when N joins, B likewise for M; if neither was connected to the other's invitee yet, no one
introduces N and M to each other (SimpleX leaves this race unfixed). Every announcement
(``x.grp.mem.new``) therefore says whom the new member is introduced to (``introducedTo``).
An admin that is connected to its own invitee N and to a member M announced by someone else
(not by N), where neither N is in M's list nor M was introduced to N by this admin, introduces
the pair itself — but only if N's member id is greater than M's: the other admin, seeing the
same pair from M's side, leaves it to this one, so each missed pair is introduced once. Both
admins end up connected to both invitees (each introduced the other's invitee to itself), so
the responsible one always sees the pair; it checks whenever a member connection completes
and whenever an announcement arrives.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.chat.groups import store as gq
from simplextui.protocol.group_events import MemberIntro, MemberNew
from simplextui.store.chat_models import Group, GroupIntro, GroupMember

__all__ = ["catch_up", "invited_by_me"]


async def _missed_pairs(s: AsyncSession, group: Group
                        ) -> list[tuple[GroupMember, GroupMember]]:
    """(this user's invitee N, member M) pairs this user must introduce."""
    connected = await gq.connected_members(s, group.id)
    mine = [m for m in connected if invited_by_me(m)]
    if not mine or not any(m.announced_to is not None for m in connected):
        return []
    pairs = {frozenset((i.re_member_id, i.to_member_id))
             for i in await gq.group_intros(s, group.id)}
    todo = []
    for new in mine:
        for other in connected:
            if other.id == new.id or other.announced_to is None \
                    or other.introducer_id == new.id \
                    or new.member_id in other.announced_to.split() \
                    or frozenset((new.id, other.id)) in pairs \
                    or new.member_id < other.member_id:  # the other admin's pair
                continue
            pairs.add(frozenset((new.id, other.id)))
            todo.append((new, other))
    return todo


def invited_by_me(member: GroupMember) -> bool:
    """A member this user invited (not one introduced or announced to it)."""
    return member.joined_later and member.introducer_id is None


async def catch_up(ctx: ChatContext, group: Group, may_manage: bool, *,
                   resend: bool = False) -> int:
    """Introduce the missed pairs this user is responsible for; how many. ``resend`` (after
    a crash): also send again the catch-up introductions whose invitation did not come back."""
    if not may_manage:
        return 0
    again: list[tuple[GroupMember, GroupMember]] = []
    async with ctx.db.session() as s:  # read first: most calls find nothing to do
        todo = await _missed_pairs(s, group)
        if resend:
            for intro in await gq.group_intros(s, group.id):
                if intro.catch_up and not intro.invitation_forwarded:
                    new = await s.get(GroupMember, intro.to_member_id)
                    other = await s.get(GroupMember, intro.re_member_id)
                    if new is not None and other is not None and new.conn_id \
                            and other.conn_id:
                        again.append((new, other))
    for new, other in again:
        await _send(ctx, new, other)
    if not todo:
        return 0
    async with ctx.tx() as s:
        todo = await _missed_pairs(s, group)  # again under the writer lock
        for new, other in todo:
            s.add(GroupIntro(group_id=group.id, re_member_id=other.id, to_member_id=new.id,
                             invitation_forwarded=False, re_connected=False,
                             to_connected=False, catch_up=True, created_at=now_ms()))
    for new, other in todo:
        await _send(ctx, new, other)
    return len(todo)


async def _send(ctx: ChatContext, new: GroupMember, other: GroupMember) -> None:
    """Announce ``new`` to ``other`` and introduce ``other`` to ``new``."""
    assert new.conn_id is not None and other.conn_id is not None
    await ctx.send_event(other.conn_id, MemberNew(gq.member_info(new), (other.member_id,)))
    await ctx.send_event(new.conn_id, MemberIntro(gq.member_info(other)))


