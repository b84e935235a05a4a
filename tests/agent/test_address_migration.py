"""Migration 0008: a database with the one address of before keeps it as the personal one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from simplextui.store.db import create_engine_for, open_database, run_migrations


async def test_the_address_of_before_becomes_the_personal_address(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine_for(path)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: run_migrations(c, "0007"))
            await conn.execute(text(
                "INSERT INTO agent_queues (id, conn_id, role, server, recipient_id, creds, "
                "secured) VALUES (5, NULL, 'address', 'smp://x', x'01', '{}', 0)"))
            await conn.execute(text(
                "INSERT INTO agent_address (id, link, queue_id, link_owner, keys, created_at) "
                "VALUES (1, 'simplextui://a/old', 5, '{}', x'00', 1.0)"))
    finally:
        await engine.dispose()
    db = await open_database(path)
    try:
        async with db.session() as s:
            rows = (await s.execute(text(
                "SELECT address_id, kind, personal, app_data, link FROM agent_address"))).all()
    finally:
        await db.close()
    assert len(rows) == 1
    address_id, kind, personal, app_data, link = rows[0]
    assert (kind, personal, app_data, link) == ("a", 1, None, "simplextui://a/old")
    assert isinstance(address_id, str) and len(address_id) == 24
