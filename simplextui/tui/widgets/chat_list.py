"""The chat list: contacts and groups (``#team``) by latest activity, with unread counts, the
last message (with its sender in groups), invitations to join, and a filter.

Typing while the list has focus filters it (the text goes to the filter box); Enter or a click
opens the highlighted chat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from simplextui.tui import keymap
from simplextui.tui.data import ChatSummary
from simplextui.tui.format import preview, short_time
from simplextui.tui.widgets.styling import foreground

__all__ = ["ChatFilter", "ChatList", "ChatOptions"]

FILTER_HINT = "🔍 filter chats  (ctrl+f)"
FILTER_HINT_SHORT = "🔍 filter (ctrl+f)"  # a narrow list (terminals under 100 columns)


_FILTER_KEYS = ("chats.filter_close", "chats.filter_list")


class ChatFilter(Input):
    """The filter box (Ctrl+F): Esc clears it and goes back to the composer, ↓ to the list."""

    BINDINGS: ClassVar[Any] = [b for b in keymap.bindings("chats")
                               if b.id in _FILTER_KEYS]  # type: ignore[union-attr,operator]

    def action_close_filter(self) -> None:
        self.value = ""
        self.post_message(ChatOptions.Compose())

    def action_to_list(self) -> None:
        self.screen.query_one(ChatOptions).focus()


class ChatOptions(OptionList):
    BINDINGS: ClassVar[Any] = [b for b in keymap.bindings("chats")
                               if b.id not in _FILTER_KEYS]  # type: ignore[union-attr,operator]

    class Compose(Message):
        pass

    def action_open(self) -> None:
        self.action_select()

    def action_compose(self) -> None:
        self.post_message(self.Compose())

    def on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character and event.character not in " ":
            event.stop()
            event.prevent_default()
            box = self.screen.query_one("#chat-filter", Input)
            box.focus()
            box.insert_text_at_cursor(event.character)
        elif event.key == "backspace":
            event.stop()
            box = self.screen.query_one("#chat-filter", Input)
            box.value = box.value[:-1]


class ChatList(Vertical):
    """Filter box and list; posts ``ChatList.Opened`` with the chat key (``alice``,
    ``#team``)."""

    COMPONENT_CLASSES: ClassVar[Any] = {"chat-list--badge", "chat-list--time", "chat-list--preview",
                         "chat-list--current", "chat-list--unread-name"}
    DEFAULT_CSS = """
    ChatList { width: 34; }
    ChatList > ChatFilter, ChatList > ChatFilter:focus {
        margin: 0; border: none; height: 1; padding: 0 1;
    }
    ChatList > OptionList { height: 1fr; border: none; padding: 0; }
    """

    class Opened(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[ChatSummary] = []
        self.current: str | None = None
        self.drafts: dict[str, str] = {}  # chat key -> unsent text (shown as the preview)
        self._now = datetime.now().astimezone()

    def compose(self) -> ComposeResult:
        yield ChatFilter(placeholder=FILTER_HINT, id="chat-filter")
        yield ChatOptions(id="chat-options")

    @property
    def options(self) -> ChatOptions:
        return self.query_one(ChatOptions)

    @property
    def filter_text(self) -> str:
        return self.query_one("#chat-filter", Input).value.strip().lower()

    def show(self, rows: list[ChatSummary], now: datetime) -> None:
        self.rows = rows
        self._now = now
        self._rebuild()

    def visible_rows(self) -> list[ChatSummary]:
        text = self.filter_text
        if not text:
            return self.rows
        return [r for r in self.rows
                if text in r.key.lower() or text in r.full_name.lower()
                or text in r.display_name.lower()]

    def _rebuild(self) -> None:
        options = self.options
        width = max(20, (options.scrollable_content_region.width or 32) - 2)
        rows = self.visible_rows()
        highlighted = self.current
        if options.highlighted is not None and options.option_count:
            option_id = options.get_option_at_index(options.highlighted).id
            highlighted = option_id or highlighted
        options.clear_options()
        options.add_options([Option(self._row_text(row, width), id=row.key) for row in rows])
        names = [row.key for row in rows]
        if highlighted in names:
            options.highlighted = names.index(highlighted)
        elif names:
            options.highlighted = 0

    def _row_text(self, row: ChatSummary, width: int) -> Text:
        def style(component: str, partial: bool = True) -> Style:
            return foreground(self, component, keep_background=True)

        when = short_time(row.last_ts, self._now) if row.last_text is not None else ""
        badge = f" {row.unread} " if row.unread else ""
        current = row.key == self.current
        title = Text()
        title.append("▌" if current else " ", style("chat-list--current", partial=True))
        name = row.key + (" ✓" if row.verified else "")
        room = max(4, width - 1 - len(when) - len(badge) - 2)
        title.append(name if len(name) <= room else name[: room - 1] + "…",
                     style("chat-list--unread-name", partial=True) if row.unread else "")
        title.append(" " * max(1, width - cell_len(title.plain) - len(when) - len(badge) - 1))
        title.append(when, style("chat-list--time", partial=True))
        if badge:
            title.append(" ")
            title.append(badge, style("chat-list--badge", partial=True))
        if row.group:
            last = _group_preview(row)
        elif row.status == "pending":
            last = "waiting for the connection…"
        elif row.status == "deleted":
            last = "left the conversation"
        elif row.last_text is None:
            last = "connected: say hello"
        elif row.last_deleted:
            last = "message deleted"
        else:
            last = ("you: " if row.last_mine else "") + row.last_text
        sub = Text()
        sub.append(" " if not current else "▌", style("chat-list--current", partial=True))
        draft = self.drafts.get(row.key)
        if draft:  # unsent text waits in this chat: say so, as messengers do
            sub.append("✎ ", style("chat-list--current", partial=True))
            sub.append(preview(draft, width - 4), style("chat-list--preview", partial=True))
        else:
            sub.append(preview(last, width - 2), style("chat-list--preview", partial=True))
        return Text("\n").join([title, sub])

    @on(Input.Changed, "#chat-filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self._rebuild()

    @on(Input.Submitted, "#chat-filter")
    def _filter_submit(self, event: Input.Submitted) -> None:
        event.stop()
        rows = self.visible_rows()
        if rows:
            self.post_message(self.Opened(rows[0].key))
            self.query_one("#chat-filter", Input).value = ""

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Opened(event.option.id))

    def set_current(self, name: str | None, drafts: dict[str, str] | None = None) -> None:
        self.current = name
        if drafts is not None:
            self.drafts = drafts
        self._rebuild()

    def neighbour(self, step: int) -> str | None:
        rows = self.visible_rows()
        if not rows:
            return None
        names = [r.key for r in rows]
        if self.current not in names:
            return names[0]
        return names[(names.index(self.current) + step) % len(names)]

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#chat-filter", Input).placeholder = (
            FILTER_HINT if self.size.width >= 30 else FILTER_HINT_SHORT)
        self._rebuild()


def _group_preview(row: ChatSummary) -> str:
    """The second line of a group's row: invitation, state, or the last message and sender."""
    if row.status == "invited":
        who = f"@{row.inviter} " if row.inviter else ""
        return f"✉ {who}invited you · Enter to join"
    if row.status == "accepted":
        return "joining…"
    if row.last_text is None:
        return {"left": "you left", "removed": "you were removed",
                "deleted": "the group was deleted"}.get(row.status, "no messages yet")
    if row.last_deleted:
        return "message deleted"
    if row.last_event:
        return row.last_text
    who = "you" if row.last_mine else (row.last_sender or "?")
    return f"{who}: {row.last_text}"
