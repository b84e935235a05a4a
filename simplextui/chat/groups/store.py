"""Group queries: groups, members, introductions and group chat items."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.chat.names import local_name_base, unique_name
from simplextui.protocol.chat_events import Profile
from simplextui.protocol.group_events import GroupRole, MemberInfo
from simplextui.store.chat_models import (
    ChatItem,
    Direction,
    Group,
    GroupIntro,
    GroupMember,
    ItemKind,
    ItemStatus,
    MemberStatus,
)

__all__ = [
    "add_member",
    "allocate_group_name",
    "by_name",
    "connected_members",
    "group_intros",
    "group_of",
    "insert_item",
    "intros_of",
    "item_by_author",
    "last_messages",
    "member_by_conn",
    "member_by_id",
    "member_by_name",
    "member_info",
    "member_with_group",
    "members",
    "open_intros_with",
    "unforwarded_intros",
]


async def by_name(s: AsyncSession, name: str) -> Group | None:
    return (await s.execute(select(Group).where(Group.local_name == name))).scalar_one_or_none()


async def group_of(s: AsyncSession, member: GroupMember) -> Group:
    group = await s.get(Group, member.group_id)
    assert group is not None
    return group


async def allocate_group_name(s: AsyncSession, display_name: str) -> str:
    base = local_name_base(display_name)
    rows = await s.execute(select(Group.local_name).where(or_(
        Group.local_name == base, func.substr(Group.local_name, 1, len(base) + 1) == base + "_")))
    return unique_name(base, set(rows.scalars()))


async def members(s: AsyncSession, group_id: int) -> list[GroupMember]:
    result = await s.execute(select(GroupMember).where(GroupMember.group_id == group_id)
                             .order_by(GroupMember.id))
    return list(result.scalars())


async def connected_members(s: AsyncSession, group_id: int) -> list[GroupMember]:
    return [m for m in await members(s, group_id)
            if m.status == MemberStatus.CONNECTED and m.conn_id is not None]


async def member_by_conn(s: AsyncSession, conn_id: str) -> GroupMember | None:
    result = await s.execute(select(GroupMember).where(GroupMember.conn_id == conn_id))
    return result.scalar_one_or_none()


# The lookups run for most agent events on member connections: built once (with bound
# parameters), they skip building the statement and its cache key each time (~0.3 ms of CPU).
_MEMBER_WITH_GROUP = select(GroupMember, Group).join(
    Group, Group.id == GroupMember.group_id).where(GroupMember.conn_id == bindparam("conn_id"))
_MEMBER_BY_ID = select(GroupMember).where(GroupMember.group_id == bindparam("group_id"),
                                          GroupMember.member_id == bindparam("member_id"))


async def member_with_group(s: AsyncSession, conn_id: str
                            ) -> tuple[GroupMember, Group] | None:
    """The member on connection ``conn_id`` and its group, in one query (every message on a
    member connection starts with this lookup)."""
    row = (await s.execute(_MEMBER_WITH_GROUP, {"conn_id": conn_id})).first()
    return None if row is None else (row[0], row[1])


async def member_by_id(s: AsyncSession, group_id: int, member_id: str) -> GroupMember | None:
    result = await s.execute(_MEMBER_BY_ID, {"group_id": group_id, "member_id": member_id})
    return result.scalar_one_or_none()


async def joining_by_member_id(s: AsyncSession, member_id: str) -> GroupMember | None:
    """A member whose invitation this user is joining, its connection id not recorded yet.
    Only such a row may be matched by member id (``joining.join_member`` marks it)."""
    result = await s.execute(select(GroupMember).where(
        GroupMember.member_id == member_id, GroupMember.conn_id.is_(None),
        GroupMember.joining.is_(True)))
    return result.scalars().first()


async def member_by_name(s: AsyncSession, group_id: int, name: str) -> GroupMember | None:
    result = await s.execute(select(GroupMember).where(
        GroupMember.group_id == group_id, GroupMember.local_name == name))
    return result.scalar_one_or_none()


async def add_member(s: AsyncSession, group_id: int, member_id: str, role: GroupRole,
                     profile: Profile, status: MemberStatus, *,
                     contact_id: int | None = None,
                     introducer_id: int | None = None) -> GroupMember:
    taken = {m.local_name for m in await members(s, group_id)}
    group = await s.get(Group, group_id)
    now = now_ms()
    member = GroupMember(group_id=group_id, member_id=member_id,
                         local_name=unique_name(local_name_base(profile.display_name), taken),
                         display_name=profile.display_name, full_name=profile.full_name,
                         bio=profile.bio, role=role.value, status=status.value,
                         contact_id=contact_id, introducer_id=introducer_id,
                         learned_seq=group.last_seq or 0 if group is not None else None,
                         created_at=now, updated_at=now)
    s.add(member)
    await s.flush()
    return member


def member_info(member: GroupMember) -> MemberInfo:
    return MemberInfo(member.member_id, GroupRole(member.role),
                      Profile(member.display_name, member.full_name, member.bio))


async def group_intros(s: AsyncSession, group_id: int) -> list[GroupIntro]:
    result = await s.execute(select(GroupIntro).where(GroupIntro.group_id == group_id))
    return list(result.scalars())


async def unforwarded_intros(s: AsyncSession, group_id: int) -> list[GroupIntro]:
    """Introductions this user made whose new member's invitation was not passed on yet,
    between two members still in the group."""
    result = await s.execute(select(GroupIntro).where(
        GroupIntro.group_id == group_id, GroupIntro.invitation_forwarded.is_(False)))
    active = (MemberStatus.INVITED, MemberStatus.INTRODUCED, MemberStatus.CONNECTED)
    out = []
    for intro in result.scalars():
        re_m = await s.get(GroupMember, intro.re_member_id)
        to_m = await s.get(GroupMember, intro.to_member_id)
        if re_m is not None and to_m is not None and re_m.status in active \
                and to_m.status in active and to_m.conn_id is not None:
            out.append(intro)
    return out


async def intros_of(s: AsyncSession, to_member_id: int) -> list[GroupIntro]:
    result = await s.execute(select(GroupIntro).where(GroupIntro.to_member_id == to_member_id))
    return list(result.scalars())


async def open_intros_with(s: AsyncSession, member_id: int) -> list[GroupIntro]:
    """Introductions involving ``member_id`` whose two members are not both connected yet."""
    result = await s.execute(select(GroupIntro).where(
        or_(GroupIntro.re_member_id == member_id, GroupIntro.to_member_id == member_id),
        or_(GroupIntro.re_connected.is_(False), GroupIntro.to_connected.is_(False))))
    return list(result.scalars())


async def insert_item(s: AsyncSession, group: Group, member: GroupMember | None,
                      shared_msg_id: str, text: str, *, forwarded: bool = False,
                      sent_at: int | None = None, history: bool = False,
                      author: tuple[str, str] | None = None,
                      quote: dict[str, object] | None = None) -> ChatItem | None:
    """A group chat item (``member`` None: sent by this user, unless ``author``, the
    (member id, name) of an author unknown here, is given; ``quote``: its quote columns, see
    ``items.quote_columns``); None if already there. A message is known by its author's
    member id and its shared id: the same id from another author is another message."""
    now = now_ms()
    received = member is not None or author is not None
    author_id = (member.member_id if member is not None
                 else author[0] if author is not None else group.member_id)
    stmt = sqlite_insert(ChatItem).values(
        group_id=group.id, member_id=member.id if member else None,
        shared_msg_id=shared_msg_id, direction=Direction.RCV if received else Direction.SND,
        text=text, status=ItemStatus.NEW if received else ItemStatus.PENDING,
        forwarded=forwarded, created_at=now, sent_at=sent_at, updated_at=now, edited=False,
        deleted=False, kind=ItemKind.MSG, history=history, author_member_id=author_id,
        author_name=author[1] if author else None, **(quote or {}),
    ).on_conflict_do_nothing(index_elements=["group_id", "author_member_id", "shared_msg_id"])
    result = await s.execute(stmt)
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return await item_by_author(s, group.id, author_id, shared_msg_id)


async def item_by_author(s: AsyncSession, group_id: int, author_member_id: str,
                         shared_msg_id: str) -> ChatItem | None:
    """The group message ``shared_msg_id`` of the member ``author_member_id`` (this user's
    own member id for its own messages); notices are never found."""
    found = await s.execute(select(ChatItem).where(
        ChatItem.group_id == group_id, ChatItem.author_member_id == author_member_id,
        ChatItem.shared_msg_id == shared_msg_id, ChatItem.kind == ItemKind.MSG))
    return found.scalar_one_or_none()


async def last_messages(s: AsyncSession, group_id: int, count: int
                        ) -> list[tuple[ChatItem, GroupMember | None]]:
    """The group's last ``count`` messages (not notices, not deleted), oldest first, each with
    its author's member row (None: this user, or an author unknown here)."""
    if count <= 0:
        return []
    result = await s.execute(
        select(ChatItem, GroupMember).outerjoin(GroupMember, ChatItem.member_id == GroupMember.id)
        .where(ChatItem.group_id == group_id, ChatItem.kind == ItemKind.MSG,
               ChatItem.deleted.is_(False))
        .order_by(ChatItem.id.desc()).limit(count))
    rows: list[tuple[ChatItem, GroupMember | None]] = [
        (item, member) for item, member in result.all()]
    rows.reverse()
    return rows



async def keep_newest(s: AsyncSession, model: Any, where: ColumnElement[bool], keep: int) -> None:
    """Delete the oldest rows of ``model`` matching ``where`` beyond the newest ``keep`` (the
    bound of what a peer can make this user store: pending copies, early changes)."""
    count = (await s.scalar(select(func.count()).select_from(model).where(where))) or 0
    if count > keep:
        oldest = select(model.id).where(where).order_by(model.id).limit(count - keep)
        await s.execute(delete(model).where(model.id.in_(oldest)))
