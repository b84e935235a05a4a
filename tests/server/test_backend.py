"""The server stores in the database it is given: the SQLite file in its data dir by default,
PostgreSQL when given one (every test here runs on both, see tests/server/conftest.py)."""

from __future__ import annotations

import sqlite3

from simplextui.protocol import queue as q
from simplextui.server.runner import EmbeddedServer
from tests.server.raw_client import RawClient


async def test_messages_are_stored_in_the_configured_database(server: EmbeddedServer,
                                                              client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    assert await client.send(queue, b"kept in the database") == q.Ok()
    url = server.config.db_url
    if url is not None:
        import psycopg

        assert url.startswith("postgresql+psycopg://")
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
            count = conn.execute("SELECT count(*) FROM messages").fetchone()
        assert not (server.config.data_dir / "server.db").exists()
    else:
        with sqlite3.connect(server.config.data_dir / "server.db") as conn:
            count = conn.execute("SELECT count(*) FROM messages").fetchone()
        conn.close()
    assert count == (1,)
