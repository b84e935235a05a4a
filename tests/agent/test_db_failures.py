"""The database fails while a message is received (another writer holds the lock past the
busy timeout): the message is neither stored nor acked, and it comes again once the
database works, instead of the queue staying blocked until the next reconnect."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from simplextui.agent import Connected, ConnectionRequest, DeliveryReceipt, MessageReceived
from simplextui.server.runner import EmbeddedServer
from tests.agent.conftest import MakePeer, connect


@asynccontextmanager
async def _locked(path: Path) -> AsyncIterator[None]:
    """Another writer (the chat layer shares the file) holds the write lock."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("COMMIT")
        other.close()


@pytest.fixture(autouse=True)
def _short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # Waits for the lock end with "database is locked" after 0.2 s instead of 5 s.
    monkeypatch.setattr("simplextui.store.db.BUSY_TIMEOUT_MS", 200)


async def test_a_message_that_could_not_be_stored_comes_again(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    async with _locked(bob.path):
        await alice.a.send(a_conn, b"while locked")
        await asyncio.sleep(1.0)  # several attempts fail meanwhile
        assert bob.bodies(b_conn) == []
    await alice.a.send(a_conn, b"after")
    assert await bob.wait_bodies(b_conn, 2) == [b"while locked", b"after"]
    assert all(e.integrity.ok for e in bob.of(MessageReceived))
    await bob.a.send(b_conn, b"reply")  # the ratchet state is consistent on both sides
    assert await alice.wait_bodies(a_conn, 1) == [b"reply"]
    await asyncio.sleep(0.2)
    assert bob.bodies(b_conn) == [b"while locked", b"after"]  # once each


async def test_a_contact_request_that_could_not_be_stored_comes_again(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    address = await alice.a.create_address()
    async with _locked(alice.path):
        b_conn = await bob.a.join(address, b"bob")
        await asyncio.sleep(1.0)
        assert not alice.of(ConnectionRequest)
    request = await alice.wait_event(ConnectionRequest)
    a_conn = await alice.a.accept_request(request.request_id, b"alice")
    await alice.wait_event(Connected, conn_id=a_conn)
    await bob.wait_event(Connected, conn_id=b_conn)
    assert len(alice.of(ConnectionRequest)) == 1


async def test_a_receipt_that_could_not_be_queued_is_retried(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address], auto_process=False)
    a_conn, b_conn = await connect(alice, bob)
    msg_id = await alice.a.send(a_conn, b"hello")
    received = await bob.wait_event(MessageReceived, conn_id=b_conn)
    await bob.a.message_processed(b_conn, received.agent_msg_id)
    async with _locked(bob.path):  # before the receipt (due in 20 ms) is queued
        await asyncio.sleep(1.0)
    await alice.wait_event(DeliveryReceipt, conn_id=a_conn, agent_msg_id=msg_id)
