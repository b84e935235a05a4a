"""Headless: a command waiting on an unreachable server does not hold the commands after it.

In-process, with the real agent on a real queue server over TLS; the unreachable server is a
TCP listener on 127.0.0.1 that accepts connections and never answers (a black hole).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from simplextui.chat.core import ChatCore
from simplextui.server.runner import EmbeddedServer
from tests.headless.test_protocol_inprocess import Harness, harness  # noqa: F401

T = 10.0  # bound of every wait for a response that does not depend on the black hole
SLOW = 40.0  # bound for what waits for the black hole's connections to end


class BlackHole:
    """Accepts TCP connections and never answers, until ``close``."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in self.writers:
            writer.close()


@pytest.fixture
async def hole() -> AsyncIterator[BlackHole]:
    h = BlackHole()
    yield h
    h.close()


def line(corr_id: str, cmd: str) -> bytes:
    return json.dumps({"corrId": corr_id, "cmd": cmd}).encode() + b"\n"


async def response(h: Harness, seen: list[dict[str, Any]], corr_id: str,
                   timeout: float) -> dict[str, Any]:
    """Wait (bounded) until the response with ``corr_id`` is written."""

    async def find() -> dict[str, Any]:
        while True:
            seen.extend(h.lines())
            for obj in seen:
                if obj.get("corrId") == corr_id:
                    return obj
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(find(), timeout)


async def test_a_connect_to_an_unreachable_server_does_not_hold_later_commands(
        harness: Harness, hole: BlackHole) -> None:  # noqa: F811
    port = await hole.start()
    harness.lines()
    link = (await harness.send("/c"))["link"]
    unreachable = re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{port}/", link)
    assert unreachable != link
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()
    serving = asyncio.create_task(harness.headless.serve(lines))
    seen: list[dict[str, Any]] = []
    try:
        lines.put_nowait(line("slow", f"/c {unreachable}"))
        lines.put_nowait(line("fast", "/p"))
        lines.put_nowait(b"/contacts\n")  # no corrId: runs in order with the others
        fast = await response(harness, seen, "fast", T)
        assert fast["type"] == "profile"
        assert {"type": "contacts", "contacts": []} in seen or await _contacts(harness, seen)
        assert not [o for o in seen if o.get("corrId") == "slow"]  # still waiting on the hole
        hole.close()  # the unreachable server goes away: the join fails
        slow = await response(harness, seen, "slow", SLOW)
        assert slow["type"] == "error"
        lines.put_nowait(None)
        await asyncio.wait_for(serving, T)
    finally:
        serving.cancel()


async def _contacts(h: Harness, seen: list[dict[str, Any]]) -> bool:
    async def find() -> bool:
        while {"type": "contacts", "contacts": []} not in seen:
            seen.extend(h.lines())
            await asyncio.sleep(0.02)
        return True

    return await asyncio.wait_for(find(), T)


async def test_end_of_input_waits_for_commands_in_the_background(
        harness: Harness, hole: BlackHole) -> None:  # noqa: F811
    """EOF right after a request still gets its response (then the loop ends)."""
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()
    lines.put_nowait(line("inv", "/c"))
    lines.put_nowait(None)
    harness.lines()
    await asyncio.wait_for(harness.headless.serve(lines), T)
    out = [o for o in harness.lines() if o.get("corrId") == "inv"]
    assert len(out) == 1 and out[0]["type"] == "link"


async def test_a_stop_signal_does_not_wait_for_the_background(
        harness: Harness, hole: BlackHole) -> None:  # noqa: F811
    port = await hole.start()
    harness.lines()
    link = (await harness.send("/c"))["link"]
    unreachable = re.sub(r"@127\.0\.0\.1:\d+/", f"@127.0.0.1:{port}/", link)
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()
    lines.put_nowait(line("slow", f"/c {unreachable}"))
    lines.put_nowait(line("fast", "/p"))
    serving = asyncio.create_task(harness.headless.serve(lines))
    seen: list[dict[str, Any]] = []
    await response(harness, seen, "fast", T)
    harness.headless.interrupt()
    await asyncio.wait_for(serving, T)  # the black hole still holds the join: cancelled


async def test_the_same_link_twice_at_once_sends_one_request(
        tmp_path: Any, server: EmbeddedServer, harness: Harness) -> None:  # noqa: F811
    """Two requests for one address, running at the same time, send one request."""
    bob = ChatCore(tmp_path / "bob", [server.address], display_name="bob")
    await asyncio.wait_for(bob.start(), T)
    try:
        address = (await bob.execute("/ad")).link  # type: ignore[union-attr]
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        lines.put_nowait(line("one", f"/c {address}"))
        lines.put_nowait(line("two", f"/c {address}"))
        lines.put_nowait(None)
        harness.lines()
        await asyncio.wait_for(harness.headless.serve(lines), T)
        out = {o["corrId"]: o for o in harness.lines() if "corrId" in o}
        assert sorted(o["type"] for o in out.values()) == ["error", "ok"], out
        refused = next(o for o in out.values() if o["type"] == "error")
        assert "already" in refused["error"], refused
        pending = await harness.send("/invitations")
        assert len(pending["invitations"]) == 1
    finally:
        await asyncio.wait_for(bob.stop(), T)
