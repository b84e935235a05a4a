"""Notice lines in a group's conversation ("bob joined", "carol left"...).

A notice is a ``ChatItem`` with ``kind="event"``, the group, ``member_id`` the member it is
about (None: this user) and human-readable text. Its shared message id is random: notices are
local and never sent.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.protocol.chat_events import new_msg_id
from simplextui.store.chat_models import ChatItem, Direction, ItemKind, ItemStatus

__all__ = ["add_notice"]


async def add_notice(s: AsyncSession, group_id: int, member_id: int | None, text: str) -> None:
    now = now_ms()
    s.add(ChatItem(group_id=group_id, member_id=member_id, shared_msg_id=new_msg_id(),
                   direction=Direction.RCV, text=text, status=ItemStatus.READ,
                   kind=ItemKind.EVENT, forwarded=False, history=False, edited=False,
                   deleted=False, created_at=now, updated_at=now))
