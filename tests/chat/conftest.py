"""Fixtures for chat core tests: cores on a fake in-memory agent network, real SQLite files."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so that `tests.chat.*` helpers import under pytest
    sys.path.insert(0, _ROOT)

from simplextui.chat.core import ChatCore  # noqa: E402
from simplextui.protocol.address import ServerAddress  # noqa: E402
from simplextui.server.runner import EmbeddedServer  # noqa: E402
from tests.chat.fake_agent import SERVER, FakeNetwork  # noqa: E402
from tests.chat.recorder import Recorder  # noqa: E402

MakeCore = Callable[..., Awaitable[tuple[ChatCore, Recorder]]]


@pytest.fixture
def net() -> FakeNetwork:
    return FakeNetwork()


@pytest.fixture
async def make_core(tmp_path: Path, net: FakeNetwork) -> AsyncIterator[MakeCore]:
    """``await make_core("alice")``: a started core on the fake network and its recorder."""
    cores: list[ChatCore] = []

    async def make(name: str, display_name: str | None = None,
                   data_dir: Path | None = None) -> tuple[ChatCore, Recorder]:
        core = ChatCore(data_dir or tmp_path / name, [SERVER],
                        display_name=display_name or name, agent_factory=net.factory)
        recorder = Recorder()
        core.subscribe(recorder)
        await core.start()
        cores.append(core)
        return core, recorder

    yield make
    for core in cores:
        await core.stop()


@pytest.fixture
async def make_user(tmp_path: Path, server: EmbeddedServer) -> AsyncIterator[MakeCore]:
    """``await make_user("alice")``: a started core with the REAL agent on the test server
    (or on ``servers=[...]``); ``data_dir=`` reuses a stopped user's files (a restart)."""
    cores: list[ChatCore] = []

    async def make(name: str, display_name: str | None = None, data_dir: Path | None = None,
                   servers: list[ServerAddress] | None = None) -> tuple[ChatCore, Recorder]:
        core = ChatCore(data_dir or tmp_path / name, servers or [server.address],
                        display_name=display_name or name)
        recorder = Recorder()
        core.subscribe(recorder)
        await asyncio.wait_for(core.start(), 10)
        cores.append(core)
        return core, recorder

    yield make
    for core in cores:
        await asyncio.wait_for(core.stop(), 10)
