"""Pure pieces of the group UI: chat keys, composer lines, list previews, member states, the
name ``/g`` answers with."""

from __future__ import annotations

import pytest

from simplextui.chat.commands import parse_command
from simplextui.chat.responses import MemberView, OkResponse
from simplextui.tui.chatkeys import chat_ref, is_group_key
from simplextui.tui.compose import to_command
from simplextui.tui.data import ChatSummary
from simplextui.tui.screens.group_info import connection_label
from simplextui.tui.screens.new_group import created_name
from simplextui.tui.widgets.chat_list import _group_preview


def test_chat_keys() -> None:
    assert (chat_ref("alice"), chat_ref("#team")) == ("@alice", "#team")
    assert is_group_key("#team") and not is_group_key("alice") and not is_group_key(None)


def test_composer_sends_to_the_open_group() -> None:
    line = to_command("hello all", "#team")
    assert line == "#team hello all"
    assert type(parse_command(line)).__name__ == "SendGroup"


def _group(**kw: object) -> ChatSummary:
    base: dict[str, object] = dict(
        contact_id=1, name="team", display_name="Team", full_name="", status="connected",
        verified=False, unread=0, last_text=None, last_ts=0, last_mine=False,
        last_deleted=False, group=True)
    base.update(kw)
    return ChatSummary(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("row", "shown"), [
    (_group(status="invited", inviter="bob"), "✉ @bob invited you · Enter to join"),
    (_group(status="accepted"), "joining…"),
    (_group(), "no messages yet"),
    (_group(status="removed"), "you were removed"),
    (_group(last_text="hi", last_sender="bob"), "bob: hi"),
    (_group(last_text="hi", last_mine=True), "you: hi"),
    (_group(last_text="bob joined", last_sender="bob", last_event=True), "bob joined"),
])
def test_group_row_previews(row: ChatSummary, shown: str) -> None:
    assert row.key == "#team"
    assert _group_preview(row) == shown


def test_member_connection_states() -> None:
    assert connection_label(MemberView("me", "me", "owner", "connected", me=True)) == \
        "you · connected"
    assert connection_label(MemberView("bob", "bob", "member", "invited")) == \
        "invited, not joined yet"
    assert connection_label(MemberView("cat", "cat", "member", "introduced", via="alice")) == \
        "introduced, connecting · forwarded via alice"


def test_created_group_name_from_the_answer() -> None:
    answer = OkResponse("group #team_1 created; /a team_1 CONTACT invites a contact")
    assert created_name(answer, "team") == "team_1"
    assert created_name(OkResponse("done"), "team") == "team"
    assert created_name(OkResponse("group #x created", group="team_2"), "team") == "team_2"


def test_a_deleted_message_shows_no_reactions() -> None:
    from datetime import UTC

    from rich.console import Console
    from rich.style import Style

    from simplextui.tui.data import ItemRow
    from simplextui.tui.widgets.render import MessageStyles, render_message

    plain = Style()
    styles = MessageStyles(*(plain,) * 11)
    row = ItemRow(id=1, msg_id="m", mine=False, text="", status="new", ts=0, deleted=True,
                  reactions=(("👍", True), ("❤️", False)))

    def text_of(r: ItemRow) -> str:
        strips = render_message(r, width=60, name="bob", name_width=5, peer_name="bob",
                                my_name="me", tz=UTC, console=Console(width=60),
                                styles=styles)
        return "\n".join("".join(seg.text for seg in strip) for strip in strips)

    shown = text_of(row)
    assert "message deleted" in shown and "👍" not in shown and "❤️" not in shown
    from dataclasses import replace
    assert "👍 1" in text_of(replace(row, deleted=False, text="hi"))
