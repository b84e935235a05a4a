"""The composer: multiline input with history, tab completion and reply/edit modes.

Enter sends; Shift+Enter, Ctrl+J or Alt+Enter start a new line (terminals differ in which of
them they can tell apart from Enter). ↑ on the first line and ↓ on the last walk the input
history. Tab completes command names and @names.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static, TextArea

from simplextui.tui import keymap
from simplextui.tui.completion import Completer
from simplextui.tui.data import ItemRow
from simplextui.tui.format import preview

__all__ = ["Composer", "ComposerInput", "Draft"]

HISTORY_SIZE = 200


@dataclass(frozen=True, slots=True)
class Draft:
    """A reply to, or an edit of, one message of the open chat."""

    kind: str  # "reply" | "edit"
    row: ItemRow
    author: str


class ComposerInput(TextArea):
    BINDINGS = keymap.bindings("composer")

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Escape(Message):
        pass

    class Page(Message):
        """Page Up/Down while typing scroll the conversation (the composer is a line or two)."""

        def __init__(self, direction: int) -> None:
            super().__init__()
            self.direction = direction

    def __init__(self, completer: Completer, *, blink: bool = True,
                 id: str | None = None) -> None:
        super().__init__(id=id, soft_wrap=True, tab_behavior="focus", show_line_numbers=False,
                         compact=True, highlight_cursor_line=False,
                         placeholder="Message — Enter sends, Ctrl+J new line, /help for commands")
        self.cursor_blink = blink
        self.completer = completer
        self.input_history: list[str] = []
        self._history_pos: int | None = None
        self._stash = ""
        self._send_keys: frozenset[str] = frozenset({"enter"})
        self._newline_keys: frozenset[str] = frozenset({"ctrl+j"})

    def on_mount(self) -> None:
        user_keymap = getattr(self.app, "settings", None)
        mapping = user_keymap.keymap if user_keymap is not None else {}
        self._send_keys = keymap.keys_of("composer.send", mapping)
        self._newline_keys = keymap.keys_of("composer.newline", mapping)

    async def _on_key(self, event: events.Key) -> None:
        # Send and new line act here, in order with the typed characters: as bindings they
        # would run after keys that arrived in the same burst ("hi⏎there" must send "hi").
        if event.key in self._send_keys or event.key in self._newline_keys:
            event.stop()
            event.prevent_default()
            if event.key in self._send_keys:
                self.action_send()
            else:
                self.action_newline()
            return
        if event.key == "enter":
            event.prevent_default()  # never a newline by itself
        elif event.key != "tab":
            self.completer.reset()

    def action_send(self) -> None:
        text = self.text
        if not text.strip():
            return
        self.remember(text)
        self.post_message(self.Submitted(text))

    def remember(self, text: str) -> None:
        if not self.input_history or self.input_history[-1] != text:
            self.input_history.append(text)
            del self.input_history[:-HISTORY_SIZE]
        self._history_pos = None

    def action_newline(self) -> None:
        start, end = self.selection
        self.replace("\n", start, end, maintain_selection_offset=False)

    def action_complete(self) -> None:
        row, col = self.cursor_location
        line = self.document.get_line(row)
        completion = self.completer.complete(line[:col])
        if completion is None:
            if not self.text.strip():
                self.screen.focus_next()
            return
        self.replace(completion.text, (row, 0), (row, col))
        self.cursor_location = (row, len(completion.text))
        if len(completion.candidates) > 1:
            self.notify("  ".join(completion.candidates[:12]), title="Tab again for the next",
                        timeout=3)

    def action_history_previous(self) -> None:
        if self.cursor_location[0] > 0 or not self.input_history:
            self.action_cursor_up()
            return
        if self._history_pos is None:
            self._stash = self.text
            self._history_pos = len(self.input_history)
        if self._history_pos > 0:
            self._history_pos -= 1
            self._set(self.input_history[self._history_pos])

    def action_history_next(self) -> None:
        if self.cursor_location[0] < self.document.line_count - 1 or self._history_pos is None:
            self.action_cursor_down()
            return
        self._history_pos += 1
        if self._history_pos >= len(self.input_history):
            self._history_pos = None
            self._set(self._stash)
        else:
            self._set(self.input_history[self._history_pos])

    def _set(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    def action_select_messages(self) -> None:
        self.post_message(self.Escape())

    def action_page_conversation(self, direction: int) -> None:
        self.post_message(self.Page(direction))


class Composer(Vertical):
    DEFAULT_CSS = """
    Composer { height: auto; }
    Composer > #draft { display: none; height: 1; padding: 0 1; }
    Composer.-draft > #draft { display: block; }
    Composer > ComposerInput { height: auto; max-height: 8; min-height: 1; }
    """

    def __init__(self, completer: Completer, *, blink: bool = True,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._completer = completer
        self._blink = blink
        self.draft: Draft | None = None
        self._chat_ref: str | None = None
        self._unsent: dict[str | None, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="draft")
        yield ComposerInput(self._completer, blink=self._blink, id="composer-input")

    def on_resize(self) -> None:
        self._show_placeholder(self._chat_ref)

    def _show_placeholder(self, ref: str | None) -> None:
        """The hint in the empty composer, shortened rather than cut in a narrow one."""
        if ref is None:
            placeholder = "Type a command (/help), or @name message"
        else:
            placeholder = f"Message {ref} — Enter sends, Ctrl+J new line, /help for commands"
            if self.size.width and len(placeholder) + 2 > self.size.width:
                placeholder = f"Message {ref} — Enter sends, Ctrl+J new line"
        self.input.placeholder = Content(placeholder)  # a name with brackets is not markup

    @property
    def unsent(self) -> dict[str, str]:
        """Text typed but not sent in chats other than the open one, by chat reference."""
        return {ref: text for ref, text in self._unsent.items() if ref is not None}

    @property
    def input(self) -> ComposerInput:
        return self.query_one(ComposerInput)

    def set_chat(self, ref: str | None) -> None:
        """``ref``: the open chat as the command language names it (``@alice``, ``#team``).

        Unsent text stays with its chat (as in any messenger): switching away keeps it, coming
        back brings it back, so nothing typed for one chat is sent to another.
        """
        self._show_placeholder(ref)
        if ref == self._chat_ref:
            return
        self.cancel_draft()
        text = self.input.text
        if text.strip():
            self._unsent[self._chat_ref] = text
        else:
            self._unsent.pop(self._chat_ref, None)
        self._chat_ref = ref
        self.input.text = self._unsent.pop(ref, "")
        self.input.move_cursor(self.input.document.end)

    def start_draft(self, draft: Draft) -> None:
        self.draft = draft
        verb = "Replying to" if draft.kind == "reply" else "Editing"
        banner = Text.assemble((verb, "bold"), f" {draft.author}: {preview(draft.row.text, 60)}",
                               ("   (Esc cancels)", "dim"))  # never markup: peers write the text
        self.query_one("#draft", Static).update(banner)
        self.add_class("-draft")
        if draft.kind == "edit":
            self.input.text = draft.row.text
            self.input.move_cursor(self.input.document.end)
        self.input.focus()

    def cancel_draft(self) -> bool:
        had = self.draft is not None
        if self.draft is not None and self.draft.kind == "edit":
            self.input.text = ""
        self.draft = None
        self.remove_class("-draft")
        return had

    def clear(self) -> None:
        self.input.text = ""
        self.draft = None
        self.remove_class("-draft")
