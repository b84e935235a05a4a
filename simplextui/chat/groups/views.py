"""Group messages as frontends see them (``MessageView``): the author, quote and reactions
named as this user knows the members, for ``/tail #GROUP`` and the ``/tail`` of all chats."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat import messages as items_q
from simplextui.chat.context import ChatContext
from simplextui.chat.groups import store as gq
from simplextui.chat.view import MessageView, QuoteView, ReactionView
from simplextui.store.chat_models import ChatItem, Direction, Group, GroupMember

__all__ = ["group_item_views", "quote_view"]

UNKNOWN = "a member"  # an author this user has no row for


async def group_item_views(s: AsyncSession, ctx: ChatContext, items: Sequence[ChatItem]
                           ) -> list[MessageView]:
    """Views of group ``items`` (of any groups), in the same order; a few queries in all."""
    if not items:
        return []
    group_ids = {item.group_id for item in items}
    groups = {g.id: g for g in (await s.execute(
        select(Group).where(Group.id.in_(group_ids)))).scalars()}
    members = list((await s.execute(
        select(GroupMember).where(GroupMember.group_id.in_(group_ids)))).scalars())
    by_row = {m.id: m.local_name or m.display_name for m in members}
    by_member_id = {(m.group_id, m.member_id): m.local_name or m.display_name for m in members}
    reactions = await items_q.reactions_of(s, [item.id for item in items])
    me = ctx.user.display_name
    views = []
    for item in items:
        group = groups[item.group_id]  # type: ignore[index]
        if item.direction == Direction.SND:
            author = me
        else:
            author = by_row.get(item.member_id or 0) or item.author_name or UNKNOWN
        quote = None
        if item.quote_msg_id is not None:
            quoted = me if item.quote_sent else by_member_id.get(
                (group.id, item.quote_member_id or ""), UNKNOWN)
            quote = QuoteView(item.quote_msg_id, item.quote_text or "", quoted)
        views.append(MessageView(
            chat=f"#{group.local_name}", msg_id=item.shared_msg_id, direction=item.direction,
            from_=author, text=item.text, status=item.status,
            ts=item.sent_at or item.created_at, edited=item.edited, deleted=item.deleted,
            quote=quote,
            reactions=[ReactionView(r.reaction, me if r.sent else by_row.get(
                r.member_id or 0, UNKNOWN)) for r in reactions.get(item.id, ())]))
    return views


async def quote_view(s: AsyncSession, ctx: ChatContext, group: Group, item: ChatItem
                     ) -> QuoteView | None:
    """The quote of one group item (a message just received), named as in
    :func:`group_item_views`."""
    if item.quote_msg_id is None:
        return None
    if item.quote_sent:
        name = ctx.user.display_name
    else:
        member = (await gq.member_by_id(s, group.id, item.quote_member_id)
                  if item.quote_member_id else None)
        name = (member.local_name or member.display_name) if member else UNKNOWN
    return QuoteView(item.quote_msg_id, item.quote_text or "", name)
