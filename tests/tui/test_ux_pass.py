"""A brand-new user's pass through the app: toasts and dialogs, onboarding, the group link
dialog, keys and hints at 80x24 and 120x40 (each test pins one thing found)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Button, DataTable, Input, Label, Select, TabbedContent
from textual.widgets._toast import Toast

from simplextui.chat.events import MessageReceived
from simplextui.server.runner import EmbeddedServer
from simplextui.tui.app import create_app
from simplextui.tui.messages import CoreEvent
from simplextui.tui.sample import SAMPLE_GROUPS
from simplextui.tui.screens.contacts import ContactsScreen
from simplextui.tui.screens.dialogs import ConfirmDialog
from simplextui.tui.screens.group_info import GroupInfoScreen
from simplextui.tui.screens.group_link import GroupLinkDialog
from simplextui.tui.screens.main import MainScreen
from simplextui.tui.screens.new_group import NewGroupScreen
from simplextui.tui.screens.settings import SettingsScreen
from simplextui.tui.settings import Settings
from simplextui.tui.widgets.composer import Composer
from simplextui.tui.widgets.dialog_notices import DialogNotices
from tests.tui.helpers import (
    CLOCK,
    SIZE,
    footer_text,
    sample_app,
    sample_app_async,
    screen_text,
    settle,
    until,
)


def toasts(app: Any) -> list[str]:
    """The toasts drawn on the screen on top (their text)."""
    return [str(t.render()) for t in app.screen.query(Toast) if t.display]


def message_from(who: str, text: str, n: int) -> CoreEvent:
    return CoreEvent(MessageReceived(f"@{who}", who, text, f"m{n:015d}", CLOCK.ms()))


async def test_toasts_never_cover_a_dialog_and_none_is_lost(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path, requests=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        app.post_message(message_from("bob", "before the dialog", 1))
        await settle(pilot)
        assert any("before the dialog" in t for t in toasts(app))

        app.push_screen(ConfirmDialog("Delete the message?"))
        await settle(pilot)
        assert toasts(app) == []  # the toast on screen is taken down while the dialog is open
        app.post_message(message_from("carol", "while the dialog is open", 2))
        await settle(pilot)
        assert toasts(app) == []
        await app.run_command("/frobnicate")  # feedback on the dialog's own action: inside it
        await settle(pilot)
        assert toasts(app) == []
        line = app.screen.query_one(DialogNotices)
        assert "Command failed" in str(line.render()) and "frobnicate" in str(line.render())
        box = app.screen.query_one(".dialog-box")
        assert not box.region.overlaps(line.region)

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        shown = toasts(app)
        assert any("before the dialog" in t for t in shown)
        assert any("while the dialog is open" in t for t in shown)
        assert not any("frobnicate" in t for t in shown)  # already seen in the dialog

        dialog = ConfirmDialog("Go?")
        app.push_screen(dialog)
        await settle(pilot)
        app.notify("said as the dialog closes")  # e.g. "Not invited: @bob", then dismiss
        dialog.dismiss(True)
        await settle(pilot)
        assert any("said as the dialog closes" in t for t in toasts(app))


async def test_onboarding_shows_how_to_quit_and_hides_what_needs_a_profile(
        tmp_path: Path) -> None:
    app = sample_app(tmp_path, seed=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.id == "onboarding"
        await footer_text(pilot)  # the footer recomposes after the bindings change
        footer = screen_text(app).splitlines()[-1]
        assert "^q Quit" in footer and "f1 Help" in footer
        assert "Contacts" not in footer and "Settings" not in footer
        await pilot.press("f3", "f2", "ctrl+g", "ctrl+p")  # nothing to show before a profile
        await settle(pilot)
        assert app.screen.id == "onboarding" and len(app.screen_stack) == 2
        await pilot.press("ctrl+q")
        await settle(pilot)
    assert app.return_code == 0 and not app.started


async def test_group_link_dialog_shows_and_changes_the_role_the_link_grants(
        tmp_path: Path, server: EmbeddedServer) -> None:
    app = create_app(tmp_path / "alice", [server.address], settings=Settings(),
                     settings_path=tmp_path / "settings.toml", display_name="alice",
                     blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: app.started, pilot, 20.0)
        await app.run_command("/g team")
        await settle(pilot)
        info = GroupInfoScreen("team")
        app.push_screen(info)
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, GroupLinkDialog)
        roles = dialog.query_one("#link-role", Select)
        assert [value for _, value in roles._options] == ["member", "observer"]  # as /create
        roles.value = "observer"
        dialog.query_one("#create-group-link", Button).press()
        await until(lambda: dialog.link is not None, pilot, 20.0)
        await settle(pilot)
        assert dialog.role == "observer" and roles.display and roles.value == "observer"
        assert "joins as observer: reads" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert "has a group link: joins as observer (l)" in screen_text(app)

        await pilot.press("l")  # opened again: the role is read back, and can be changed
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, GroupLinkDialog) and dialog.role == "observer"
        roles = dialog.query_one("#link-role", Select)
        assert roles.value == "observer"
        assert not any("Command failed" in n[1] for n in app.notices)  # nothing set on open
        roles.value = "member"
        await until(lambda: dialog.role == "member", pilot, 20.0)
        await settle(pilot)
        assert "The group link now grants member" in str(
            dialog.query_one(DialogNotices).render())
        shown_link = await app.run_command("/show link #team", publish=False)
        assert getattr(shown_link, "role", None) == "member"  # the chat layer agrees
        await pilot.press("escape")
        await settle(pilot)
        assert "has a group link: joins as member (l)" in screen_text(app)
        # typed in the composer: the dialog shows the role /show link answers with
        info.dismiss(None)
        await settle(pilot)
        await pilot.press(*"/show link #team", "enter")
        await settle(pilot)
        assert isinstance(app.screen, GroupLinkDialog)
        assert app.screen.role == "member"
        # opened without its role (read from the database meanwhile): the picker's first
        # value must not be taken for a change
        await pilot.press("escape")
        await app.run_command("/set link role #team observer")
        link = shown_link.link  # type: ignore[union-attr]
        app.push_screen(GroupLinkDialog("team", link))
        await settle(pilot)
        assert isinstance(app.screen, GroupLinkDialog) and app.screen.role == "observer"
        again = await app.run_command("/show link #team", publish=False)
        assert getattr(again, "role", None) == "observer"
        # typed while another chat is open: still the dialog of the group named
        while len(app.screen_stack) > 1:
            app.pop_screen()
        await settle(pilot)
        await app.run_command("/g other")
        main = app.screen
        assert isinstance(main, MainScreen)
        main.open_chat("#other")
        await settle(pilot)
        assert main.current_chat == "#other"
        await pilot.press(*"/show link #team", "enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, GroupLinkDialog)
        assert (dialog.group, dialog.link, dialog.role) == ("team", link, "observer")


def shown(app: Any, widget: Any) -> str:
    """The words drawn in ``widget``'s place on screen (its lines joined)."""
    region = widget.region
    lines = screen_text(app).splitlines()[region.y:region.bottom]
    return " ".join(" ".join(line[region.x:region.right].split()) for line in lines).strip()


async def test_footers_of_secondary_screens_fit_80_columns(tmp_path: Path) -> None:
    """Contacts, settings, help and group info leave F2/F3 out of the footer (they still
    work) so that their own keys, Quit and Help fit."""
    app = await sample_app_async(tmp_path, groups=SAMPLE_GROUPS)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.action_contacts("requests")
        await settle(pilot)
        await footer_text(pilot)  # the footer recomposes after the bindings change
        footer = screen_text(app).splitlines()[-1]
        assert "a Accept" in footer and "^q Quit" in footer and "f1 Help" in footer
        assert "Contacts" not in footer and "Settings" not in footer
        await pilot.press("f3")  # not shown, still there
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("f2")  # back to the contacts screen below, not a second one
        await settle(pilot)
        assert [type(s) for s in app.screen_stack] == [MainScreen, ContactsScreen]
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("ctrl+f", *"teaparty", "enter", "f4")
        await settle(pilot)
        assert isinstance(app.screen, GroupInfoScreen)
        await footer_text(pilot)  # the footer recomposes after the bindings change
        footer = screen_text(app).splitlines()[-1]
        for hint in ("esc Back", "i Invite", "o Role", "x Remove", "l Group link", "^q Quit",
                     "f1 Help"):
            assert hint in footer
        buttons = app.screen.query_one("#group-main .button-row")
        assert all(b.region.right <= buttons.region.right for b in buttons.query(Button))


async def test_a_new_one_time_link_is_shown_with_its_copy_button_at_80x24(
        tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        title = app.screen.query_one("#invite .section", Label)
        assert shown(app, title) == "One-time invitation link"  # wrapped, not cut
        await pilot.press("enter")  # Create a one-time link
        copy = app.screen.query_one("#copy-link", Button)
        # once the link is made and laid out, the button is focused and scrolled into view
        await until(lambda: app.focused is copy and copy.region.y > 0
                    and copy.region.bottom <= 23, pilot, 20.0)
        assert copy.region.y > 0 and copy.region.bottom <= 23  # on screen, above the footer
        paste = app.screen.query_one("#paste-link", Input)
        assert paste.region.width >= 20  # beside the QR code: above its button, not crushed


async def test_selecting_messages_footer_fits_80_columns(tmp_path: Path) -> None:
    """Selecting messages (Esc from the composer): the message keys, the way back to writing,
    Quit and Help fit in 80 columns; the keys left out of the footer still work."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape", "up")
        await settle(pilot)
        await footer_text(pilot)  # the footer recomposes after the focus moved
        footer = screen_text(app).splitlines()[-1]
        for hint in ("esc Write", "r Reply", "d Delete", "y Copy", "^q Quit", "f1 Help"):
            assert hint in footer, footer
        await pilot.press("f2")  # not shown, still there
        await settle(pilot)
        assert isinstance(app.screen, ContactsScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "conversation"  # still selecting
        await pilot.press("escape")  # Esc: back to writing
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "composer-input"


async def test_composer_hint_is_shortened_not_cut_in_80_columns(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        composer = app.screen.query_one(Composer)
        hint = str(composer.input.placeholder)
        assert hint == "Message @alice — Enter sends, Ctrl+J new line"
        assert hint in screen_text(app)
    app = await sample_app_async(tmp_path / "wide")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        hint = str(app.screen.query_one(Composer).input.placeholder)
        assert hint.endswith("/help for commands") and hint in screen_text(app)


async def test_enter_in_the_new_group_description_goes_on(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        await pilot.press(*"garden", "enter", *"Roses", "enter")
        await settle(pilot)
        assert isinstance(app.screen, NewGroupScreen)
        assert app.focused is app.screen.query_one("#group-symmetric")


async def test_pending_tab_lists_unused_links_and_deletes_one(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2", "enter")  # Create a one-time link
        await settle(pilot)
        app.action_contacts("pending")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        table = screen.query_one("#pending-table", DataTable)
        assert table.row_count == 1
        kind, _, link = table.get_row_at(0)
        assert str(kind) == "one-time link" and str(link).startswith("simplextui://i/")
        assert "Pending (1)" in screen_text(app)
        assert "x Delete" in await footer_text(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen and table.row_count == 0
        assert "Pending (1)" not in screen_text(app)
        listed = await app.run_command("/invitations", publish=False)
        assert getattr(listed, "invitations", None) == []


async def test_f2_again_on_the_contacts_screen_goes_to_the_next_tab(tmp_path: Path) -> None:
    """The contact request toast says F2 → Requests: F2 gets there without the mouse."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        tabs = app.screen.query_one(TabbedContent)
        seen = [tabs.active]
        for _ in range(5):
            await pilot.press("f2")
            await settle(pilot)
            seen.append(tabs.active)
        assert seen == ["invite", "address", "requests", "pending", "contacts", "invite"]
        assert len(app.screen_stack) == 2
        app.action_contacts("requests")  # a tab asked for by name stays put
        await settle(pilot)
        assert tabs.active == "requests" and app.focused is app.screen.query_one(
            "#request-table")
