"""Delivery status of sent group messages: one ``GroupDelivery`` row per member.

A sent item is ``pending`` until the server accepted it for every member (``sent``) and
``delivered`` once every member's agent sent its receipt. Each change of the item's status,
and each new member receipt, is a ``group_msg_status`` event with ``delivered`` of ``total``.

The agent may report a status before ``send_many`` returned the agent message ids; while a
group send is in flight such statuses are kept (bounded) and applied once the ids are stored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.context import ChatContext
from simplextui.chat.events import GroupItemStatus
from simplextui.chat.messages import SENT_ORDER, advance_status
from simplextui.store.chat_models import ChatItem, Group, GroupDelivery, GroupMember, ItemStatus

__all__ = ["GroupDeliveries", "deliveries_of", "delivery_counts"]

MAX_EARLY = 10_000

# Run for every sent/delivered status on a member connection: built once, bound parameters.
_STATUS_ON = select(GroupMember, GroupDelivery.status).outerjoin(GroupDelivery, and_(
    GroupDelivery.member_id == GroupMember.id,
    GroupDelivery.agent_msg_id == bindparam("agent_msg_id"))).where(
    GroupMember.conn_id == bindparam("conn_id"))


class GroupDeliveries:
    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx
        self._inflight = 0
        self._early: OrderedDict[tuple[str, int], ItemStatus] = OrderedDict()

    def begin(self) -> None:
        """A group send starts: statuses for unknown ids may be its own."""
        self._inflight += 1

    async def record(self, group: Group, item_id: int, members: Sequence[GroupMember],
                     sent: dict[str, int]) -> None:
        """Store the item's delivery per member (``sent``: agent id per connection) and apply
        statuses that came first. Ends what :meth:`begin` started."""
        try:
            if not sent and any(m.conn_id for m in members):
                return  # the send failed: the item stays pending
            async with self.ctx.tx() as s:
                item = await s.get(ChatItem, item_id)
                if item is None:
                    return
                for m in members:
                    if m.conn_id in sent:
                        agent_id = sent[m.conn_id]
                        status = self._early.pop((m.conn_id, agent_id), ItemStatus.PENDING)
                        s.add(GroupDelivery(item_id=item_id, member_id=m.id,
                                            agent_msg_id=agent_id, status=status.value))
                await s.flush()
                changed = await self._aggregate(s, item)
        finally:
            self._inflight -= 1
            if self._inflight <= 0:
                self._inflight = 0
                self._early.clear()
        if changed is not None:
            await self.ctx.emit(GroupItemStatus(group.local_name, *changed))

    async def status_on(self, conn_id: str, agent_msg_id: int, status: ItemStatus) -> bool:
        """The agent's status for message ``agent_msg_id`` on connection ``conn_id``; False if
        it is not a member connection. Most statuses are for group protocol messages (no
        delivery row): one read finds that out, without the writer lock. A group send in
        flight when the read starts may store its ids meanwhile: then the locked path decides
        (a send that starts later cannot be the one this status is about)."""
        inflight = self._inflight > 0  # before the read: ``record`` commits, then ends it
        async with self.ctx.db.session() as s:
            row = (await s.execute(_STATUS_ON, {"conn_id": conn_id,
                                                "agent_msg_id": agent_msg_id})).first()
        if row is None:
            return False
        member, current = row
        if current is not None and SENT_ORDER.get(ItemStatus(current), 0) >= SENT_ORDER[status]:
            return True  # nothing to move
        if current is not None or inflight:
            await self.status(member, agent_msg_id, status)
        return True

    async def status(self, member: GroupMember, agent_msg_id: int, status: ItemStatus) -> None:
        """The agent's status for message ``agent_msg_id`` on ``member``'s connection."""
        async with self.ctx.tx() as s:
            delivery = (await s.execute(select(GroupDelivery).where(
                GroupDelivery.member_id == member.id,
                GroupDelivery.agent_msg_id == agent_msg_id))).scalar_one_or_none()
            if delivery is None:  # not a message item (a notice...), or its ids not stored yet
                self._keep_early(member.conn_id, agent_msg_id, status)
                return
            if SENT_ORDER.get(ItemStatus(delivery.status), 0) >= SENT_ORDER[status]:
                return
            delivery.status = status.value
            item = await s.get(ChatItem, delivery.item_id)
            group = await s.get(Group, member.group_id)
            if item is None or group is None:
                return
            changed = await self._aggregate(s, item, receipt=status == ItemStatus.DELIVERED)
        if changed is not None:
            await self.ctx.emit(GroupItemStatus(group.local_name, *changed))

    def _keep_early(self, conn_id: str | None, agent_msg_id: int, status: ItemStatus) -> None:
        if not self._inflight or conn_id is None:
            return
        key = (conn_id, agent_msg_id)
        old = self._early.get(key)
        if old is None or SENT_ORDER[status] > SENT_ORDER[old]:
            self._early[key] = status
        while len(self._early) > MAX_EARLY:
            self._early.popitem(last=False)

    @staticmethod
    async def _aggregate(s: AsyncSession, item: ChatItem, receipt: bool = True
                         ) -> tuple[str, str, int, int] | None:
        """Move the item's status to the least advanced of its deliveries; the event fields
        (msg id, status, delivered, total) if something worth telling changed."""
        rows = (await s.execute(select(GroupDelivery.status).where(
            GroupDelivery.item_id == item.id))).scalars().all()
        total = len(rows)
        delivered = sum(1 for r in rows if r == ItemStatus.DELIVERED)
        if total == 0:
            least = ItemStatus.SENT  # no one to send to
        else:
            least = min((ItemStatus(r) for r in rows), key=lambda st: SENT_ORDER.get(st, 0))
        moved = least != ItemStatus.PENDING and advance_status(item, least)
        if moved or (receipt and delivered):
            return item.shared_msg_id, str(item.status), delivered, total
        return None


async def delivery_counts(ctx: ChatContext, item_id: int) -> tuple[int, int]:
    """(delivered, total) of a sent group item."""
    async with ctx.db.session() as s:
        rows = (await s.execute(select(GroupDelivery.status).where(
            GroupDelivery.item_id == item_id))).scalars().all()
    return sum(1 for r in rows if r == ItemStatus.DELIVERED), len(rows)


def deliveries_of(ctx: ChatContext) -> GroupDeliveries:
    """The one ``GroupDeliveries`` of a chat context (shared by sending and inbound)."""
    found = ctx.__dict__.get("_group_deliveries")
    if found is None:
        found = GroupDeliveries(ctx)
        ctx.__dict__["_group_deliveries"] = found
    return found

