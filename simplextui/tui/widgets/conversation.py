"""The conversation: a line-API ``ScrollView`` over a window of one chat's messages.

Only a window of messages (at most ``MAX_LOADED``) is in memory. Pages of ``PAGE`` messages are
read from the database (keyset paging on the message id) as the view nears either end of the
window, and the far end is dropped, so a chat of 100,000 messages opens as fast as a chat of
ten. Each message is drawn once per width into ``Strip``s (cached); ``render_line`` only picks
the strip of a line. New messages are followed only while the view is at the bottom.

In a group each message shows its sender (a colour per member) and notices (joined, left,
removed...) are drawn as a centred, dimmed line.
"""

from __future__ import annotations

import textwrap
import zlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, tzinfo
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from simplextui.tui import keymap
from simplextui.tui.data import ChatData, ChatKey, ItemRow
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.format import day_label, local_time
from simplextui.tui.widgets.render import MAX_NAME, MessageStyles, render_event, render_message
from simplextui.tui.widgets.styling import foreground

__all__ = ["Conversation"]

PAGE = 100
PREFETCH_SCREENS = 2  # read the next page when the view is this many screens from the end
MAX_LOADED = 600
SAME_SENDER_GAP_MS = 10 * 60_000
CACHE_SIZE = 4_000
MEMBER_COLOURS = 6  # conversation--member-1 ... -6

# line kinds
_ITEM, _DAY, _UNREAD, _MORE, _BEGIN = range(5)


@dataclass(frozen=True, slots=True)
class _Chat:
    data: ChatData
    key: ChatKey
    name: str
    my_name: str
    tz: tzinfo | None
    today: date
    generation: int


class Conversation(WorkerErrors, ScrollView, can_focus=True):
    """Messages of the open chat; select one (↑/↓ or click) to reply, edit, delete, react."""

    # selecting messages: their keys, how to get back to writing, Quit and Help fit 80 columns
    BINDINGS: ClassVar[Any] = [*keymap.bindings("chat"),
                               *keymap.quiet("app.contacts", "app.settings", "main.find_chat",
                                             "main.info")]
    COMPONENT_CLASSES: ClassVar[Any] = {
        "conversation--time", "conversation--me", "conversation--peer",
        "conversation--text", "conversation--meta", "conversation--quote",
        "conversation--quote-bar", "conversation--mark", "conversation--read",
        "conversation--reaction", "conversation--my-reaction", "conversation--day",
        "conversation--unread", "conversation--selected", "conversation--hint",
        "conversation--event", *(f"conversation--member-{i + 1}" for i in range(MEMBER_COLOURS)),
    }
    DEFAULT_CSS = """
    Conversation { background: $surface; }
    """

    class Action(Message):
        """The user asked for an action on the selected message (reply, edit...)."""

        def __init__(self, action: str, row: ItemRow) -> None:
            super().__init__()
            self.action = action
            self.row = row

    class Compose(Message):
        """Back to the composer."""

    class _Loaded(Message):
        def __init__(self, generation: int, kind: str, rows: list[ItemRow]) -> None:
            super().__init__()
            self.generation = generation
            self.kind = kind
            self.rows = rows

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._chat: _Chat | None = None
        self._generation = 0
        self.items: list[ItemRow] = []
        self._index: dict[str, int] = {}
        self.has_older = False
        self.has_newer = False
        self._loading: set[str] = set()
        self._lines: list[tuple[int, int, int]] = []  # (kind, item index, line in item)
        self._item_first_line: list[int] = []
        self._item_show: list[bool] = []
        self._cache: OrderedDict[tuple[object, ...], list[Strip]] = OrderedDict()
        self._styles: MessageStyles | None = None
        self._base: tuple[Style, Style] | None = None
        self._unread_from: int | None = None
        self.selected_msg_id: str | None = None
        self.hint = "No chat open.\nPick one on the left, or press F2 to add a contact."
        self._layout_width = 0
        self._layout_name_width = 5

    # --- public API -------------------------------------------------------------------------

    @property
    def chat_name(self) -> str | None:
        return self._chat.name if self._chat else None

    @property
    def selected(self) -> ItemRow | None:
        if self.selected_msg_id is None:
            return None
        index = self._index.get(self.selected_msg_id)
        return self.items[index] if index is not None else None

    @property
    def is_group(self) -> bool:
        return self._chat is not None and self._chat.key.group

    def open(self, data: ChatData, key: ChatKey, name: str, my_name: str, tz: tzinfo | None,
             today: date, unread_from: int | None = None) -> None:
        """Show the chat ``key`` (``name``: the contact's or the group's): its latest page, at
        the bottom."""
        self._generation += 1
        self._chat = _Chat(data, key, name, my_name, tz, today, self._generation)
        self.items, self._index = [], {}
        self.has_older = self.has_newer = False
        self._loading.clear()
        self._unread_from = unread_from
        self.selected_msg_id = None
        self._cache.clear()
        self.hint = "Loading…"
        self._relayout()
        self.refresh_bindings()
        self._load("latest")

    def close(self, hint: str | None = None) -> None:
        self._generation += 1
        self._chat = None
        self.items, self._index = [], {}
        self.has_older = self.has_newer = False
        self.selected_msg_id = None
        if hint is not None:
            self.hint = hint
        self._relayout()

    def new_messages(self) -> None:
        """Messages were added to this chat: load them unless the window is away from the end."""
        if self._chat is not None and not self.has_newer:
            self._load("newer")

    def changed(self, msg_ids: set[str]) -> None:
        """Messages were edited, deleted, reacted to or changed state: redraw them."""
        if self._chat is not None and any(m in self._index for m in msg_ids):
            self._load("changed", msg_ids)

    def set_today(self, today: date) -> None:
        if self._chat is not None and self._chat.today != today:
            self._chat = replace(self._chat, today=today)
            self._relayout()

    # --- loading ------------------------------------------------------------------------------

    def _load(self, kind: str, msg_ids: set[str] | None = None) -> None:
        chat = self._chat
        if chat is None or (kind in self._loading and kind != "changed"):
            return
        self._loading.add(kind)
        first = self.items[0].id if self.items else None
        last = self.items[-1].id if self.items else None

        async def load() -> None:
            if kind == "latest":
                rows = await chat.data.page_before(chat.key, None, PAGE)
            elif kind == "older":
                rows = await chat.data.page_before(chat.key, first, PAGE)
            elif kind == "newer":
                rows = await chat.data.page_after(chat.key, last or 0, PAGE)
            else:
                rows = await chat.data.by_msg_ids(chat.key, msg_ids or ())
            self.post_message(self._Loaded(chat.generation, kind, rows))

        self.run_worker(load(), group=f"conversation-{kind}", exit_on_error=False)

    def on_conversation__loaded(self, message: _Loaded) -> None:
        message.stop()
        self._loading.discard(message.kind)
        if self._chat is None or message.generation != self._chat.generation:
            return
        rows = message.rows
        if message.kind == "latest":
            self.items = rows
            self.has_older = len(rows) == PAGE
            self.has_newer = False
            self.hint = "No messages yet. Say hello!"
            self._relayout()
            self._scroll_to_start_position()
        elif message.kind == "older":
            self._prepend(rows)
        elif message.kind == "newer":
            self._append(rows)
        else:
            self._replace(rows)
        self._maybe_load_more()

    def _scroll_to_start_position(self) -> None:
        target = self.max_scroll_y
        if self._unread_from is not None:
            for y, (kind, _, _) in enumerate(self._lines):
                if kind == _UNREAD:
                    target = min(target, max(0, y - 1))
                    break
        self.scroll_to(y=target, animate=False, force=True)

    def _prepend(self, rows: list[ItemRow]) -> None:
        self.has_older = len(rows) == PAGE
        known = set(self._index)
        rows = [r for r in rows if r.msg_id not in known]
        if not rows or not self.items:
            self._relayout()
            return
        old_line = self._item_first_line[0]
        self.items = rows + self.items
        if len(self.items) > MAX_LOADED:
            self.items = self.items[:MAX_LOADED]
            self.has_newer = True
        self._relayout()
        # keep the message that was at the top of the window where it was on screen
        shift = self._item_first_line[len(rows)] - old_line
        self.scroll_to(y=self.scroll_y + shift, animate=False, force=True)

    def _append(self, rows: list[ItemRow]) -> None:
        known = set(self._index)
        rows = [r for r in rows if r.msg_id not in known]
        follow = self.is_at_bottom
        if len(rows) == PAGE:
            self.has_newer = True  # more after these: keep reading as the user scrolls
        if not rows:
            return
        self.items = self.items + rows
        shift = 0
        if len(self.items) > MAX_LOADED:
            drop = len(self.items) - MAX_LOADED
            old_line = self._item_first_line[drop] if drop < len(self._item_first_line) else 0
            self.items = self.items[drop:]
            self.has_older = True
            self._relayout()
            shift = old_line - self._item_first_line[0]
        else:
            self._relayout()
        if follow and not self.has_newer:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        elif shift:
            self.scroll_to(y=max(0, self.scroll_y - shift), animate=False, force=True)

    def _replace(self, rows: list[ItemRow]) -> None:
        follow = self.is_at_bottom
        for row in rows:
            index = self._index.get(row.msg_id)
            if index is not None:
                self.items[index] = row
        self._relayout()
        if follow:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def _maybe_load_more(self) -> None:
        if self._chat is None or not self.items:
            return
        ahead = PREFETCH_SCREENS * max(1, self.scrollable_content_region.height)
        if self.has_older and self.scroll_y < ahead:
            self._load("older")
        if self.has_newer and self.scroll_y > self.max_scroll_y - ahead:
            self._load("newer")

    @property
    def is_at_bottom(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._maybe_load_more()

    # --- layout -------------------------------------------------------------------------------

    def _message_styles(self) -> MessageStyles:
        if self._styles is None:
            def get(component: str) -> Style:
                return foreground(self, f"conversation--{component}")

            self._styles = MessageStyles(
                time=get("time"), me=get("me"), peer=get("peer"), text=get("text"),
                meta=get("meta"), quote=get("quote"), quote_bar=get("quote-bar"),
                mark=get("mark"), read=get("read"), reaction=get("reaction"),
                my_reaction=get("my-reaction"), event=get("event"),
                members=tuple(get(f"member-{i + 1}") for i in range(MEMBER_COLOURS)))
        return self._styles

    def _on_mount(self, event: events.Mount) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())

    def _restyle(self) -> None:
        self._styles = None
        self._base = None
        self._cache.clear()
        self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._base = None
        self._cache.clear()

    def _base_styles(self) -> tuple[Style, Style]:
        """The widget's style and the selected message's (computed once per style change)."""
        if self._base is None:
            base = self.rich_style
            self._base = (base, base + self.get_component_rich_style("conversation--selected"))
        return self._base

    def on_resize(self, event: events.Resize) -> None:
        if self.scrollable_content_region.width != self._layout_width:
            follow = self.is_at_bottom
            self._relayout()
            if follow:
                self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def _name_width(self) -> int:
        return self._layout_name_width

    def _compute_name_width(self) -> int:
        if self._chat is None:
            return 5
        if self._chat.key.group:
            longest = max((len(r.sender or "") for r in self.items if not r.event), default=0)
            return min(MAX_NAME, max(len(self._chat.my_name), longest, 3))
        return min(MAX_NAME, max(len(self._chat.my_name), len(self._chat.name), 3))

    def _author(self, row: ItemRow) -> str:
        assert self._chat is not None
        if row.mine:
            return self._chat.my_name
        return (row.sender or "?") if self._chat.key.group else self._chat.name

    def _strips(self, index: int, show_name: bool, width: int) -> list[Strip]:
        chat = self._chat
        assert chat is not None
        row = self.items[index]
        name_width = self._name_width()
        key = (row, show_name, width, name_width)
        strips = self._cache.get(key)
        if strips is not None:
            self._cache.move_to_end(key)
            return strips
        styles = self._message_styles()
        if row.event:
            strips = render_event(row, width=width, tz=chat.tz, styles=styles)
        else:
            name = self._author(row) if show_name else None
            name_style = None
            if chat.key.group and not row.mine:
                colour = zlib.crc32((row.sender or "").encode()) % MEMBER_COLOURS
                name_style = styles.members[colour]
            strips = render_message(row, width=width, name=name, name_width=name_width,
                                    peer_name=chat.name, my_name=chat.my_name, tz=chat.tz,
                                    console=self.app.console, styles=styles,
                                    name_style=name_style)
        self._cache[key] = strips
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return strips

    def _relayout(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        self._layout_width = width
        self._layout_name_width = self._compute_name_width()
        lines: list[tuple[int, int, int]] = []
        firsts: list[int] = []
        shows: list[bool] = []
        chat = self._chat
        if chat is not None and self.items and width > 0:
            lines.append((_MORE if self.has_older else _BEGIN, -1, 0))
            prev: ItemRow | None = None
            prev_day: date | None = None
            for i, row in enumerate(self.items):
                day = local_time(row.ts, chat.tz).date()
                if day != prev_day:
                    lines.append((_DAY, i, 0))
                if self._unread_from is not None and row.id == self._unread_from:
                    lines.append((_UNREAD, i, 0))
                show_name = (prev is None or prev.mine != row.mine or day != prev_day
                             or prev.event or prev.sender != row.sender
                             or row.ts - prev.ts > SAME_SENDER_GAP_MS)
                firsts.append(len(lines))
                shows.append(show_name)
                lines.extend((_ITEM, i, k) for k in range(len(self._strips(i, show_name, width))))
                prev, prev_day = row, day
            if self.has_newer:
                lines.append((_MORE, -1, 1))
        self._lines = lines
        self._item_first_line = firsts
        self._item_show = shows
        self._index = {row.msg_id: i for i, row in enumerate(self.items)}
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    # --- drawing ------------------------------------------------------------------------------

    def _top_padding(self) -> int:
        """Blank lines above a short chat, so that its messages sit at the bottom."""
        return max(0, self.scrollable_content_region.height - len(self._lines))

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base, selected = self._base_styles()
        line_y = round(self.scroll_y) + y - self._top_padding()
        if not self._lines:
            return self._hint_line(y, width, base)
        if not 0 <= line_y < len(self._lines):
            return Strip.blank(width, base)
        kind, index, sub = self._lines[line_y]
        if kind == _ITEM:
            strip = self._item_strip(index, sub, width)
            style = selected if self.items[index].msg_id == self.selected_msg_id else base
            return strip.apply_style(style).adjust_cell_length(width, style)
        if kind == _DAY:
            assert self._chat is not None
            day = local_time(self.items[index].ts, self._chat.tz).date()
            return self._banner(f" {day_label(day, self._chat.today)} ", width, base,
                                "conversation--day")
        if kind == _UNREAD:
            return self._banner(" new messages ", width, base, "conversation--unread")
        if kind == _BEGIN:
            name = self._chat.name if self._chat else ""
            label = f" the beginning of #{name} " if self.is_group else \
                f" the beginning of your conversation with @{name} "
            return self._banner(label, width, base, "conversation--hint")
        text = "loading older messages…" if sub == 0 else "loading newer messages…"
        return self._banner(f" {text} ", width, base, "conversation--hint")

    def _item_strip(self, index: int, sub: int, width: int) -> Strip:
        strips = self._strips(index, self._item_show[index], width)
        return strips[sub] if sub < len(strips) else Strip.blank(width)

    def _line_count(self, index: int) -> int:
        end = self._item_first_line[index + 1] if index + 1 < len(self._item_first_line) \
            else len(self._lines)
        return sum(1 for kind, item, _ in self._lines[self._item_first_line[index]:end]
                   if kind == _ITEM and item == index)

    def _banner(self, label: str, width: int, base: Style, component: str) -> Strip:
        style = foreground(self, component)
        room = max(0, width - cell_len(label) - 2)  # a blank column at each side
        left = room // 2
        text = f" {'─' * left}{label}{'─' * (room - left)} "
        return Strip([Segment(text, style)]).apply_style(base).adjust_cell_length(width, base)

    def _hint_line(self, y: int, width: int, base: Style) -> Strip:
        lines = [part for line in self.hint.split("\n")
                 for part in (textwrap.wrap(line, max(10, width - 2)) or [""])]
        top = max(0, (self.scrollable_content_region.height - len(lines)) // 2)
        if top <= y < top + len(lines):
            text = lines[y - top]
            style = base + foreground(self, "conversation--hint")
            pad = max(0, (width - len(text)) // 2)
            return Strip([Segment(" " * pad + text, style)]).adjust_cell_length(width, base)
        return Strip.blank(width, base)

    # --- selection and actions ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer tells the truth: editing is offered on this user's own messages only,
        deleting also on others' in a group (admins moderate; the core refuses the rest)."""
        row = self.selected
        if row is None or action not in ("edit", "delete"):
            return True
        if row.deleted or row.event:
            return False
        return row.mine or (action == "delete" and self.is_group)

    def _select(self, index: int) -> None:
        if not self.items:
            return
        index = max(0, min(index, len(self.items) - 1))
        self.selected_msg_id = self.items[index].msg_id
        first = self._item_first_line[index]
        last = first + self._line_count(index) - 1
        height = self.scrollable_content_region.height
        if first < self.scroll_y:
            self.scroll_to(y=max(0, first - 1), animate=False, force=True)
        elif last >= self.scroll_y + height:
            self.scroll_to(y=min(self.max_scroll_y, last - height + 1), animate=False, force=True)
        self.refresh()
        self.refresh_bindings()  # edit and delete depend on the message selected

    def _selected_index(self) -> int | None:
        return self._index.get(self.selected_msg_id) if self.selected_msg_id else None

    def action_select_previous(self) -> None:
        index = self._selected_index()
        if index is None:
            self._select(self._last_visible_index())
        else:
            self._select(index - 1)

    def action_select_next(self) -> None:
        index = self._selected_index()
        if index is None:
            self._select(self._last_visible_index())
        elif index + 1 >= len(self.items) and not self.has_newer:
            self.selected_msg_id = None
            self.refresh()
            self.post_message(self.Compose())
        else:
            self._select(index + 1)

    def _last_visible_index(self) -> int:
        bottom = min(len(self._lines) - 1, round(self.scroll_y) +
                     self.scrollable_content_region.height - 1)
        for y in range(bottom, -1, -1):
            kind, index, _ = self._lines[y]
            if kind == _ITEM:
                return index
        return len(self.items) - 1

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_scroll_top_loaded(self) -> None:
        self.scroll_to(y=0, animate=False, force=True)

    def action_jump_bottom(self) -> None:
        if self.has_newer and self._chat is not None:
            self.open(self._chat.data, self._chat.key, self._chat.name,
                      self._chat.my_name, self._chat.tz, self._chat.today)
        else:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def _act(self, action: str) -> None:
        row = self.selected
        if row is None:
            self.notify("Select a message first (↑/↓ or click)", severity="warning")
            return
        if row.event and action != "copy":
            self.notify("That is a notice, not a message", severity="warning")
            return
        self.post_message(self.Action(action, row))

    def action_reply(self) -> None:
        self._act("reply")

    def action_edit(self) -> None:
        self._act("edit")

    def action_delete(self) -> None:
        self._act("delete")

    def action_react(self) -> None:
        self._act("react")

    def action_copy(self) -> None:
        self._act("copy")

    def action_compose(self) -> None:
        self.selected_msg_id = None
        self.refresh()
        self.refresh_bindings()
        self.post_message(self.Compose())

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        y = round(self.scroll_y) + offset.y - self._top_padding()
        if 0 <= y < len(self._lines):
            kind, index, _ = self._lines[y]
            if kind == _ITEM:
                self._select(index)
                self.focus()

    def on_focus(self, event: events.Focus) -> None:
        if self.selected_msg_id is None and self.items:
            self._select(self._last_visible_index())
