"""The status bar: who you are, which server (the embedded one says so), connection trouble."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from simplextui.tui.widgets.styling import foreground

__all__ = ["StatusBar"]


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; }
    """
    COMPONENT_CLASSES: ClassVar[Any] = {
        "status-bar--ok", "status-bar--embedded", "status-bar--problem"}

    user: reactive[str] = reactive("")
    server: reactive[str] = reactive("starting…")
    embedded: reactive[bool] = reactive(False)
    problem: reactive[str] = reactive("")

    def render(self) -> Text:
        """Who you are, then trouble (first: it must never be cut off), then the server; the
        note on the embedded server is left out when it would not fit."""
        def style(component: str, partial: bool = True) -> Style:
            return foreground(self, component)

        text = Text()
        if self.user:
            text.append(f"@{self.user}", "bold")
            text.append("  ")
        if self.problem:
            text.append("⚠ ", style("status-bar--problem", partial=True))
            text.append(self.problem, style("status-bar--problem", partial=True))
            text.append("   ")
        if self.embedded:
            text.append("● ", style("status-bar--embedded", partial=True))
            text.append(self.server)
            note = " (in this process; contacts must reach this machine)"
            if text.cell_len + len(note) <= self.content_region.width:
                text.append(note)
        else:
            text.append("● ", style("status-bar--ok", partial=True))
            text.append(self.server)
        return text
