"""Helpers for TUI tests: deterministic apps on sample data, waiting for the app to settle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from textual.worker import WorkerCancelled

from simplextui.tui.app import SimplexApp, create_app
from simplextui.tui.clock import FixedClock, counter_ids
from simplextui.tui.sample import SAMPLE_SERVER, sample_agent_factory, seed_sample
from simplextui.tui.settings import Settings

SIZE = (110, 34)
CLOCK = FixedClock(datetime(2025, 6, 3, 15, 30, tzinfo=UTC))


def sample_app(data_dir: Path, *, seed: bool = True, settings: Settings | None = None,
               settings_path: Path | None = None, **seed_options: Any) -> SimplexApp:
    """The app on the sample data (seeded now, outside any event loop) with the offline agent."""
    if seed:
        asyncio.run(seed_sample(data_dir, CLOCK.ms(), ids=counter_ids("s"), **seed_options))
    return _app(data_dir, settings, settings_path)


async def sample_app_async(data_dir: Path, *, settings: Settings | None = None,
                           settings_path: Path | None = None, **seed_options: Any
                           ) -> SimplexApp:
    """``sample_app`` for async tests (seeds on the running loop)."""
    await seed_sample(data_dir, CLOCK.ms(), ids=counter_ids("s"), **seed_options)
    return _app(data_dir, settings, settings_path)


def _app(data_dir: Path, settings: Settings | None, settings_path: Path | None) -> SimplexApp:
    return create_app(data_dir, [SAMPLE_SERVER], clock=CLOCK, ids=counter_ids("t"),
                      settings=settings or Settings(), settings_path=settings_path,
                      agent_factory=sample_agent_factory, blink=False)


def no_blink(app: Any) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


async def settle(pilot: Pilot[Any], rounds: int = 40) -> None:
    """Wait until the app has started and its background work and messages are done."""
    app = pilot.app
    for _ in range(rounds):
        await _workers_done(app)
        await pilot.pause(0.02)
        busy = [w for w in app.workers if w.is_running]
        if not busy and (getattr(app, "started", True) or len(app.screen_stack) > 1):
            break
    await pilot.pause(0.05)
    await _workers_done(app)
    await pilot.pause()
    no_blink(app)


async def _workers_done(app: Any) -> None:
    """Wait for the running workers; one cancelled meanwhile (an exclusive worker replaced by a
    newer one, e.g. a refresh) is done too, not a failure."""
    with contextlib.suppress(WorkerCancelled):
        await app.workers.wait_for_complete()


def screen_text(app: Any) -> str:
    """The screen as plain text (for assertions that do not need a snapshot)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def until(check: Callable[[], Any], pilot: Pilot[Any], timeout: float = 15.0) -> Any:
    """Poll ``check`` (while the app runs) until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await pilot.pause(0.05)


async def footer_text(pilot: Pilot[Any]) -> str:
    """The keys the footer of the screen on top offers, as text (once it has settled: the
    footer recomposes after the bindings change)."""
    from textual.widgets import Footer

    def read() -> str:
        keys = pilot.app.screen.query_one(Footer).query("FooterKey")
        return " ".join(f"{key.key_display} {key.description}" for key in keys)

    shown = read()
    for _ in range(20):
        await pilot.pause(0.05)
        again = read()
        if again == shown:
            return shown
        shown = again
    raise AssertionError("the footer did not settle")
