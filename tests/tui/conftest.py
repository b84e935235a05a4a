"""Fixtures for the TUI tests: fixed clock and ids, sample data on real SQLite, no user config."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from simplextui.chat.core import ChatCore
    from simplextui.server.runner import EmbeddedServer
    from tests.chat.recorder import Recorder

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so that `tests.tui.*` helpers import under pytest
    sys.path.insert(0, _ROOT)


@pytest.fixture(autouse=True)
def no_user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the developer's own settings file."""
    path = tmp_path / "config" / "settings.toml"
    monkeypatch.setenv("SIMPLEXTUI_SETTINGS", str(path))
    return path


@pytest.fixture
async def peer(tmp_path: Path, server: EmbeddedServer) -> AsyncIterator[tuple[ChatCore, Recorder]]:
    """Bob: a real chat core (agent, SQLite file) on the test's queue server, with a recorder
    of his events, for the app under test to talk to."""
    from simplextui.chat.core import ChatCore
    from tests.chat.recorder import Recorder

    core = ChatCore(tmp_path / "bob", [server.address], display_name="bob")
    recorder = Recorder()
    core.subscribe(recorder)
    await asyncio.wait_for(core.start(), 20.0)
    yield core, recorder
    await asyncio.wait_for(core.stop(), 20.0)
