"""The notice line of a dialog: what would have been a toast while the dialog is open (toasts
never cover a dialog; see ``tui.toasts``). Docked at the bottom, above the dialog's keys."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

__all__ = ["DialogNotices", "NoticeLine"]

NoticeLine = tuple[str, str, str]  # severity, title, message
ICONS = {"error": "⚠ ", "warning": "⚠ ", "information": "• "}


class DialogNotices(Static):
    """The notices raised while the dialog is open, newest first (whole, then what fits)."""

    DEFAULT_CSS = """
    DialogNotices {
        dock: bottom;
        margin-bottom: 1;  /* docks do not stack: above the dialog's Footer, not over it */
        height: auto;
        max-height: 4;
        padding: 0 1;
        background: $panel;
        color: $text;
    }
    DialogNotices.-error { color: $text-error; }
    DialogNotices.-warning { color: $text-warning; }
    """
    KEPT: ClassVar[int] = 3

    def __init__(self) -> None:
        super().__init__(id="dialog-notices", markup=False)
        self.lines: list[NoticeLine] = []

    def add(self, severity: str, title: str, message: str) -> None:
        self.lines = [*self.lines, (severity, title, message)][-self.KEPT:]
        text = Text()
        for i, (sev, head, body) in enumerate(reversed(self.lines)):
            if i:
                text.append("\n")
            text.append(ICONS.get(sev, "• "))
            if head:
                text.append(f"{head}: ", "bold")
            text.append(" ".join(body.split()))
        self.set_class(severity == "error", "-error")
        self.set_class(severity == "warning", "-warning")
        self.update(text)
