"""The agent's database units: on the loop when that cannot block, else on the threads."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import Connection, text

from simplextui.agent.dbthread import AgentDB
from simplextui.server.runner import EmbeddedServer
from simplextui.store.db import open_database
from tests.agent.conftest import MakePeer, connect, fast_config


def _count(c: Connection) -> int:
    return int(c.execute(text("SELECT count(*) FROM agent_pending_events")).scalar_one())


def _insert(c: Connection) -> int:
    c.execute(text("INSERT INTO agent_pending_events (kind, payload) VALUES ('x', '{}')"))
    return _count(c)


async def test_a_write_waits_on_the_thread_while_another_writer_holds_the_lock(
        tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    db = await open_database(path, create_all=True)
    store = AgentDB(str(path))
    try:
        assert await store.write(_insert) == 1
        assert store.fast_commits == 1  # nothing in the way: on the loop

        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # e.g. the chat layer in a write transaction
        write = asyncio.create_task(store.write(_insert))
        await asyncio.sleep(0.2)
        assert not write.done()  # waiting for the lock on the write thread, loop free
        assert await store.read(_count) == 1  # reads still run (WAL)
        other.execute("COMMIT")
        other.close()
        assert await asyncio.wait_for(write, 5) == 2
        assert store.fast_commits == 1 and store.commits == 2
    finally:
        await store.close()
        await db.close()


async def test_agents_work_with_every_unit_on_the_threads(server: EmbeddedServer,
                                                          make_peer: MakePeer) -> None:
    config = fast_config(db_on_loop=False)
    alice = await make_peer("alice", [server.address], config=config)
    bob = await make_peer("bob", [server.address], config=config)
    a_conn, b_conn = await connect(alice, bob)
    for i in range(5):
        await alice.a.send(a_conn, f"m{i}".encode())
    assert await bob.wait_bodies(b_conn, 5) == [f"m{i}".encode() for i in range(5)]
    assert alice.a._ctx.store.fast_commits == 0
