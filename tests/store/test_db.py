"""Opening the client database: pragmas, migrations at open, schema equal to the models."""

from __future__ import annotations

import time
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection

from simplextui.chat import messages as items_q
from simplextui.store.base import Base
from simplextui.store.chat_models import ChatItem, Contact, ContactStatus
from simplextui.store.db import open_database


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from simplextui.store.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


HEAD = _head()  # the newest revision (0002 added the group tables)


async def test_open_sets_pragmas_and_migrates(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "sub" / "client.db")
    try:
        async with db.session() as s:
            assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await s.execute(text("PRAGMA synchronous"))).scalar() == 1  # NORMAL
            version = (await s.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            assert version == HEAD
    finally:
        await db.close()


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_equals_the_models(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "client.db")
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"chat_user", "chat_contacts", "chat_contact_requests", "chat_items",
                "chat_reactions", "agent_connections"} <= tables
    finally:
        await db.close()


async def test_migrated_tables_never_reuse_ids_where_the_models_say_so(tmp_path: Path) -> None:
    """Autogenerate cannot see ``sqlite_autoincrement``; check the migrated SQL against it."""
    db = await open_database(tmp_path / "x.db")
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT name, sql FROM sqlite_master "
                                           "WHERE type = 'table'"))
            table_sql = {name: sql for name, sql in rows}
    finally:
        await db.close()
    wanted = {t.name for t in Base.metadata.sorted_tables
              if t.dialect_kwargs.get("sqlite_autoincrement")}
    assert wanted, "some tables are expected to declare sqlite_autoincrement"
    for name, sql in table_sql.items():
        if name in Base.metadata.tables:
            assert ("AUTOINCREMENT" in sql) == (name in wanted), name


async def test_reopen_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "client.db"
    db = await open_database(path)
    async with db.session() as s, s.begin():
        s.add(Contact(local_name="bob", conn_id="c1", status=ContactStatus.CONNECTED,
                      created_at=1, updated_at=1))
    await db.close()
    db = await open_database(path)
    try:
        async with db.session() as s:
            names = (await s.execute(select(Contact.local_name))).scalars().all()
        assert names == ["bob"]
    finally:
        await db.close()


async def test_create_all_flag_builds_the_same_tables(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "client.db", create_all=True)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.close()


async def test_foreign_keys_cascade(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "client.db")
    try:
        async with db.session() as s, s.begin():
            contact = Contact(local_name="bob", conn_id="c1", status="connected",
                              created_at=1, updated_at=1)
            s.add(contact)
            await s.flush()
            await items_q.insert_sent(s, contact.id, "AAECAwQFBgcICQoL", "hi", None)
        async with db.session() as s, s.begin():
            await s.delete(await s.get(Contact, contact.id))
        async with db.session() as s:
            assert (await s.execute(select(ChatItem))).first() is None
    finally:
        await db.close()


async def test_last_messages_of_a_long_history_are_fast(tmp_path: Path) -> None:
    """100,000 messages in a chat (and others around it): the last 50 in well under 50 ms."""
    db = await open_database(tmp_path / "client.db")
    try:
        async with db.session() as s, s.begin():
            for name in ("bob", "carol"):
                s.add(Contact(local_name=name, conn_id=name, status="connected",
                              created_at=1, updated_at=1))
        async with db.session() as s:
            result = await s.execute(select(Contact.local_name, Contact.id))
            ids = {name: id_ for name, id_ in result.all()}
        rows = [{"contact_id": ids["bob" if i % 10 else "carol"], "shared_msg_id": f"m{i:015d}",
                 "direction": "snd" if i % 2 else "rcv", "text": f"message {i}",
                 "status": "new", "created_at": i, "updated_at": i, "edited": False,
                 "deleted": False} for i in range(110_000)]
        async with db.session() as s, s.begin():
            for start in range(0, len(rows), 10_000):
                await s.execute(insert(ChatItem), rows[start:start + 10_000])

        async with db.session() as s:
            await items_q.history(s, ids["bob"], 50)  # warm up
            t = time.perf_counter()
            last = await items_q.history(s, ids["bob"], 50)
            elapsed = time.perf_counter() - t
            assert [item.text for item, _ in last][-1] == "message 109999"
            assert len(last) == 50 and elapsed < 0.05, elapsed
            # keyset paging: the page before the first one continues without a gap
            before = await items_q.history(s, ids["bob"], 50, before_id=last[0][0].id)
            assert before[-1][0].id < last[0][0].id
            plan = (await s.execute(text(
                "EXPLAIN QUERY PLAN SELECT * FROM chat_items WHERE contact_id = 1 "
                "ORDER BY id DESC LIMIT 50"))).all()
            assert "ix_chat_items_contact_id_id" in str(plan)
            t = time.perf_counter()
            found = await items_q.find_by_prefix(s, ids["bob"], "message 10999")
            assert found is not None and found.text == "message 109999"
            assert time.perf_counter() - t < 0.05
    finally:
        await db.close()


async def test_databases_opened_at_once_all_migrate(tmp_path: Path) -> None:
    """Several agents in one process open their files concurrently; Alembic's global context
    must not interleave their migrations."""
    import asyncio

    dbs = await asyncio.gather(*(open_database(tmp_path / f"{i}.db") for i in range(4)))
    try:
        for db in dbs:
            async with db.session() as s:
                version = (await s.execute(text("SELECT version_num FROM alembic_version"))
                           ).scalar_one()
            assert version == HEAD
    finally:
        for db in dbs:
            await db.close()
