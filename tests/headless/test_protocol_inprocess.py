"""The headless line protocol in-process, with the real agent on a real queue server:
framing, corrId, errors."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from simplextui.chat.core import ChatCore  # noqa: E402
from simplextui.headless import Headless, Output  # noqa: E402
from simplextui.server.runner import EmbeddedServer  # noqa: E402

T = 10.0  # bound of every start, stop and command


class Harness:
    def __init__(self, core: ChatCore) -> None:
        self.buffer = io.BytesIO()
        self.headless = Headless(core, Output(self.buffer))
        self._read = 0

    def lines(self) -> list[dict[str, Any]]:
        data = self.buffer.getvalue()
        new, self._read = data[self._read:], len(data)
        return [json.loads(line) for line in new.decode().splitlines()]

    async def send(self, line: str) -> dict[str, Any]:
        """Run a line; its response (the one object that is not an event)."""
        await asyncio.wait_for(self.headless.handle_line(line), T)
        out = [o for o in self.lines() if o["type"] not in ("message_status",)]
        assert len(out) == 1, out
        return out[0]


@pytest.fixture
async def harness(tmp_path: Path, server: EmbeddedServer) -> Any:
    core = ChatCore(tmp_path / "alice", [server.address], display_name="alice")
    h = Harness(core)
    core.subscribe(h.headless.on_event)
    await asyncio.wait_for(core.start(), T)
    yield h
    await asyncio.wait_for(core.stop(), T)


async def test_ready_then_commands(harness: Harness) -> None:
    assert harness.lines() == [{"type": "ready", "user": "alice"}]
    link = await harness.send("/c")
    assert link["type"] == "link" and link["kind"] == "invitation"
    assert link["link"].startswith("simplextui://i/")
    assert "corrId" not in link
    assert (await harness.send("/contacts")) == {"type": "contacts", "contacts": []}


async def test_json_requests_carry_corr_id(harness: Harness) -> None:
    harness.lines()
    out = await harness.send('{"corrId": "7", "cmd": "/p"}')
    assert out["type"] == "profile" and out["corrId"] == "7" and out["displayName"] == "alice"
    out = await harness.send('{"corrId": 8, "cmd": "/nope"}')
    assert out["type"] == "error" and out["corrId"] == 8 and "/help" in out["error"]
    out = await harness.send('{"cmd": "/help"}')
    assert out["type"] == "help" and "corrId" not in out


@pytest.mark.parametrize("line", [
    "{not json",
    '{"corrId": "1"}',
    '{"corrId": "1", "cmd": 5}',
    '{"corrId": [1], "cmd": "/p"}',
])
async def test_malformed_json_gets_an_error_and_the_loop_goes_on(harness: Harness,
                                                                 line: str) -> None:
    harness.lines()
    out = await harness.send(line)
    assert out["type"] == "error" and "malformed JSON" in out["error"]
    assert (await harness.send("/p"))["type"] == "profile"


async def test_blank_lines_get_no_response(harness: Harness) -> None:
    harness.lines()
    await asyncio.wait_for(harness.headless.handle_line("   \n"), T)
    assert harness.lines() == []


async def test_quit_stops(harness: Harness) -> None:
    harness.lines()
    assert (await harness.send("/quit"))["type"] == "ok"
    assert harness.headless.stopping.is_set()
