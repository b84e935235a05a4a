"""Agents on real queue servers (TLS on 127.0.0.1) with real SQLite files.

``make_peer("alice", [server.address])`` gives a started :class:`Peer`: an Agent, its
database and a record of its events. By default the peer plays the chat layer: it calls
``message_processed`` for every MessageReceived it records.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from simplextui.agent import (  # noqa: E402
    Agent,
    AgentConfig,
    AgentEvent,
    Connected,
    MessageReceived,
)
from simplextui.protocol.address import ServerAddress  # noqa: E402
from simplextui.store.db import Database, open_database  # noqa: E402

E = TypeVar("E")


def fast_config(**overrides: Any) -> AgentConfig:
    options = {"timeout": 5.0, "backoff_base": 0.02, "backoff_cap": 0.3, "ping_timeout": 10.0}
    values: dict[str, Any] = {"retry_base": 0.05, "retry_cap": 0.5, "quota_retry": 30.0,
                              "subscribe_wait": 1.0, "stop_timeout": 2.0,
                              "client_options": options}
    values.update(overrides)
    return AgentConfig(**values)


class Peer:
    def __init__(self, name: str, path: Path, servers: list[ServerAddress], *, pq: bool,
                 config: AgentConfig, auto_process: bool) -> None:
        self.name = name
        self.path = path
        self.servers = servers
        self.pq = pq
        self.config = config
        self.auto_process = auto_process
        self.events: list[AgentEvent] = []
        self._changed = asyncio.Condition()
        self.db: Database | None = None
        self.agent: Agent | None = None
        # Runs before an event is recorded: tests block or fail the "chat layer" with it.
        self.gate: Callable[[AgentEvent], Awaitable[None]] | None = None

    @property
    def a(self) -> Agent:
        assert self.agent is not None
        return self.agent

    async def start(self) -> None:
        self.db = await open_database(self.path, create_all=True)
        self.agent = Agent(self.db, self.servers, on_event=self._on_event, pq=self.pq,
                           config=self.config)
        await self.agent.start()

    async def stop(self) -> None:
        if self.agent is not None:
            await self.agent.stop()
            self.agent = None
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def _on_event(self, event: AgentEvent) -> None:
        if self.gate is not None:
            await self.gate(event)
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()
        if self.auto_process and isinstance(event, MessageReceived) and self.agent is not None:
            await self.agent.message_processed(event.conn_id, event.agent_msg_id)

    async def wait(self, predicate: Callable[[list[AgentEvent]], bool],
                   timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self.events))

    async def wait_event(self, kind: type[E], timeout: float = 10.0,
                         **fields: Any) -> E:
        def find() -> E | None:
            for event in self.events:
                if isinstance(event, kind) and all(
                        getattr(event, k) == v for k, v in fields.items()):
                    return event
            return None

        await self.wait(lambda _: find() is not None, timeout)
        found = find()
        assert found is not None
        return found

    def of(self, kind: type[E], **fields: Any) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)
                and all(getattr(e, k) == v for k, v in fields.items())]

    def bodies(self, conn_id: str) -> list[bytes]:
        return [e.body for e in self.of(MessageReceived, conn_id=conn_id)]

    async def wait_bodies(self, conn_id: str, count: int, timeout: float = 10.0) -> list[bytes]:
        await self.wait(lambda _: len(self.bodies(conn_id)) >= count, timeout)
        return self.bodies(conn_id)


MakePeer = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def make_peer(tmp_path: Path) -> AsyncIterator[MakePeer]:
    peers: list[Peer] = []

    async def make(name: str, servers: list[ServerAddress], *, pq: bool = True,
                   config: AgentConfig | None = None, auto_process: bool = True) -> Peer:
        peer = Peer(name, tmp_path / f"{name}.db", servers, pq=pq,
                    config=config or fast_config(), auto_process=auto_process)
        await peer.start()
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        await peer.stop()


async def connect(a: Peer, b: Peer, a_info: bytes = b"", b_info: bytes = b"",
                  timeout: float = 10.0) -> tuple[str, str]:
    """A invites, B joins; both see Connected. Returns (A's conn id, B's conn id)."""
    a_conn, link = await a.a.create_invitation(a_info or a.name.encode())
    b_conn = await b.a.join(link, b_info or b.name.encode())
    await a.wait_event(Connected, timeout, conn_id=a_conn)
    await b.wait_event(Connected, timeout, conn_id=b_conn)
    return a_conn, b_conn
