"""The app on sample data (real ChatCore, real SQLite, offline agent): paging a long chat,
following new messages, themes, keymap, settings, palette, toasts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import insert

from simplextui.chat.core import DB_FILE
from simplextui.chat.events import MessageReceived
from simplextui.store.chat_models import ChatItem, Direction, ItemStatus
from simplextui.store.db import open_database
from simplextui.tui.clock import counter_ids
from simplextui.tui.messages import CoreEvent
from simplextui.tui.sample import bulk_messages
from simplextui.tui.screens.help import HelpScreen
from simplextui.tui.screens.main import MainScreen
from simplextui.tui.screens.settings import SettingsScreen
from simplextui.tui.settings import Settings
from simplextui.tui.widgets.composer import Composer
from simplextui.tui.widgets.conversation import MAX_LOADED, PAGE, Conversation
from tests.tui.helpers import CLOCK, SIZE, sample_app_async, settle


async def test_long_chat_loads_pages_as_you_scroll(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    await bulk_messages(tmp_path, "alice", 3_000, CLOCK.ms())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conversation = app.screen.query_one(Conversation)
        assert len(conversation.items) == PAGE and conversation.has_older
        assert conversation.is_at_bottom
        newest = conversation.items[-1]
        loaded = set()
        for _ in range(12):  # scroll to the top of the window again and again
            top = conversation.items[0]
            conversation.scroll_to(y=0, animate=False, immediate=True)
            await settle(pilot)
            loaded.add(len(conversation.items))
            # the message that was at the top stays where it was on screen
            assert conversation.items[0].id < top.id
        assert max(loaded) == MAX_LOADED
        assert conversation.has_newer and conversation.items[-1].id < newest.id
        await pilot.press("escape", "end")  # to the composer and back: jump to the newest
        await settle(pilot)
        assert conversation.items[-1].id == newest.id and not conversation.has_newer


async def _add_message(data_dir: Path, text: str, n: int) -> None:
    db = await open_database(data_dir / DB_FILE)
    try:
        async with db.session() as s, s.begin():
            await s.execute(insert(ChatItem), [{
                "contact_id": 1, "shared_msg_id": counter_ids(f"n{n}")(),
                "direction": Direction.RCV, "text": text, "status": ItemStatus.READ,
                "agent_msg_id": 1000 + n, "created_at": CLOCK.ms(), "sent_at": CLOCK.ms(),
                "updated_at": CLOCK.ms(), "edited": False, "deleted": False}])
    finally:
        await db.close()


async def test_follows_new_messages_only_at_the_bottom(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    await bulk_messages(tmp_path, "alice", 300, CLOCK.ms())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conversation = app.screen.query_one(Conversation)
        await _add_message(tmp_path, "first new", 1)
        conversation.new_messages()
        await settle(pilot)
        assert conversation.items[-1].text == "first new" and conversation.is_at_bottom
        conversation.scroll_to(y=conversation.max_scroll_y - 20, animate=False, immediate=True)
        await settle(pilot)
        where = conversation.scroll_y
        await _add_message(tmp_path, "second new", 2)
        conversation.new_messages()
        await settle(pilot)
        assert conversation.items[-1].text == "second new"
        assert conversation.scroll_y == where and not conversation.is_at_bottom


async def test_bad_theme_file_gives_one_toast_and_the_default(tmp_path: Path) -> None:
    settings_path = tmp_path / "config" / "settings.toml"
    themes = settings_path.parent / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.toml").write_text('name = "mine"\nprimary = "purple-ish"\n')
    app = await sample_app_async(tmp_path / "data", settings=Settings(theme="mine"),
                                 settings_path=settings_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        errors = [n for n in app.notices if n[0] == "error"]
        assert len(errors) == 1 and "mine.toml" in errors[0][2]
        assert app.theme == "simplex-dark"
        assert not settings_path.exists()  # the user's choice is not overwritten by a fallback


async def test_user_keymap_and_theme_choice_persist(tmp_path: Path) -> None:
    settings_path = tmp_path / "config" / "settings.toml"
    app = await sample_app_async(tmp_path / "data", settings=Settings(keymap={"app.help": "f9"}),
                                 settings_path=settings_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "f3")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        app.theme = "simplex-light"
        await settle(pilot)
        saved = tomllib.loads(settings_path.read_text())
        assert saved["theme"] == "simplex-light" and saved["keymap"] == {"app.help": "f9"}


async def test_palette_opens_a_chat(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"open chat @carol")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen) and app.screen.current_chat == "carol"


async def test_toasts_only_for_other_chats(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.open_chat == "alice"
        before = len(app.notices)
        app.post_message(CoreEvent(MessageReceived("@alice", "alice", "in the open chat",
                                                   "m000000000000001", CLOCK.ms())))
        app.post_message(CoreEvent(MessageReceived("@bob", "bob", "from another chat",
                                                   "m000000000000002", CLOCK.ms())))
        await settle(pilot)
        new = list(app.notices)[before:]
        assert [(title, text) for _, title, text in new] == [("@bob", "from another chat")]


async def test_edit_delete_and_copy_the_selected_message(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        conversation = app.screen.query_one(Conversation)
        await pilot.press("escape")  # select the newest message (our own)
        await settle(pilot)
        assert conversation.selected is not None
        assert conversation.selected.text == "Bring an umbrella, just in case."
        await pilot.press("e")  # the composer holds the text to edit
        await pilot.press("end", *" And boots.", "enter")
        await settle(pilot)
        edited = conversation.items[-1]
        assert (edited.text, edited.edited) == ("Bring an umbrella, just in case. And boots.",
                                                True)
        await pilot.press("escape", "y")
        await settle(pilot)
        assert app.notices[-1][2] == "Copied the message to the clipboard"
        await pilot.press("d")  # asks first
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert conversation.items[-1].deleted
        await pilot.press("up", "up", "e")  # a message from the contact: no edit
        await settle(pilot)
        assert conversation.selected is not None and not conversation.selected.mine
        assert app.screen.query_one(Composer).draft is None
        assert not conversation.check_action("edit", ())  # nor offered in the footer


async def test_palette_commands_for_the_open_chat(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"contact info")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ContactInfoScreen"


async def test_mouse_selects_chats_and_messages(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#chat-options", offset=(5, 3))  # the second chat: bob
        await settle(pilot)
        assert app.open_chat == "bob"
        conversation = app.screen.query_one(Conversation)
        await pilot.click(Conversation, offset=(20, conversation.size.height - 1))
        await settle(pilot)
        assert conversation.selected is not None
        assert conversation.selected.text == "Want to see it tonight?"


async def test_link_from_the_composer_shows_on_the_contacts_screen(tmp_path: Path) -> None:
    app = await sample_app_async(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"/c", "enter")
        await settle(pilot)
        screen = app.screen
        assert type(screen).__name__ == "ContactsScreen"
        assert screen._link is not None and screen._link.startswith("simplextui://i/")
