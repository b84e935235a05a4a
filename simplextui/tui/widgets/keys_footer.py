"""The footer of every screen: Textual's, compact under 100 columns so more keys fit."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

__all__ = ["NARROW", "KeysFooter"]

NARROW = 100  # columns; the app's "-narrow" breakpoint


class KeysFooter(Footer):
    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < NARROW
