"""Shared fixtures: real queue servers over TLS on 127.0.0.1 with real SQLite files."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # test helpers import as `tests.*` whatever pytest's entry point
    sys.path.insert(0, _ROOT)

from simplextui.server.runner import EmbeddedServer, ServerConfig  # noqa: E402


@pytest.fixture
def server_config(tmp_path: Path) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path / "server", ping_interval=1.0)


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
async def make_server(tmp_path: Path) -> AsyncIterator[Callable[..., object]]:
    """Factory for extra servers: ``await make_server(name, **config_overrides)``."""
    started: list[EmbeddedServer] = []

    async def make(name: str = "extra", **overrides: object) -> EmbeddedServer:
        options: dict[str, object] = {"ping_interval": 1.0, **overrides}
        srv = EmbeddedServer(ServerConfig(data_dir=tmp_path / name,
                                          **options))  # type: ignore[arg-type]
        await srv.start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        await srv.stop()
