"""Author sequence numbers: each member numbers the group events it authors (1, 2, ...).

They bound what an introducer may still forward once a pair is connected. When member M
connects to N it tells N (``x.grp.mem.info`` ``seqBefore``) the number of its last event from
before it learned of N. Every later event of M's reaches N directly: sent on their connection,
or kept for N (``pending``) until it exists. So once connected, N accepts a forwarded event of
M's only if it is numbered and not above that bound: the late copies of what M said before it
knew of N, which an introducer that was offline passes on late, and nothing M says afterwards
(the introducer cannot put new words in M's mouth). A number is taken in the transaction that
keeps the event for members not connected yet, and a member's ``learned_seq`` is read in the
one that adds it, so an event is either at or below the bound or kept for the member.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.protocol.chat_events import ChatMessage
from simplextui.protocol.group_events import GroupDelete, GroupInfo, GroupMemberRole
from simplextui.store.chat_models import Group, GroupMember, MemberStatus

# Events an author neither numbers nor keeps for members not connected yet (a kept copy,
# sent late, could undo a newer change by someone else): the introducer's forward is the only
# copy such a member gets, so it is taken from the pair's introducer whenever it arrives,
# as before the bound existed. Their forgery by an introducer stays possible (known gap).
_UNBOUNDED = (GroupInfo, GroupMemberRole, GroupDelete)

__all__ = ["forward_allowed", "numbered"]


async def numbered(s: AsyncSession, group_id: int, message: ChatMessage) -> ChatMessage:
    """``message`` with this user's next sequence number in the group (in the transaction
    that keeps it pending and records it)."""
    group = await s.get(Group, group_id)
    assert group is not None
    group.last_seq = (group.last_seq or 0) + 1
    await s.flush()
    return dataclasses.replace(message, seq=group.last_seq)


def forward_allowed(author: GroupMember, message: ChatMessage) -> bool:
    """May an introducer's forwarded copy of ``author``'s ``message`` be applied? Always
    while this user is not connected to the author; once connected, only a numbered event
    not above the bound the author told (none told: no forward at all); role and profile
    changes and the group's deletion always (``_UNBOUNDED``)."""
    if author.status != MemberStatus.CONNECTED or author.conn_id is None:
        return True
    if isinstance(message.event, _UNBOUNDED):
        return True
    return message.seq is not None and author.seq_bound is not None \
        and message.seq <= author.seq_bound
