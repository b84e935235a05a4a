"""Headless: bad input gets a clear error and changes nothing (in-process, real agent and
queue server)."""

from __future__ import annotations

import asyncio
import io
import json
import threading

import pytest

from simplextui.chat.commands import CommandError, parse_command
from simplextui.headless import KEEP_LINE, MAX_LINE, READ_CHUNK, _read_lines
from tests.headless.test_protocol_inprocess import Harness, harness  # noqa: F401


@pytest.mark.parametrize("cmd", ["/p \ud800x", "/bio caf\udce9", "@bob hi \ud83d", "/g t\udfff"])
async def test_a_lone_surrogate_is_refused_before_anything_runs(
        harness: Harness, cmd: str) -> None:  # noqa: F811
    """JSON can carry a lone surrogate (``\\ud800``); no text with one can be stored, and a
    profile change with one used to fail inside its transaction ("internal error") after
    changing the profile in memory."""
    harness.lines()
    out = await harness.send(json.dumps({"corrId": "s", "cmd": cmd}))
    assert out["type"] == "error" and out["corrId"] == "s"
    assert "not valid Unicode: a lone surrogate" in out["error"], out
    profile = await harness.send("/p")
    assert profile["displayName"] == "alice" and profile["bio"] == ""


async def test_bad_links_get_clear_errors(harness: Harness) -> None:  # noqa: F811
    harness.lines()
    link = (await harness.send("/c"))["link"]
    cases = {
        "/c http://example.com": "must start with simplextui://",
        "/c simplextui://i/": "incomplete",
        "/c simplextui://x/abc": "unknown link kind",
        "/c simplextui://" + "A" * 60_000: "too long",
        "/c " + link[:-3]: "damaged",
        "/c " + link: "your own",
    }
    for line, expected in cases.items():
        out = await harness.send(line)
        assert out["type"] == "error" and expected in out["error"], (line[:40], out)
    pending = await harness.send("/invitations")
    assert [p["link"] for p in pending["invitations"]] == [link]  # nothing else was made


def test_an_overlong_contact_name_is_refused_shortly() -> None:
    with pytest.raises(CommandError) as exc:
        parse_command("@" + "q" * 5000 + " hi")
    assert "at most 80 characters" in str(exc.value) and len(str(exc.value)) < 200
    assert parse_command("@" + "q" * 80 + " hi") is not None


async def test_a_huge_line_is_not_kept_whole_and_the_next_line_runs(
        harness: Harness) -> None:  # noqa: F811
    """The stdin reader keeps at most ``KEEP_LINE`` bytes of one line (plus a read chunk):
    a client writing 8 MiB without a line end does not make the process hold 8 MiB."""
    huge = json.dumps({"corrId": "huge", "cmd": "@bob " + "y" * (8 * 1024 * 1024)}).encode()
    stream = io.BytesIO(huge + b"\n/p\n")
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    reader = threading.Thread(target=_read_lines,
                              args=(stream, asyncio.get_running_loop(), queue))
    reader.start()
    first = await asyncio.wait_for(queue.get(), 10)
    second = await asyncio.wait_for(queue.get(), 10)
    assert await asyncio.wait_for(queue.get(), 10) is None
    reader.join(10)
    assert first is not None and KEEP_LINE < len(first) <= KEEP_LINE + READ_CHUNK + 1
    assert second == b"/p\n"
    harness.lines()
    await asyncio.wait_for(harness.headless.handle_raw(first), 10)
    out = harness.lines()
    assert out == [{"type": "error", "error": f"line too long (over {KEEP_LINE} bytes, at most "
                                              f"{MAX_LINE})"}]
