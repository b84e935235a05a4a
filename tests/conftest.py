"""Shared fixtures: real queue servers over TLS on 127.0.0.1 with real SQLite files.

With ``SIMPLEXTUI_TEST_POSTGRES`` set to a PostgreSQL server URL (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432``), every queue server of the tests stores in a
fresh PostgreSQL database instead (created per test, dropped after). The queue-server tests
(tests/server) run on both back ends whenever PostgreSQL is installed here.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

POSTGRES = os.environ.get("SIMPLEXTUI_TEST_POSTGRES", "").rstrip("/")

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # test helpers import as `tests.*` whatever pytest's entry point
    sys.path.insert(0, _ROOT)

from simplextui.server.runner import EmbeddedServer, ServerConfig  # noqa: E402
from tests import postgres  # noqa: E402


def databases(base: str | None) -> Iterator[Callable[[], str | None]]:
    """Yields ``new()``: the URL of a fresh database on PostgreSQL server ``base`` (None:
    ``new()`` gives None, SQLite in the data dir); drops them afterwards."""
    made: list[str] = []

    def new() -> str | None:
        if base is None:
            return None
        name = f"t_{uuid.uuid4().hex[:16]}"
        _postgres_admin(base, f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{base}/{name}"

    yield new
    for name in made:
        assert base is not None
        _postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(base: str, sql: str) -> None:
    import psycopg

    url = base.replace("postgresql+psycopg://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode())


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """``SIMPLEXTUI_TEST_POSTGRES``, else a throwaway PostgreSQL server if PostgreSQL is
    installed here (see tests/postgres.py), else None."""
    if POSTGRES:
        yield POSTGRES
    elif not postgres.installed():
        yield None
    else:
        with postgres.throwaway_postgres() as url:
            yield url


@pytest.fixture
def server_databases() -> Iterator[Callable[[], str | None]]:
    """Databases of the tests' queue servers: SQLite, or PostgreSQL for every server when
    ``SIMPLEXTUI_TEST_POSTGRES`` is set (tests/server runs on both anyway)."""
    yield from databases(POSTGRES or None)


@pytest.fixture
def server_config(tmp_path: Path, server_databases: Callable[[], str | None]) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path / "server", ping_interval=1.0,
                        db_url=server_databases())


@pytest.fixture
async def server(server_config: ServerConfig) -> AsyncIterator[EmbeddedServer]:
    """A running queue server; tests may stop and start it again (same port, same data)."""
    srv = EmbeddedServer(server_config)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def make_server(tmp_path: Path, server_databases: Callable[[], str | None]
                      ) -> AsyncIterator[Callable[..., object]]:
    """Factory for extra servers: ``await make_server(name, **config_overrides)``."""
    started: list[EmbeddedServer] = []

    async def make(name: str = "extra", **overrides: object) -> EmbeddedServer:
        options: dict[str, object] = {"ping_interval": 1.0, "db_url": server_databases(),
                                      **overrides}
        srv = EmbeddedServer(ServerConfig(data_dir=tmp_path / name,
                                          **options))  # type: ignore[arg-type]
        await srv.start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        await srv.stop()
