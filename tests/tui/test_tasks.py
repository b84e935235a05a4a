"""Whole tasks through the app, against a real queue server on 127.0.0.1 and a headless-style
ChatCore peer (the same core and command language headless mode drives): onboarding, connecting
by a one-time link and by the address, messages both ways, replies, reactions, receipts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Button, DataTable, Input

from simplextui.chat.core import ChatCore
from simplextui.chat.events import (
    ContactConnected,
    MessageReceived,
    ReactionChanged,
)
from simplextui.chat.responses import ErrorResponse
from simplextui.server.runner import EmbeddedServer
from simplextui.tui.app import SimplexApp, create_app
from simplextui.tui.screens.contacts import ContactsScreen
from simplextui.tui.screens.main import MainScreen
from simplextui.tui.settings import Settings
from simplextui.tui.widgets.conversation import Conversation
from tests.chat.recorder import Recorder
from tests.tui.helpers import SIZE, settle, until

T = 15.0  # every wait is bounded




def app_for(tmp_path: Path, server: EmbeddedServer, **kw: Any) -> SimplexApp:
    return create_app(tmp_path / "alice", [server.address], settings=Settings(),
                      settings_path=tmp_path / "settings.toml", blink=False, **kw)


def texts(app: SimplexApp) -> list[str]:
    return [row.text for row in app.screen_stack[0].query_one(Conversation).items]


async def test_onboarding_connect_and_chat_both_ways(tmp_path: Path, server: EmbeddedServer,
                                                    peer: tuple[ChatCore, Recorder]) -> None:
    bob, bob_events = peer
    app = app_for(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # first start: onboarding asks for a name, nothing else
        assert app.screen.id == "onboarding"
        await pilot.press(*"alice", "enter", *"Alice Liddell", "enter")
        await until(lambda: app.started, pilot)
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        assert app.backend.core is not None and app.backend.core.user_name == "alice"

        # a one-time link from the contacts screen, joined by the peer
        await pilot.press("f2")
        await settle(pilot)
        contacts = app.screen
        assert isinstance(contacts, ContactsScreen)
        contacts.query_one("#create-link", Button).press()
        link = await until(lambda: contacts._link, pilot)
        assert link.startswith("simplextui://i/")
        assert not isinstance(await bob.execute(f"/c {link}"), ErrorResponse)
        await bob_events.wait(ContactConnected, T)
        await pilot.press("escape")
        main = app.screen
        assert isinstance(main, MainScreen)
        await until(lambda: main.current_chat == "bob", pilot)

        # the app sends: Enter in the composer
        await pilot.press(*"hello bob", "enter")
        got = await bob_events.wait(MessageReceived, T)
        assert (got.chat, got.text) == ("@alice", "hello bob")

        # the peer answers with a quoted reply and marks read; the app shows both
        await bob.execute(f"/reply @alice {got.msg_id} hi alice")
        await bob.execute("/read @alice")
        conversation = main.query_one(Conversation)
        await until(lambda: "hi alice" in texts(app), pilot)
        reply = next(r for r in conversation.items if r.text == "hi alice")
        assert reply.quote_msg_id == got.msg_id and reply.quote_mine
        await until(lambda: next(r for r in conversation.items if r.text == "hello bob")
                    .status == "read", pilot)

        # react to the peer's message from the keyboard: Esc, select, +, 1 (👍)
        await pilot.press("escape")
        await settle(pilot)
        assert conversation.selected is not None and conversation.selected.text == "hi alice"
        await pilot.press("plus")
        await settle(pilot)
        await pilot.press("1")
        reaction = await bob_events.wait(ReactionChanged, T)
        assert (reaction.msg_id, reaction.reaction, reaction.add) == (reply.msg_id, "👍", True)

        # reply by selection: the composer sends /reply with the message id
        await pilot.press("r", *"see you", "enter")
        answer = await bob_events.wait(MessageReceived, T, text="see you")
        assert answer.quote is not None and answer.quote.msg_id == reply.msg_id

        # a message to another chat from the composer: the command language as is
        await pilot.press(*"@bob typed with a command", "enter")
        await bob_events.wait(MessageReceived, T, text="typed with a command")


async def test_contact_request_through_the_address(tmp_path: Path, server: EmbeddedServer,
                                                  peer: tuple[ChatCore, Recorder]) -> None:
    bob, bob_events = peer
    app = app_for(tmp_path, server, display_name="alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_contacts("address")
        await settle(pilot)
        contacts = app.screen
        assert isinstance(contacts, ContactsScreen)
        contacts.query_one("#create-address", Button).press()
        address = await until(lambda: contacts._address, pilot)
        assert address.startswith("simplextui://a/")
        await bob.execute(f"/c {address}")
        table = contacts.query_one("#request-table", DataTable)
        await until(lambda: table.row_count == 1, pilot)
        contacts.show_tab("requests")
        await settle(pilot)
        await pilot.press("a")
        await bob_events.wait(ContactConnected, T)
        await until(lambda: any(n[1] == "New contact" for n in app.notices), pilot)
        await pilot.press("escape")
        await until(lambda: app.open_chat == "bob", pilot)
        await bob.execute("@alice thanks for accepting")
        await until(lambda: "thanks for accepting" in texts(app), pilot)


async def test_failures_are_messages_not_crashes(tmp_path: Path, server: EmbeddedServer) -> None:
    app = app_for(tmp_path, server, display_name="alice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(*"hello", "enter")  # no chat open
        assert app.notices[-1][0] == "warning" and "Open a chat first" in app.notices[-1][2]
        await pilot.press("ctrl+u", *"@nobody hi", "enter")  # the text was kept: clear it
        await until(lambda: app.notices[-1][0] == "error", pilot)
        assert "no contact @nobody" in app.notices[-1][2]
        app.action_contacts("invite")
        await settle(pilot)
        box = app.screen.query_one("#paste-link", Input)
        box.value = "simplextui://i/not-a-link"
        app.screen.query_one("#connect", Button).press()
        await until(lambda: app.notices[-1][0] == "error", pilot)
        # the server goes away: commands fail with a message, the app stays up
        await server.stop()
        app.screen.query_one("#create-link", Button).press()
        await until(lambda: app.notices[-1][0] == "error", pilot, timeout=30)
        assert app.is_running
