"""Help: every key binding (with the user's keymap applied) and the command language."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from simplextui.chat.commands import HELP
from simplextui.tui import keymap
from simplextui.tui.widgets.keys_footer import KeysFooter

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["HelpScreen", "keys_table"]

EXTRA_KEYS = (
    ("app", "ctrl+p", "Command palette (chats, links, themes, screenshot…)"),
    ("app", "tab / shift+tab", "Move between the chat list, messages and composer"),
    ("app", "mouse", "Click a chat or a message; wheel scrolls"),
    ("requests", "f2 (again)", "The next tab (or shift+tab to the tabs, then ←/→)"),
)
COMPOSER_NOTE = (
    "In the composer, text that starts like a command runs it; anything else is sent to the "
    "open chat (start with // to send a message beginning with /). Keys can be changed in "
    "settings.toml under [keymap], by the ids shown here."
)


def keys_table(user_keymap: dict[str, str]) -> Group:
    """Every key, by scope: keys, what they do, and the binding id to rebind them. Column
    widths come from ratios of the width, not from the content, so the columns line up from
    one scope to the next at any terminal width."""
    parts: list[RenderableType] = []
    for scope, title in keymap.SCOPES.items():
        parts.append(Text(title, style="bold underline"))
        table = Table.grid(padding=(0, 2), expand=True)
        table.add_column(style="bold", ratio=2, overflow="fold")
        table.add_column(ratio=4)
        table.add_column(style="dim", ratio=2, overflow="fold")
        for key in keymap.KEYS:
            if key.scope == scope:
                keys = keymap.effective_keys(key, user_keymap).replace(",", "  ")
                table.add_row(keys, key.description, key.id)
        for extra_scope, keys, text in EXTRA_KEYS:
            if extra_scope == scope:
                table.add_row(keys, text, "")
        parts.extend([table, Text()])
    return Group(*parts)


class HelpScreen(Screen[None]):
    BINDINGS = keymap.bindings("screen") + keymap.quiet("app.contacts", "app.settings")

    def __init__(self) -> None:
        super().__init__(id="help")

    def compose(self) -> ComposeResult:
        app: SimplexApp = self.app  # type: ignore[assignment]
        yield Static(" Help", classes="screen-title")
        with TabbedContent(id="help-tabs"):
            with TabPane("Keys", id="help-keys"), VerticalScroll():
                yield Static(keys_table(app.settings.keymap))
            with TabPane("Commands", id="help-commands"), VerticalScroll():
                yield Static(Text(COMPOSER_NOTE + "\n", style="italic"))
                yield Static(Text(HELP))
        yield KeysFooter()

    def action_back(self) -> None:
        self.dismiss(None)
