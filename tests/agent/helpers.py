"""Reaching under an agent, as an attacker or a crash would: its queue credentials, raw
sends to its queues, capturing the bytes its outbox sends."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from simplextui.agent.repo import OutboxItem
from simplextui.store.agent_models import AgentQueue
from simplextui.transport import QueueClient, RecipientQueue, SenderQueue
from tests.agent.conftest import Peer

FAST_CLIENT: dict[str, Any] = {"timeout": 5.0, "backoff_base": 0.02, "backoff_cap": 0.3}


async def queue_creds(peer: Peer, conn_id: str, role: str) -> dict[str, object]:
    assert peer.db is not None
    async with peer.db.session() as s:
        row = (await s.execute(select(AgentQueue.creds).where(
            AgentQueue.conn_id == conn_id, AgentQueue.role == role))).scalar_one()
    return dict(row)


async def sender_of(peer: Peer, conn_id: str) -> SenderQueue:
    """The credentials ``peer`` uses to send on ``conn_id`` (the peer's receive queue)."""
    return SenderQueue.from_dict(await queue_creds(peer, conn_id, "snd"))


async def receiver_of(peer: Peer, conn_id: str) -> RecipientQueue:
    return RecipientQueue.from_dict(await queue_creds(peer, conn_id, "rcv"))


async def raw_send(sender: SenderQueue, *bodies: bytes) -> None:
    async with QueueClient(sender.server, **FAST_CLIENT) as client:
        for body in bodies:
            await client.send(sender, body)


class Capture:
    """Records the bodies a peer's outbox sends (hook ``after_send``), by kind."""

    def __init__(self, peer: Peer) -> None:
        self.bodies: list[tuple[str, str, int | None, bytes]] = []
        peer.a.outbox.after_send = self

    async def __call__(self, items: list[OutboxItem]) -> None:
        for item in items:
            if item.op == "send" and item.body is not None:
                self.bodies.append((item.conn_id, item.kind, item.agent_msg_id, item.body))

    def msg(self, conn_id: str, agent_msg_id: int) -> bytes:
        for conn, kind, msg_id, body in self.bodies:
            if conn == conn_id and kind == "MSG" and msg_id == agent_msg_id:
                return body
        raise KeyError(agent_msg_id)


async def until(predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.0) -> None:
    """Poll ``predicate`` (a state nothing signals, e.g. threads ending) for ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for _ in itertools.count():
        if predicate():
            return
        if loop.time() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(step)
