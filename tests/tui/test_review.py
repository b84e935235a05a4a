"""Findings of a usability review, each pinned by a test on the sample data (real ChatCore,
real SQLite, offline agent): what peers write is never markup, tables keep the user's place,
per-chat drafts, a footer that tells the truth, narrow terminals."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert
from textual.widgets import DataTable, TabbedContent

from simplextui.chat.core import DB_FILE
from simplextui.store.chat_models import ContactRequest
from simplextui.store.db import open_database
from simplextui.tui.clock import counter_ids
from simplextui.tui.data import ChatData
from simplextui.tui.messages import OpenChat
from simplextui.tui.sample import (
    SAMPLE_CONTACTS,
    SAMPLE_GROUPS,
    SampleContact,
    SampleGroup,
    SampleGroupItem,
    SampleMember,
    SampleMessage,
    bulk_messages,
    seed_sample,
)
from simplextui.tui.screens.contact_info import ContactInfoScreen
from simplextui.tui.screens.contacts import ContactsScreen
from simplextui.tui.screens.group_info import GroupInfoScreen
from simplextui.tui.widgets.chat_list import ChatOptions
from simplextui.tui.widgets.composer import Composer
from simplextui.tui.widgets.conversation import Conversation
from simplextui.tui.widgets.status_bar import StatusBar
from simplextui.tui.widgets.tickbox import TickBox
from tests.tui.helpers import CLOCK, SIZE, footer_text, sample_app_async, screen_text, settle

BRACKETS = "a[/] [b]not bold"  # invalid markup: shown as written, never a crash


async def _add_request(data_dir: Path, name: str, full: str, bio: str) -> None:
    db = await open_database(data_dir / DB_FILE)
    try:
        async with db.session() as s, s.begin():
            await s.execute(insert(ContactRequest), [{
                "request_id": f"r-{name}", "local_name": name, "display_name": name,
                "full_name": full, "bio": bio, "created_at": CLOCK.ms()}])
    finally:
        await db.close()


async def test_what_peers_write_is_shown_as_written(tmp_path: Path) -> None:
    """Names, profiles and messages with brackets: contacts, requests, info, group members,
    and the reply banner (which crashed the app on ``[/]``)."""
    peer = SampleContact("m[/]x", BRACKETS, BRACKETS, messages=(
        SampleMessage(False, BRACKETS, 60_000),))
    group = SampleGroup("club", members=(SampleMember("m[/]x", contact=True),))
    app = await sample_app_async(tmp_path, contacts=(peer,), groups=(group,))
    await _add_request(tmp_path, "z[/]", BRACKETS, BRACKETS)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+f", *"m[", "enter")
        await settle(pilot)
        await pilot.press("escape", "r")  # select the message, reply: the banner quotes it
        await settle(pilot)
        assert app.screen.query_one(Composer).draft is not None
        assert f"Replying to m[/]x: {BRACKETS}" in screen_text(app)
        await pilot.press("escape", "f4")
        await settle(pilot)
        assert isinstance(app.screen, ContactInfoScreen)
        assert "@m[/]x" in screen_text(app) and BRACKETS in screen_text(app)
        await pilot.press("escape")
        for tab in ("requests", "contacts"):
            app.action_contacts(tab)
            await settle(pilot)
            assert isinstance(app.screen, ContactsScreen)
            assert BRACKETS in screen_text(app)
        await pilot.press("escape")
        app.screen.post_message(OpenChat("#club"))
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, GroupInfoScreen)
        assert "m[/]x" in screen_text(app)
        assert app.return_code is None  # still running


async def test_requests_table_keeps_the_selected_request_on_refresh(tmp_path: Path) -> None:
    """The tables are refilled on every chat event; the cursor stays on the same request, so
    ``a`` accepts the one the user picked."""
    app = await sample_app_async(tmp_path, contacts=SAMPLE_CONTACTS[:1])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_contacts("requests")
        await settle(pilot)
        table = app.screen.query_one("#request-table", DataTable)
        assert table.row_count == 2
        await pilot.press("down")
        picked = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        await _add_request(tmp_path, "aaron", "", "")  # any event refills the table
        screen = app.screen
        assert isinstance(screen, ContactsScreen)
        screen.refresh_data()
        await settle(pilot)
        assert table.row_count == 3
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == picked
        await pilot.press("a")
        await settle(pilot)
        assert table.row_count == 2
        assert picked not in {str(k.value) for k in table.rows}
        assert app.screen.query_one(TabbedContent).active == "requests"


async def test_unsent_text_stays_with_its_chat(tmp_path: Path) -> None:
    """Text typed for alice is not carried into bob's chat (where Enter would send it to him);
    it comes back when alice's chat is opened again."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.open_chat == "alice"
        composer = app.screen.query_one(Composer)
        await pilot.press(*"half a thought")
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.open_chat == "bob" and composer.input.text == ""
        assert "✎ half a thought" in screen_text(app)  # alice's row says a draft waits
        await pilot.press(*"for bob")
        await pilot.press("alt+up")
        await settle(pilot)
        assert app.open_chat == "alice" and composer.input.text == "half a thought"
        assert "✎ for bob" in screen_text(app) and "✎ half" not in screen_text(app)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert composer.input.text == "for bob"


async def test_footer_follows_the_selected_message(tmp_path: Path) -> None:
    """Edit is offered on the user's own messages only; the footer changes as the selection
    moves (and message keys are offered in groups too)."""
    group = SampleGroup("club", members=(SampleMember("alice", contact=True),),
                        items=(SampleGroupItem("alice", "hello club", 60_000),))
    app = await sample_app_async(tmp_path, groups=(group,))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.post_message(OpenChat("alice"))
        await settle(pilot)
        await pilot.press("escape")  # the newest message of alice's chat: the user's own
        await settle(pilot)
        footer = await footer_text(pilot)
        assert "Reply" in footer and "Edit" in footer and "Copy" in footer
        await pilot.press("up", "up", "up", "up")  # past her deleted one to her reply
        await settle(pilot)
        conversation = app.screen.query_one(Conversation)
        assert conversation.selected is not None and not conversation.selected.mine
        footer = await footer_text(pilot)
        assert "Reply" in footer and "Edit" not in footer
        await pilot.press("i")  # back to the composer
        app.screen.post_message(OpenChat("#club"))
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        footer = await footer_text(pilot)
        assert "Reply" in footer and "React" in footer and "Edit" not in footer


async def test_dialogs_show_their_own_keys(tmp_path: Path) -> None:
    """A dialog's footer lists the dialog's keys, not those of the screen under it."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("escape", "plus")  # the reaction picker over the conversation
        await settle(pilot)
        footer = await footer_text(pilot)
        assert "Cancel" in footer and "Reply" not in footer


async def test_page_keys_in_the_composer_scroll_the_conversation(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    await bulk_messages(tmp_path, "alice", 200, CLOCK.ms())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conversation = app.screen.query_one(Conversation)
        assert conversation.is_at_bottom and app.focused is not None
        assert app.focused.id == "composer-input"
        await pilot.press("pageup")
        await settle(pilot)
        assert not conversation.is_at_bottom and app.focused.id == "composer-input"
        await pilot.press("pagedown")
        await settle(pilot)
        assert conversation.is_at_bottom


async def test_narrow_terminal_gives_the_conversation_room(tmp_path: Path) -> None:
    """At 80 columns the chat list is narrower and the empty-state hint wraps, not cut."""
    app = await sample_app_async(tmp_path, contacts=(), requests=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#chats").outer_size.width == 24
        text = screen_text(app)
        assert "one-time link" in text and "someone gave you" in text
        assert "Run: simplextui demo" in text


async def test_dialogs_fit_a_small_terminal(tmp_path: Path) -> None:
    """At 80x24 the contact info is taller than the screen: it scrolls, and every button can
    be reached and seen (they were cut off)."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert isinstance(app.screen, ContactInfoScreen)
        for button in ("#verify", "#unverify", "#open-chat", "#delete-contact"):
            app.screen.query_one(button).focus()
            await settle(pilot)
            region = app.screen.query_one(button).region
            assert region.width > 0 and region.height > 0
            assert app.screen.region.contains_region(region), button
            assert button != "#delete-contact" or "Delete contact" in screen_text(app)


async def test_chat_filter_shows_what_is_typed_and_esc_leaves_it(tmp_path: Path) -> None:
    """Ctrl+F: the filter stays one line and shows the typed text (focused, it grew a border
    that hid the text); Esc clears it and goes back to the composer; ↓ goes into the list."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+f", *"bob")
        await settle(pilot)
        box = app.screen.query_one("#chat-filter")
        assert app.focused is box and box.outer_size.height == 1
        assert "bob" in screen_text(app).splitlines()[0]
        assert [o.id for o in app.screen.query_one(ChatOptions)._options] == ["bob"]
        await pilot.press("down")
        assert isinstance(app.focused, ChatOptions)
        await pilot.press("ctrl+f", "escape")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "composer-input"
        assert app.screen.query_one(ChatOptions).option_count == 4


async def test_contacts_tabs_show_their_keys_in_the_footer(tmp_path: Path) -> None:
    """a/r on the Requests tab, o on the Contacts tab (it opens the chat); an empty Requests
    tab says so."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_contacts("requests")
        await settle(pilot)
        footer = await footer_text(pilot)
        assert "Accept" in footer and "Reject" in footer and "Open the chat" not in footer
        app.action_contacts("contacts")
        await settle(pilot)
        footer = await footer_text(pilot)
        assert "Open the chat" in footer and "Accept" not in footer
        await pilot.press("down", "o")  # the second contact, by name: bob
        await settle(pilot)
        assert not isinstance(app.screen, ContactsScreen) and app.open_chat == "bob"
        app.action_contacts("requests")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert "No pending requests" in screen_text(app)


async def test_every_group_row_has_its_own_last_message(tmp_path: Path) -> None:
    """The chat list's last item per group (one index seek per group): each group shows its
    own latest message, not one group's for all (a regression of the seek query)."""
    await seed_sample(tmp_path, CLOCK.ms(), ids=counter_ids("s"), groups=SAMPLE_GROUPS)
    db = await open_database(tmp_path / DB_FILE)
    try:
        rows = {r.key: r for r in await ChatData(db).chats()}
    finally:
        await db.close()
    assert rows["#teaparty"].last_text == "More tea?" and rows["#teaparty"].unread == 1
    assert rows["#croquet"].last_text == "Who invited the Queen?"
    assert rows["#bookclub"].last_text is None
    assert rows["alice"].last_text == "Bring an umbrella, just in case."


async def test_new_group_ticks_read_at_a_glance(tmp_path: Path) -> None:
    """A contact to invite shows ✓ when ticked and nothing when not (not an X in both)."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        box = app.screen.query_one("#pick-0", TickBox)
        assert "✓" not in box.render().plain and "X" not in box.render().plain
        box.toggle()
        await settle(pilot)
        assert "✓" in box.render().plain and box.value


async def test_status_bar_never_hides_a_problem(tmp_path: Path) -> None:
    """A connection problem is shown before the server (after it, the long note on the
    embedded server pushed it off the screen); the note goes when it does not fit."""
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = app.screen.query_one(StatusBar)
        status.embedded, status.server = True, "embedded server 127.0.0.1:5223"
        status.problem = "127.0.0.1:5223 unreachable"
        await settle(pilot)
        line = screen_text(app).splitlines()[-2]
        assert "⚠ 127.0.0.1:5223 unreachable" in line and "embedded server" in line
        assert "in this process" not in line
        await pilot.resize_terminal(120, 30)
        status.problem = ""
        await settle(pilot)
        assert "(in this process; contacts must reach this machine)" in screen_text(app)
