"""Drawing one message as lines of segments, for the conversation view (no widget state here).

    10:02  alice  Are we still on for the tea party tomorrow?
    10:12  robin  ▎alice: Are we still on for the tea party tomorrow?
                  Yes! I'll bring the jam tarts. (edited)                  ✓✓
                  👍 1  ❤️ 1

A gutter with the time and (when the sender changes) the name, the body wrapped to the space
left, delivery marks at the right edge of the first line for own messages, then reactions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import tzinfo

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from simplextui.store.chat_models import ItemStatus
from simplextui.tui.data import ItemRow
from simplextui.tui.format import local_time, preview, status_mark

__all__ = ["MARK_WIDTH", "MessageStyles", "gutter_width", "render_event", "render_message"]

MARK_WIDTH = 4
TIME_WIDTH = 5
MAX_NAME = 14


@dataclass(frozen=True)
class MessageStyles:
    time: Style
    me: Style
    peer: Style
    text: Style
    meta: Style
    quote: Style
    quote_bar: Style
    mark: Style
    read: Style
    reaction: Style
    my_reaction: Style
    event: Style = field(default_factory=lambda: Style(dim=True, italic=True))
    members: tuple[Style, ...] = ()  # sender colours in groups


def gutter_width(name_width: int) -> int:
    return 1 + TIME_WIDTH + 2 + name_width + 2


def _fit(text: str, width: int) -> str:
    return text if cell_len(text) <= width else text[: max(0, width - 1)] + "…"


def _reactions(row: ItemRow, styles: MessageStyles) -> Text:
    counts = Counter(r for r, _ in row.reactions)
    mine = {r for r, is_mine in row.reactions if is_mine}
    text = Text()
    for reaction, count in counts.items():
        if text:
            text.append("  ")
        style = styles.my_reaction if reaction in mine else styles.reaction
        text.append(f"{reaction} {count}", style)
    return text


def render_message(row: ItemRow, *, width: int, name: str | None, name_width: int,
                   peer_name: str, my_name: str, tz: tzinfo | None, console: Console,
                   styles: MessageStyles, name_style: Style | None = None) -> list[Strip]:
    """The lines of one message; ``name`` None hides the sender (same as the one above);
    ``name_style`` overrides the sender's colour (group members each have their own)."""
    gutter = gutter_width(name_width)
    body_width = max(8, width - gutter - MARK_WIDTH)
    body: list[Text] = []
    if row.quote_msg_id is not None:
        who = my_name if row.quote_mine else row.quote_from or peer_name
        quote = Text("▎", styles.quote_bar)
        quote.append(f"{who}: ", styles.quote + Style(bold=True))
        quote.append(preview(row.quote_text or "", 500), styles.quote)
        quote.truncate(body_width, overflow="ellipsis")
        body.append(quote)
    if row.deleted:
        text = Text("message deleted", styles.meta + Style(italic=True))
    else:
        text = Text(row.text, styles.text)
        if row.edited:
            text.append(" (edited)", styles.meta)
    first_text_line = len(body)
    body.extend(text.wrap(console, body_width, overflow="fold"))
    if row.reactions and not row.deleted:  # a deleted message keeps nothing to react to
        body.append(_reactions(row, styles))

    time_text = local_time(row.ts, tz).strftime("%H:%M")
    name_style = name_style or (styles.me if row.mine else styles.peer)
    mark = status_mark(row.status) if row.mine else ""
    mark_style = styles.read if row.status == ItemStatus.READ else styles.mark
    strips = []
    for i, line in enumerate(body):
        if i == 0:
            left = [Segment(" "), Segment(time_text, styles.time), Segment("  ")]
            shown = _fit(name or "", name_width)
            left.append(Segment(" " * (name_width - cell_len(shown))))
            left.append(Segment(shown, name_style))
            left.append(Segment("  "))
        else:
            left = [Segment(" " * gutter)]
        segments = list(line.render(console))
        used = sum(cell_len(s.text) for s in segments)
        if used < body_width:
            segments.append(Segment(" " * (body_width - used)))
        right = Segment(" " * MARK_WIDTH)
        if i == first_text_line and mark:
            right = Segment(" " + mark.ljust(MARK_WIDTH - 1), mark_style)
        strips.append(Strip([*left, *segments, right]))
    return strips


def render_event(row: ItemRow, *, width: int, tz: tzinfo | None, styles: MessageStyles
                 ) -> list[Strip]:
    """A notice (``bob joined``, ``carol was removed by alice``): one centred, dimmed line."""
    time_text = local_time(row.ts, tz).strftime("%H:%M")
    label = _fit(f"{row.text}  · {time_text}", max(1, width - 4))
    pad = max(0, (width - cell_len(label)) // 2)
    return [Strip([Segment(" " * pad), Segment(label, styles.event)]).adjust_cell_length(width)]
