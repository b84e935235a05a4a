"""A checkbox that reads at a glance: ``✓`` when ticked, blank when not.

Textual's ``Checkbox`` draws an ``X`` in both states (only its colour changes), so a list of
contacts to invite looked all ticked, or all unticked, depending on the theme.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox

__all__ = ["TickBox"]


class TickBox(Checkbox):
    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "✓" if self.value else " "
        return super()._button
