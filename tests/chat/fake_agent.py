"""An in-memory stand-in for the Agent API, to test the chat core's logic fast and precisely.

It keeps the contract the chat core relies on: events awaited one at a time in order;
``MessageReceived`` re-emitted after a restart until ``message_processed``; receipts only after
processing. State lives in a ``FakeNetwork`` keyed by the database path, so an agent created
again for the same user (a restart) finds its connections and unprocessed messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from simplextui.agent import events as ae
from simplextui.agent.errors import AgentError
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.links import Link, LinkKind, parse_link
from simplextui.store.db import Database

SERVER = ServerAddress(bytes(32), "127.0.0.1", 5223)


def _id() -> str:
    return os.urandom(6).hex()


@dataclass
class _Conn:
    owner: str
    peer: str | None = None  # (peer user key, peer conn id) is found through the network
    peer_conn: str | None = None
    next_id: int = 0
    inbox: dict[int, ae.MessageReceived] = field(default_factory=dict)  # unprocessed


@dataclass
class _User:
    conns: dict[str, _Conn] = field(default_factory=dict)
    address: str | None = None
    requests: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # id → joiner
    agent: FakeAgent | None = None


class FakeNetwork:
    def __init__(self) -> None:
        self.users: dict[str, _User] = {}
        self.invitations: dict[str, tuple[str, str, bytes]] = {}  # link → (user, conn, info)
        self.addresses: dict[str, str] = {}  # link → user
        self.drop_receipts = False

    def factory(self, db: Database, servers: list[ServerAddress],
                on_event: Callable[[ae.AgentEvent], Awaitable[None]]) -> FakeAgent:
        key = str(db.path)
        user = self.users.setdefault(key, _User())
        agent = FakeAgent(self, key, on_event)
        user.agent = agent
        return agent

    def deliver(self, user_key: str, event: ae.AgentEvent) -> None:
        agent = self.users[user_key].agent
        if agent is not None and agent.running:
            agent.queue.put_nowait(event)


def _link(kind: LinkKind) -> str:
    return Link(kind, SERVER, os.urandom(24), os.urandom(32)).uri


class FakeAgent:
    def __init__(self, net: FakeNetwork, key: str,
                 on_event: Callable[[ae.AgentEvent], Awaitable[None]]) -> None:
        self.net = net
        self.key = key
        self.on_event = on_event
        self.queue: asyncio.Queue[ae.AgentEvent] = asyncio.Queue()
        self.running = False
        self._task: asyncio.Task[None] | None = None
        self.sent: list[tuple[str, bytes]] = []

    @property
    def user(self) -> _User:
        return self.net.users[self.key]

    async def start(self) -> None:
        self.running = True
        for conn in self.user.conns.values():
            for event in sorted(conn.inbox.values(), key=lambda e: e.agent_msg_id):
                self.queue.put_nowait(event)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            await self.on_event(event)
            self.queue.task_done()

    async def idle(self) -> None:
        await self.queue.join()

    async def stop(self) -> None:
        self.running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def create_invitation(self, my_info: bytes) -> tuple[str, str]:
        conn_id = _id()
        self.user.conns[conn_id] = _Conn(self.key)
        link = _link(LinkKind.INVITATION)
        self.net.invitations[link] = (self.key, conn_id, my_info)
        return conn_id, link

    async def join(self, link: str, my_info: bytes) -> str:
        parsed = parse_link(link)
        conn_id = _id()
        self.user.conns[conn_id] = _Conn(self.key)
        if parsed.kind is LinkKind.INVITATION:
            if link not in self.net.invitations:
                raise AgentError("this invitation was already used or deleted")
            peer, peer_conn, peer_info = self.net.invitations.pop(link)
            self._pair(conn_id, peer, peer_conn)
            self.net.deliver(peer, ae.Connected(peer_conn, my_info))
            self.net.deliver(self.key, ae.Connected(conn_id, peer_info))
        else:
            owner = self.net.addresses.get(link)
            if owner is None:
                raise AgentError("this contact address was deleted")
            request_id = _id()
            self.net.users[owner].requests[request_id] = (self.key, conn_id, my_info)
            self.net.deliver(owner, ae.ConnectionRequest(request_id, my_info))
        return conn_id

    def _pair(self, conn_id: str, peer: str, peer_conn: str) -> None:
        mine = self.user.conns[conn_id]
        mine.peer, mine.peer_conn = peer, peer_conn
        theirs = self.net.users[peer].conns[peer_conn]
        theirs.peer, theirs.peer_conn = self.key, conn_id

    async def create_address(self) -> str:
        link = _link(LinkKind.ADDRESS)
        self.user.address = link
        self.net.addresses[link] = self.key
        return link

    async def get_address(self) -> str | None:
        return self.user.address

    async def delete_address(self) -> None:
        if self.user.address:
            self.net.addresses.pop(self.user.address, None)
        self.user.address = None

    async def accept_request(self, request_id: str, my_info: bytes) -> str:
        joiner, joiner_conn, joiner_info = self.user.requests.pop(request_id)
        conn_id = _id()
        self.user.conns[conn_id] = _Conn(self.key)
        self._pair(conn_id, joiner, joiner_conn)
        self.net.deliver(joiner, ae.Connected(joiner_conn, my_info))
        self.net.deliver(self.key, ae.Connected(conn_id, joiner_info))
        return conn_id

    async def reject_request(self, request_id: str) -> None:
        self.user.requests.pop(request_id)

    async def send(self, conn_id: str, body: bytes) -> int:
        conn = self.user.conns.get(conn_id)
        if conn is None or conn.peer is None or conn.peer_conn is None:
            raise AgentError("not connected")
        conn.next_id += 1
        msg_id = conn.next_id
        self.sent.append((conn_id, body))
        peer_conn = self.net.users[conn.peer].conns.get(conn.peer_conn)
        self.net.deliver(self.key, ae.MessageSent(conn_id, msg_id))
        if peer_conn is not None:
            event = ae.MessageReceived(conn.peer_conn, msg_id, body, 1_700_000_000_000,
                                       ae.IntegrityStatus.OK)
            peer_conn.inbox[msg_id] = event
            self.net.deliver(conn.peer, event)
        return msg_id

    async def message_processed(self, conn_id: str, agent_msg_id: int) -> None:
        conn = self.user.conns[conn_id]
        conn.inbox.pop(agent_msg_id, None)
        if conn.peer is not None and conn.peer_conn is not None and not self.net.drop_receipts:
            self.net.deliver(conn.peer, ae.DeliveryReceipt(conn.peer_conn, agent_msg_id))

    async def delete_connection(self, conn_id: str) -> None:
        conn = self.user.conns.pop(conn_id)
        if conn.peer is not None and conn.peer_conn is not None:
            self.net.deliver(conn.peer, ae.ConnectionDeleted(conn.peer_conn))

    async def safety_code(self, conn_id: str) -> str:
        conn = self.user.conns[conn_id]
        pair = sorted([conn_id, conn.peer_conn or ""])
        digits = "".join(str(int(c, 16) % 10) for c in "".join(pair))
        return " ".join(digits[i:i + 5] for i in range(0, 20, 5))
