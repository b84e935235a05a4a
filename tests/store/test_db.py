"""Opening the client database: pragmas, migrations at open, schema equal to the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from simplextui.chat import messages as items_q
from simplextui.store.base import Base
from simplextui.store.chat_models import ChatItem, Contact, ContactStatus
from simplextui.store.db import create_engine_for, open_database, run_migrations


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


async def _migrated(path: Path, revision: str = "head") -> AsyncEngine:
    """A database made by running every migration up to ``revision``, as an existing user's
    database is (``open_database`` builds a new one from the models instead)."""
    engine = create_engine_for(path)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: run_migrations(c, revision))
    return engine


async def test_migrated_schema_equals_the_models(tmp_path: Path) -> None:
    engine = await _migrated(tmp_path / "client.db")
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"chat_user", "chat_contacts", "chat_contact_requests", "chat_items",
                "chat_reactions", "agent_connections"} <= tables
    finally:
        await engine.dispose()


def _schema(conn: Connection) -> dict[str, object]:
    """Everything SQLite knows of each table, in a form that ignores column order and quoting:
    columns (type, not null, default, key), foreign keys, indexes (columns, unique, partial
    condition) and whether ids are never reused (AUTOINCREMENT)."""
    out: dict[str, object] = {}
    rows = conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                "WHERE name NOT LIKE 'sqlite_%'").all()
    for kind, name, table, sql in rows:
        if kind == "table":
            columns = conn.exec_driver_sql(f'PRAGMA table_info("{name}")').all()
            keys = conn.exec_driver_sql(f'PRAGMA foreign_key_list("{name}")').all()
            out[name] = ({(c[1], c[2].upper(), c[3], c[4], c[5]) for c in columns},
                         {(k[2], k[3], k[4], k[6]) for k in keys}, "AUTOINCREMENT" in sql)
        elif kind == "index":
            info = conn.exec_driver_sql(f'PRAGMA index_info("{name}")').all()
            where = sql.split(" WHERE ", 1)[1].strip() if sql and " WHERE " in sql else None
            unique = bool(sql) and sql.upper().startswith("CREATE UNIQUE")
            out[f"index {name}"] = (table, [i[2] for i in info], unique, where)
    for table in list(out):
        if not table.startswith("index "):
            autoindexes = conn.exec_driver_sql(f'PRAGMA index_list("{table}")').all()
            out[f"constraints {table}"] = sorted(
                (bool(i[2]), tuple(r[2] for r in conn.exec_driver_sql(
                    f'PRAGMA index_info("{i[1]}")').all()))
                for i in autoindexes if i[3] == "u")  # UNIQUE constraints
    return out


async def test_a_new_database_is_what_the_migrations_make(tmp_path: Path) -> None:
    """A new database is built from the models and stamped (fast); it must be exactly what
    running every migration makes, or later migrations would meet two different schemas."""
    engine = await _migrated(tmp_path / "migrated.db")
    db = await open_database(tmp_path / "new.db")
    try:
        async with engine.connect() as conn:
            migrated = await conn.run_sync(_schema)
        async with db.engine.connect() as conn:
            built = await conn.run_sync(_schema)
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))
                       ).scalar_one()
        assert version == HEAD
        assert migrated.keys() == built.keys()
        for name, shape in migrated.items():
            assert built[name] == shape, name
    finally:
        await engine.dispose()
        await db.close()


async def test_an_existing_database_is_migrated_at_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = await _migrated(path, "0012")
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO chat_contacts (local_name, display_name, full_name, "
                                "bio, conn_id, status, verified, via_address, created_at, "
                                "updated_at) VALUES ('bob', 'bob', '', '', 'c1', 'connected', 0, "
                                "0, 1, 1)"))
    await engine.dispose()
    db = await open_database(path)
    try:
        async with db.session() as s:
            version = (await s.execute(text("SELECT version_num FROM alembic_version"))
                       ).scalar_one()
            names = (await s.execute(select(Contact.local_name))).scalars().all()
        assert (version, names) == (HEAD, ["bob"])
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
    finally:
        await db.close()


async def test_migrated_tables_never_reuse_ids_where_the_models_say_so(tmp_path: Path) -> None:
    """Autogenerate cannot see ``sqlite_autoincrement``; check the migrated SQL against it."""
    engine = await _migrated(tmp_path / "x.db")
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT name, sql FROM sqlite_master "
                                           "WHERE type = 'table'"))
            table_sql = {name: sql for name, sql in rows}
    finally:
        await engine.dispose()
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
    """110,000 messages in two chats: the last 50 of one are read by an index (its plan), and
    paging back continues without a gap. (How fast: benchmarks/tui.py, not a test.)"""
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
            last = await items_q.history(s, ids["bob"], 50)
            assert [item.text for item, _ in last][-1] == "message 109999"
            assert len(last) == 50
            # keyset paging: the page before the first one continues without a gap
            before = await items_q.history(s, ids["bob"], 50, before_id=last[0][0].id)
            assert before[-1][0].id < last[0][0].id
            plan = (await s.execute(text(
                "EXPLAIN QUERY PLAN SELECT * FROM chat_items WHERE contact_id = 1 "
                "ORDER BY id DESC LIMIT 50"))).all()
            assert "ix_chat_items_contact_id_id" in str(plan)
            found = await items_q.find_by_prefix(s, ids["bob"], "message 10999")
            assert found is not None and found.text == "message 109999"
    finally:
        await db.close()


async def test_databases_opened_at_once_all_migrate(tmp_path: Path) -> None:
    """Several agents in one process open their files concurrently; Alembic's global context
    must not interleave their migrations."""
    import asyncio

    for i in range(4):  # existing databases, a few revisions behind: they are migrated
        await (await _migrated(tmp_path / f"{i}.db", "0011")).dispose()
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
