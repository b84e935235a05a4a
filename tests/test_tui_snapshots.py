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
from textual.widgets import Button, Checkbox

from simplextui.tui.sample import SAMPLE_CONTACTS, SAMPLE_GROUPS, sample_group_link
from simplextui.tui.screens.group_link import GroupLinkDialog
from simplextui.tui.settings import ChatSettings, Settings
from tests.tui.helpers import SIZE, sample_app, settle


@pytest.fixture(autouse=True)
def no_user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the developer's own settings file."""
    path = tmp_path / "config" / "settings.toml"
    monkeypatch.setenv("SIMPLEXTUI_SETTINGS", str(path))
    return path


@pytest.fixture
def snap_compare(snap_compare: Any) -> Any:
    """The plugin's ``snap_compare``, which after ``run_before`` also waits until two renders
    a little apart agree: on a loaded machine a refresh still under way (a table refilled
    before its columns are measured again) could otherwise be captured."""
    def compare(app: Any, *, run_before: Any = None, **options: Any) -> bool:
        async def steady(pilot: Pilot[Any]) -> None:
            if run_before is not None:
                await run_before(pilot)
            previous = None
            for _ in range(40):
                await pilot.pause(0.05)
                current = pilot.app.export_screenshot()
                if current == previous:
                    return
                previous = current
        return bool(snap_compare(app, run_before=steady, **options))
    return compare


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


def test_narrow_terminal(snap_compare: Any, tmp_path: Path) -> None:
    """80x24: a narrower chat list (short filter hint), the conversation gets the room."""
    app = sample_app(tmp_path)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


# --- groups (issue 5) ---------------------------------------------------------------------


def _group_app(tmp_path: Path, **options: Any) -> Any:
    return sample_app(tmp_path, groups=SAMPLE_GROUPS, **options)


async def _open_teaparty(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("ctrl+f", *"teaparty", "enter")
    await settle(pilot)


def test_group_chat_list_and_conversation(snap_compare: Any, tmp_path: Path) -> None:
    """Groups in the list (# prefix, unread, last sender, an invitation); the group's messages
    with a coloured sender each and notice lines (joined, left)."""
    settings = Settings(chat=ChatSettings(mark_read=False))
    app = _group_app(tmp_path, settings=settings)
    assert snap_compare(app, terminal_size=SIZE, run_before=_open_teaparty)


def test_group_info(snap_compare: Any, tmp_path: Path) -> None:
    """Members with role and connection state (connected, introduced via alice, invited,
    left); invite, role, remove, link, leave, delete."""
    app = _group_app(tmp_path)

    async def info(pilot: Pilot[Any]) -> None:
        await _open_teaparty(pilot)
        await pilot.press("f4")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=info)


def test_group_link_with_qr_code(snap_compare: Any, tmp_path: Path) -> None:
    app = _group_app(tmp_path)

    async def link(pilot: Pilot[Any]) -> None:
        await _open_teaparty(pilot)
        await pilot.press("f4")
        await settle(pilot)
        # the link a real agent makes is random: show the dialog with a fixed one
        pilot.app.push_screen(GroupLinkDialog("teaparty", sample_group_link(), "member"))
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=link)


def test_group_link_none_yet(snap_compare: Any, tmp_path: Path) -> None:
    app = _group_app(tmp_path)

    async def link(pilot: Pilot[Any]) -> None:
        await _open_teaparty(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=link)


def test_group_invite_dialog(snap_compare: Any, tmp_path: Path) -> None:
    app = _group_app(tmp_path)

    async def invite(pilot: Pilot[Any]) -> None:
        await _open_teaparty(pilot)
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=invite)


def test_new_group(snap_compare: Any, tmp_path: Path) -> None:
    """Name, description, symmetric, contacts each with a role."""
    app = _group_app(tmp_path)

    async def new_group(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        await pilot.press(*"garden", "enter", *"Roses", "tab", "space")
        pilot.app.screen.query_one("#pick-0", Checkbox).value = True
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=new_group)


def test_group_invitation_join_prompt(snap_compare: Any, tmp_path: Path) -> None:
    app = _group_app(tmp_path)

    async def prompt(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+f", *"bookclub", "enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=prompt)


def test_group_info_symmetric_with_a_member_waiting_for_approval(snap_compare: Any,
                                                                 tmp_path: Path) -> None:
    app = _group_app(tmp_path)

    async def info(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("ctrl+f", *"croquet", "enter")
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)  # the member table is loaded by a worker: select after it
        await pilot.press("down", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=info)
