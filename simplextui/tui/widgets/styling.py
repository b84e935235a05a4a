"""Component styles for line-API and renderable drawing.

A partial component style cannot resolve colours with alpha (``$text-muted`` is text at 60%
over the background), and a full one carries the widget's background, which would paint over
highlights. ``foreground`` takes the full style and drops its background.
"""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget

__all__ = ["foreground"]


def foreground(widget: Widget, component: str, *, keep_background: bool = False) -> Style:
    full = widget.get_component_rich_style(component)
    if keep_background:
        partial = widget.get_component_rich_style(component, partial=True)
        if partial.bgcolor is not None:
            return full
    return Style(color=full.color, bold=full.bold, dim=full.dim, italic=full.italic,
                 underline=full.underline, reverse=full.reverse, strike=full.strike)
