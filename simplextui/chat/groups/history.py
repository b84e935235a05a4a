"""History for new members: the inviter sends a new member the group's last messages.

The inviter (host) sends up to ``Group.history_count`` messages (default 100, 0 = off) right
after it introduced the new member to the others, each as ``x.grp.msg.forward`` with
``history: true``, the original author's member id and name, the original time and the
original shared message id. The receiver stores each with its author (or, if that member is
not known to it — it left, or its introduction is still on the way — with the forwarded name),
and the ``(group, author, shared msg id)`` constraint makes a message that also arrives live
appear once.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from simplextui.chat.context import ChatContext
from simplextui.chat.events import ChatEvent, MessageReceived
from simplextui.chat.groups import store as gq
from simplextui.chat.groups.commands import MAX_HISTORY
from simplextui.chat.groups.send import wrap
from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    MsgContent,
    MsgNew,
    encode_chat_message,
)
from simplextui.protocol.group_events import MsgForward
from simplextui.store.chat_models import ChatItem, Direction, Group, GroupMember

__all__ = ["receive_history", "send_history"]

log = logging.getLogger("simplextui.chat.groups")

# An inviter sends at most MAX_HISTORY items, all older than the invitation: a member takes no
# more, and none newer (an hour of slack for clocks), so history cannot be used to inject
# messages in an author's name later on.
CLOCK_SLACK_MS = 3_600_000


async def send_history(ctx: ChatContext, group: Group, new: GroupMember) -> int:
    """Send ``new`` the group's last messages; how many were sent."""
    if new.conn_id is None:
        return 0
    async with ctx.db.session() as s:
        row = await s.get(Group, group.id)
        count = row.history_count if row is not None else 0
        rows = await gq.last_messages(s, group.id, count)
    bodies: list[tuple[str, bytes]] = []
    for item, author in rows:
        if item.direction == Direction.SND:
            member_id, name = group.member_id, ctx.user.display_name
        elif author is not None:
            member_id, name = author.member_id, author.display_name
        elif item.author_member_id is not None:
            member_id, name = item.author_member_id, item.author_name or ""
        else:
            continue
        if member_id == new.member_id:
            continue
        inner = ChatMessage(item.shared_msg_id, MsgNew(MsgContent(item.text)))
        ts = item.sent_at if item.sent_at is not None else item.created_at
        try:
            body = encode_chat_message(wrap(MsgForward(member_id, name, ts, inner,
                                                       history=True)))
        except ChatEventError as exc:  # too large once wrapped
            log.warning("#%s: history item %s not sent: %s", group.local_name,
                        item.shared_msg_id, exc)
            continue
        bodies.append((new.conn_id, body))
    if not bodies:
        return 0
    await ctx.agent.send_many(bodies, receipt=False)  # history: no delivery status
    return len(bodies)


async def receive_history(ctx: ChatContext, group: Group, sender: GroupMember,
                          event: MsgForward, out: list[ChatEvent]) -> None:
    """A history item from this user's inviter (only the inviter sends history)."""
    if sender.id != group.host_id:
        log.warning("#%s: history from %s, not our inviter, ignored", group.local_name,
                    sender.local_name)
        return
    if not isinstance(event.msg.event, MsgNew) or event.member_id == group.member_id:
        return
    if event.msg_ts > group.created_at + CLOCK_SLACK_MS:
        log.warning("#%s: a history item newer than this user's invitation ignored",
                    group.local_name)
        return
    text = event.msg.event.content.text
    async with ctx.tx() as s:
        kept = await s.scalar(select(func.count()).select_from(ChatItem).where(
            ChatItem.group_id == group.id, ChatItem.history.is_(True)))
        if (kept or 0) >= MAX_HISTORY:
            log.warning("#%s: more history than anyone sends ignored", group.local_name)
            return
        author = await gq.member_by_id(s, group.id, event.member_id)
        unknown = None if author is not None else (event.member_id, event.member_name)
        item = await gq.insert_item(s, group, author, event.msg.msg_id, text,
                                    forwarded=True, sent_at=event.msg_ts, history=True,
                                    author=unknown)
    if item is not None:
        name = author.local_name if author is not None else event.member_name
        out.append(MessageReceived(f"#{group.local_name}", name, text, event.msg.msg_id,
                                   event.msg_ts))
