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
from simplextui.headless import MAX_LINE, Headless, Output  # noqa: E402
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


async def raw(harness: Harness, line: bytes) -> dict[str, Any]:
    """Run one line as read from stdin (bytes); its one response."""
    await asyncio.wait_for(harness.headless.handle_raw(line), T)
    out = harness.lines()
    assert len(out) == 1, out
    return out[0]


async def test_line_not_utf8_gets_an_error_and_the_loop_goes_on(harness: Harness) -> None:
    harness.lines()
    out = await raw(harness, b"/p caf\xe9\n")
    assert out["type"] == "error" and "UTF-8" in out["error"]
    assert (await raw(harness, b"/p\n"))["displayName"] == "alice"  # nothing changed


async def test_too_long_line_is_refused_with_its_corr_id(harness: Harness) -> None:
    harness.lines()
    line = json.dumps({"corrId": "big", "cmd": "@bob " + "y" * MAX_LINE}).encode() + b"\n"
    out = await raw(harness, line)
    assert out == {"type": "error", "corrId": "big", "error": out["error"]}
    assert "too long" in out["error"]
    plain = await raw(harness, b"@bob " + b"y" * MAX_LINE + b"\n")
    assert plain["type"] == "error" and "corrId" not in plain


async def test_line_limit_counts_bytes(harness: Harness) -> None:
    """64 KiB of input is bytes: 30,000 three-byte characters are too many."""
    harness.lines()
    out = await raw(harness, ("/bio " + "€" * 30_000).encode() + b"\n")
    assert out["type"] == "error" and "too long" in out["error"]


@pytest.mark.parametrize(("corr_id", "echoed"), [("7", True), (8, True), (1.5, True),
                                                 (True, False), ([1], False)])
async def test_corr_id_is_a_string_or_a_number(harness: Harness, corr_id: object,
                                               echoed: bool) -> None:
    harness.lines()
    out = await harness.send(json.dumps({"corrId": corr_id, "cmd": "/p"}))
    if echoed:
        assert out["type"] == "profile" and out["corrId"] == corr_id
    else:
        assert out["type"] == "error" and "corrId" not in out
        assert "corrId must be a string or a number" in out["error"]


def test_output_stays_json_with_a_lone_surrogate() -> None:
    buffer = io.BytesIO()
    Output(buffer).write({"type": "message", "text": "caf\udce9"})
    Output(buffer).write({"type": "ok"})
    lines = buffer.getvalue().decode("utf-8").splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["message", "ok"]
    assert json.loads(lines[0])["text"] == "caf\udce9"
