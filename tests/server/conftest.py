"""Fixtures of the queue-server tests: raw protocol clients of a real server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so that `tests.server.raw_client` imports under `pytest` too
    sys.path.insert(0, _ROOT)

from simplextui.server.runner import EmbeddedServer  # noqa: E402
from tests.server.raw_client import ClientFactory, RawClient  # noqa: E402


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
