"""SVG snapshots of every screen and state that matters, at 110x34, fixed clock and ids.

The states are built from a real ChatCore on real SQLite data (the sample history is written
through the store); the agent is the offline sample agent, so nothing leaves the process.
Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs
before committing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Button

from simplextui.tui.sample import SAMPLE_CONTACTS
from simplextui.tui.settings import ChatSettings, Settings
from tests.tui.helpers import SIZE, sample_app, settle


@pytest.fixture(autouse=True)
def no_user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the developer's own settings file."""
    path = tmp_path / "config" / "settings.toml"
    monkeypatch.setenv("SIMPLEXTUI_SETTINGS", str(path))
    return path


def test_onboarding(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path, seed=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_empty_app(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path, contacts=(), requests=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_chat_list_with_unread_and_conversation(snap_compare: Any, tmp_path: Path) -> None:
    """Unread badges, previews; the open chat has replies, reactions, edits, a deletion."""
    app = sample_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_unread_chat_opened(snap_compare: Any, tmp_path: Path) -> None:
    settings = Settings(chat=ChatSettings(mark_read=False))  # keep the badge for the shot
    app = sample_app(tmp_path, settings=settings)

    async def open_carol(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+f", *"car", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_carol)


def test_reply_to_selected_message(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path)

    async def reply(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("escape", "up", "up", "up", "r")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=reply)


def test_contacts_with_qr_code(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path)

    async def create_link(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        pilot.app.screen.query_one("#create-link", Button).press()
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=create_link)


def test_contact_requests(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path)

    async def requests(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.action_contacts("requests")  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=requests)


def test_contact_info(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path)

    async def info(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=info)


def test_settings(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path, contacts=SAMPLE_CONTACTS[:1])

    async def settings(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=settings)


def test_help(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path, contacts=SAMPLE_CONTACTS[:1])

    async def help_screen(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=help_screen)


def test_command_palette(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path)

    async def palette(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+p", *"open")
        await settle(pilot)
        await pilot.pause(0.3)  # the palette searches in the background
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=palette)


def test_error_toast(snap_compare: Any, tmp_path: Path) -> None:
    """A failed command is a message on screen, not a crash."""
    app = sample_app(tmp_path, contacts=SAMPLE_CONTACTS[:1], requests=False)

    async def bad_command(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*"/frobnicate", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=bad_command)


def test_light_theme(snap_compare: Any, tmp_path: Path) -> None:
    app = sample_app(tmp_path, settings=Settings(theme="simplex-light"))
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)
