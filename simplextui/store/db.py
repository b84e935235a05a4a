"""Opening the client's SQLite database: engine settings and migrations at open.

``open_database(path)`` creates or upgrades the schema with Alembic (the revisions under
``simplextui/store/migrations/versions``; a new database is built from the models and stamped,
see ``build_or_migrate``) before returning, so every caller sees the current schema. The
engine runs SQLite in WAL mode with ``synchronous=NORMAL`` (durable at each checkpoint, safe
against corruption) and with foreign keys enforced.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from simplextui.store.base import Base

__all__ = [
    "MIGRATIONS_DIR",
    "Database",
    "build_or_migrate",
    "load_models",
    "open_database",
    "run_migrations",
    "set_pragmas",
]

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 5_000


class Database:
    """An open database: the async engine and a session factory."""

    def __init__(self, engine: AsyncEngine, path: Path | None = None) -> None:
        self.engine = engine
        self.path = path
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def session(self) -> AsyncSession:
        """A new session; use as ``async with db.session() as s, s.begin(): ...``."""
        return self._sessions()

    async def close(self) -> None:
        await self.engine.dispose()


def load_models() -> None:
    """Import every model module so that ``Base.metadata`` holds all tables."""
    import simplextui.store.agent_models
    import simplextui.store.chat_models
    import simplextui.store.group_link_models  # noqa: F401


def set_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """This project's SQLite settings, on every new DBAPI connection (an engine listener)."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def create_engine_for(path: Path | str) -> AsyncEngine:
    """An async SQLite engine with this project's pragmas (``:memory:`` works too)."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    event.listen(engine.sync_engine, "connect", set_pragmas)
    return engine


def _alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def run_migrations(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database on ``connection`` to ``revision`` (synchronous; use run_sync)."""
    from alembic import command

    command.upgrade(_alembic_config(connection), revision)


def build_or_migrate(connection: Connection) -> None:
    """Bring the database on ``connection`` to the newest revision (synchronous).

    A new, empty database gets the tables straight from the models, stamped with the newest
    revision: the schema every migration in turn would make (``tests/store/test_db.py``
    compares the two, column by column and index by index), for a sixth of the cost (0.1 s
    against 0.6 s here, paid at every first start and by every user a test makes). A database
    with tables is migrated.
    """
    from alembic.migration import MigrationContext

    if inspect(connection).get_table_names():
        run_migrations(connection)
        return
    Base.metadata.create_all(connection)
    MigrationContext.configure(connection).stamp(_scripts(), "head")


@functools.cache
def _scripts() -> Any:
    """The migration scripts, read once per process (reading them is most of a stamp's cost)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())


_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary())


def _migration_lock() -> asyncio.Lock:
    """Alembic's ``context`` is process-global and a migration yields to the loop on every
    statement, so databases opened at once on one loop (several agents in one process) must
    migrate one at a time."""
    loop = asyncio.get_running_loop()
    lock = _migration_locks.get(loop)
    if lock is None:
        lock = _migration_locks[loop] = asyncio.Lock()
    return lock


async def open_database(path: Path, *, create_all: bool = False) -> Database:
    """Open (creating if needed) the database file at ``path`` and bring its schema up to date.

    ``create_all=True`` skips Alembic and creates the tables straight from the models; it is for
    tests written before a migration covers their tables.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(path)
    load_models()
    try:
        async with engine.begin() as conn:
            if create_all:
                await conn.run_sync(Base.metadata.create_all)
            else:
                async with _migration_lock():
                    await conn.run_sync(build_or_migrate)
    except BaseException:
        await engine.dispose()
        raise
    return Database(engine, path)
