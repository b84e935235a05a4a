"""Groups through the app, against a real queue server on 127.0.0.1 and a headless-style ChatCore
peer: create a group from the new-group screen and invite a contact who joins, messages shown
with their sender, notice lines, the group info, leaving; and joining an invitation from the
chat list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Checkbox, DataTable, Input

from simplextui.chat.core import ChatCore
from simplextui.chat.events import (
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MemberDeclined,
    MemberLeft,
    MessageReceived,
    ReactionChanged,
)
from simplextui.server.runner import EmbeddedServer
from simplextui.tui.app import SimplexApp, create_app
from simplextui.tui.screens.dialogs import ConfirmDialog
from simplextui.tui.screens.group_dialogs import JoinDialog
from simplextui.tui.screens.group_info import GroupInfoScreen
from simplextui.tui.screens.main import MainScreen
from simplextui.tui.screens.new_group import NewGroupScreen
from simplextui.tui.settings import Settings
from simplextui.tui.widgets.conversation import Conversation
from tests.chat.helpers import connect, ok
from tests.chat.recorder import Recorder
from tests.tui.helpers import SIZE, screen_text, settle, until

T = 20.0  # every wait is bounded


@pytest.fixture
def bob(peer: tuple[ChatCore, Recorder]) -> tuple[ChatCore, Recorder]:
    return peer


def alice_app(tmp_path: Path, server: EmbeddedServer) -> SimplexApp:
    return create_app(tmp_path / "alice", [server.address], settings=Settings(),
                      settings_path=tmp_path / "settings.toml", display_name="alice",
                      blink=False)


async def started(app: SimplexApp, pilot: Any) -> tuple[ChatCore, Recorder]:
    """The app's own core (started by the app), with a recorder of its events."""
    await until(lambda: app.started, pilot, T)
    await settle(pilot)
    core = app.backend.core
    assert core is not None
    recorder = Recorder()
    core.subscribe(recorder)
    return core, recorder


def conversation(app: SimplexApp) -> Conversation:
    return app.screen_stack[0].query_one(Conversation)


async def test_create_group_invite_message_with_sender_and_leave(
        tmp_path: Path, server: EmbeddedServer, bob: tuple[ChatCore, Recorder]) -> None:
    bob_core, bob_events = bob
    app = alice_app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        alice = await started(app, pilot)
        await connect(alice, bob, T)
        await settle(pilot)

        # the new-group screen: name, description, bob ticked with a role
        await pilot.press("ctrl+g")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, NewGroupScreen)
        screen.query_one("#group-name", Input).value = "team"
        screen.query_one("#group-description", Input).value = "The A team"
        await until(lambda: screen.contacts == ["bob"], pilot, T)
        await settle(pilot)
        screen.query_one("#pick-0", Checkbox).value = True
        screen.query_one("#create-group", Button).press()

        # bob is invited (with the role picked: member) and joins
        invitation = await bob_events.wait(GroupInvitationReceived, T, group="team")
        assert (invitation.from_, invitation.role) == ("alice", "member")
        main = app.screen_stack[0]
        assert isinstance(main, MainScreen)
        await until(lambda: main.current_chat == "#team", pilot, T)
        await ok(bob_core, "/j team")
        await bob_events.wait(MemberConnectedEvent, T, group="team", member="alice")
        await alice[1].wait(MemberConnectedAll, T, group="team", member="bob")

        # the chat list shows the group; the composer sends to #team
        await until(lambda: any(r.key == "#team" for r in main.rows), pilot, T)
        await pilot.press(*"hello team", "enter")
        got = await bob_events.wait(MessageReceived, T, chat="#team")
        assert (got.from_, got.text) == ("alice", "hello team")

        # bob's message is shown with bob as its sender; the join is a notice line
        await ok(bob_core, "#team hi alice")
        await until(lambda: any(r.text == "hi alice" for r in conversation(app).items), pilot, T)
        row = next(r for r in conversation(app).items if r.text == "hi alice")
        assert row.sender == "bob" and not row.mine
        await until(lambda: any(r.event and "bob" in r.text for r in conversation(app).items),
                    pilot, T)
        await until(lambda: any(r.key == "#team" and r.last_sender == "bob" for r in main.rows),
                    pilot, T)
        await settle(pilot)
        lines = screen_text(app).splitlines()
        assert any("bob" in line and "hi alice" in line for line in lines)
        row_line = next(i for i, line in enumerate(lines) if line.startswith("▌#team"))
        assert "bob: hi alice" in lines[row_line + 1]  # the list: last message and sender

        # the group info lists bob, connected, with his role
        await pilot.press("f4")
        await settle(pilot)
        info = app.screen
        assert isinstance(info, GroupInfoScreen)
        await until(lambda: any(m.name == "bob" and m.status == "connected"
                                for m in info.members), pilot, T)
        table = info.query_one("#member-table", DataTable)
        assert [str(c) for c in table.get_row("bob")][1:] == ["member", "connected"]

        # leaving: confirmed, then bob learns it
        info.query_one("#leave-group", Button).press()
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        left = await bob_events.wait(MemberLeft, T, group="team")
        assert left.member == "alice"
        await until(lambda: any(r.key == "#team" and r.status == "left" for r in main.rows),
                    pilot, T)


async def test_join_an_invitation_from_the_chat_list(
        tmp_path: Path, server: EmbeddedServer, bob: tuple[ChatCore, Recorder]) -> None:
    bob_core, bob_events = bob
    app = alice_app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        alice = await started(app, pilot)
        await connect(alice, bob, T)
        await ok(bob_core, "/g club Book club")
        await ok(bob_core, "/a club alice")
        await alice[1].wait(GroupInvitationReceived, T, group="club")
        main = app.screen_stack[0]
        assert isinstance(main, MainScreen)
        await until(lambda: any(r.key == "#club" and r.invited for r in main.rows), pilot, T)
        await settle(pilot)
        assert "@bob invited you" in screen_text(app)

        # an invitation can be declined: the inviter learns it, the row goes
        await ok(bob_core, "/g chess")
        await ok(bob_core, "/a chess alice")
        await alice[1].wait(GroupInvitationReceived, T, group="chess")
        await until(lambda: any(r.key == "#chess" and r.invited for r in main.rows), pilot, T)
        main.open_chat("#chess")
        await settle(pilot)
        assert isinstance(app.screen, JoinDialog)
        app.screen.query_one("#decline", Button).press()
        declined = await bob_events.wait(MemberDeclined, T, group="chess")
        assert declined.member == "alice"
        await until(lambda: not any(r.key == "#chess" for r in main.rows), pilot, T)

        # opening the invitation asks to join; Join joins and opens the group
        main.open_chat("#club")
        await settle(pilot)
        assert isinstance(app.screen, JoinDialog)
        app.screen.query_one("#join", Button).press()
        await bob_events.wait(MemberConnectedAll, T, group="club", member="alice")
        await until(lambda: main.current_chat == "#club", pilot, T)

        await ok(bob_core, "#club welcome, alice")
        await until(lambda: any(r.text == "welcome, alice" and r.sender == "bob"
                                for r in conversation(app).items), pilot, T)

        # removed by the owner: a toast, a notice line, and the list says so
        await ok(bob_core, "/rm club alice")
        await until(lambda: any(r.key == "#club" and r.status == "removed" for r in main.rows),
                    pilot, T)
        assert any(title == "Removed" and "#club" in text for _, title, text in app.notices)
        await until(lambda: any(r.event and "removed" in r.text
                                for r in conversation(app).items), pilot, T)


async def test_reply_react_and_see_quotes_in_a_group(
        tmp_path: Path, server: EmbeddedServer, bob: tuple[ChatCore, Recorder]) -> None:
    """The message keys work in a group chat: a reply by selection quotes bob's message, a
    reaction reaches bob, and bob's reply quoting alice shows alice as the quoted author."""
    bob_core, bob_events = bob
    app = alice_app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        alice = await started(app, pilot)
        await connect(alice, bob, T)
        await ok(alice[0], "/g team")
        await ok(alice[0], "/a team bob")
        await bob_events.wait(GroupInvitationReceived, T, group="team")
        await ok(bob_core, "/j team")
        await alice[1].wait(MemberConnectedAll, T, group="team", member="bob")
        main = app.screen_stack[0]
        assert isinstance(main, MainScreen)
        await until(lambda: any(r.key == "#team" for r in main.rows), pilot, T)
        main.open_chat("#team")
        await until(lambda: main.current_chat == "#team", pilot, T)

        first = await ok(bob_core, "#team lunch at noon?")
        items = conversation(app)
        await until(lambda: any(r.text == "lunch at noon?" for r in items.items), pilot, T)
        await pilot.press("escape")  # select the latest message: bob's
        await settle(pilot)
        assert items.selected is not None and items.selected.msg_id == first.msg_id
        await pilot.press("plus")
        await settle(pilot)
        await pilot.press("1")
        reaction = await bob_events.wait(ReactionChanged, T, chat="#team")
        assert (reaction.from_, reaction.msg_id, reaction.reaction) == ("alice", first.msg_id,
                                                                        "👍")
        await pilot.press("r", *"yes please", "enter")
        answer = await bob_events.wait(MessageReceived, T, chat="#team", text="yes please")
        assert answer.quote is not None and (answer.quote.msg_id, answer.quote.from_) == (
            first.msg_id, "bob")

        await ok(bob_core, f"/reply #team {answer.msg_id} great")
        await until(lambda: any(r.text == "great" for r in items.items), pilot, T)
        row = next(r for r in items.items if r.text == "great")
        assert row.quote_msg_id == answer.msg_id and row.quote_mine
        mine = next(r for r in items.items if r.text == "yes please")
        assert mine.quote_from == "bob" and not mine.quote_mine
        await settle(pilot)
        assert "bob: lunch at noon?" in screen_text(app)  # the quote names its author
