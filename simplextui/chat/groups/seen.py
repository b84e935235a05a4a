"""Changes (edits, deletions, reactions) already received directly from their author."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext
from simplextui.protocol.chat_events import ChatMessage, MsgDelete, MsgReact, MsgUpdate
from simplextui.protocol.group_events import MsgForward
from simplextui.store.chat_models import Group, GroupMember, GroupSeenChange

__all__ = ["ChangeKey", "SeenChanges"]

CHANGES = (MsgUpdate, MsgDelete, MsgReact)

ChangeKey = tuple[int, str, str]  # (group id, author's member id, the change's message id)


class SeenChanges:
    """Edits, deletions and reactions already received directly from their author.

    A change sent while a pair is not connected travels twice: forwarded by the introducer,
    and kept by the author for the member, sent directly once they connect. The forwarded copy
    can come much later (the introducer was offline), after newer changes: applied then, it
    would bring an older text or a removed reaction back. Both copies carry the change's own
    message id, so a forwarded change whose direct copy was seen is dropped. Only direct copies
    are recorded (their author is the connection's member; a forwarded one may be forged).
    Kept in the database (``chat_group_seen_changes``), so a copy forwarded across a restart
    is recognised too; the newest ``limit`` per group are kept (pruned every ``prune_every``
    changes recorded: pruning reads the group's rows)."""

    def __init__(self, ctx: ChatContext, limit: int = 10_000, prune_every: int = 100) -> None:
        self.ctx = ctx
        self._limit = limit
        self._prune_every = prune_every

    @staticmethod
    def key(group: Group, sender: GroupMember, message: ChatMessage) -> ChangeKey | None:
        """The change ``message`` (from ``sender``, directly or forwarded) carries, if any."""
        event = message.event
        if isinstance(event, CHANGES):
            return group.id, sender.member_id, message.msg_id
        if isinstance(event, MsgForward) and not event.history \
                and isinstance(event.msg.event, CHANGES):
            return group.id, event.member_id, event.msg.msg_id
        return None

    async def seen(self, key: ChangeKey) -> bool:
        group_id, author, msg_id = key
        async with self.ctx.db.session() as s:
            found = await s.scalar(select(GroupSeenChange.id).where(
                GroupSeenChange.group_id == group_id,
                GroupSeenChange.author_member_id == author, GroupSeenChange.msg_id == msg_id))
        return found is not None

    async def add(self, key: ChangeKey) -> None:
        group_id, author, msg_id = key
        async with self.ctx.tx() as s:
            result = await s.execute(sqlite_insert(GroupSeenChange).values(
                group_id=group_id, author_member_id=author, msg_id=msg_id,
                created_at=now_ms()).on_conflict_do_nothing())
            row_id = result.lastrowid  # type: ignore[attr-defined]
            if not result.rowcount or row_id % self._prune_every:  # type: ignore[attr-defined]
                return
            oldest_kept = (select(GroupSeenChange.id)
                           .where(GroupSeenChange.group_id == group_id)
                           .order_by(GroupSeenChange.id.desc())
                           .offset(self._limit - 1).limit(1).scalar_subquery())
            await s.execute(delete(GroupSeenChange).where(
                GroupSeenChange.group_id == group_id, GroupSeenChange.id < oldest_kept))
