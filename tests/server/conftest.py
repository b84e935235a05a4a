"""Fixtures of the queue-server tests: raw protocol clients of a real server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so that `tests.server.raw_client` imports under `pytest` too
    sys.path.insert(0, _ROOT)

from simplextui.server.runner import EmbeddedServer  # noqa: E402
from tests.conftest import databases  # noqa: E402
from tests.server.raw_client import ClientFactory, RawClient  # noqa: E402


@pytest.fixture(params=["sqlite", "postgres"])
def server_databases(request: pytest.FixtureRequest) -> Iterator[Callable[[], str | None]]:
    """Every queue-server test runs on SQLite and on PostgreSQL (a throwaway server, or
    ``SIMPLEXTUI_TEST_POSTGRES``): the same code on both, as the server promises."""
    if request.param == "sqlite":
        yield from databases(None)
        return
    url = request.getfixturevalue("postgres_url")
    if url is None:
        pytest.skip("PostgreSQL is not installed here (initdb and pg_ctl not found)")
    yield from databases(url)


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """``await make_client(server, stream=True)``: a client with an open session."""
    clients: list[RawClient] = []

    async def make(srv: EmbeddedServer, stream: bool = False) -> RawClient:
        client = RawClient(srv.address)
        clients.append(client)
        await client.open_session()
        if stream:
            await client.stream()
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(server: EmbeddedServer, make_client: ClientFactory) -> RawClient:
    """A client of the ``server`` fixture with an open session and stream."""
    return await make_client(server, stream=True)
