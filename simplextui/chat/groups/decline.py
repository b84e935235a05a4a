"""Declining a group invitation: the invitee tells its inviter (``x.grp.decl`` on their contact
connection), which marks the member declined and deletes the member connection it had made for
the invitation (nobody will ever join it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.chat.events import ChatEvent, MemberDeclined
from simplextui.chat.groups.notices import add_notice
from simplextui.protocol.group_events import GroupDecline
from simplextui.store.chat_models import Contact, Group, GroupMember, MemberStatus

__all__ = ["receive_decline"]


async def receive_decline(s: AsyncSession, contact: Contact, event: GroupDecline,
                          unused_conns: list[str]) -> list[ChatEvent]:
    """Only the invited contact can decline, and only an invitation still open: a member that
    joined, or an invitation of someone else, is left alone. The member connection to delete
    goes to ``unused_conns`` (deleted by the caller after this transaction)."""
    member = (await s.execute(select(GroupMember).where(
        GroupMember.member_id == event.member_id, GroupMember.contact_id == contact.id,
    ))).scalars().first()
    if member is None or member.status != MemberStatus.INVITED:
        return []
    group = await s.get(Group, member.group_id)
    if group is None:
        return []
    if member.conn_id is not None:
        unused_conns.append(member.conn_id)
    member.status, member.conn_id, member.updated_at = MemberStatus.DECLINED.value, None, now_ms()
    await add_notice(s, group.id, member.id, f"{member.local_name} declined the invitation")
    return [MemberDeclined(group.local_name, member.local_name)]
