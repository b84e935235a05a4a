"""Filling a ``DataTable`` with what peers wrote, safely and without losing the user's place.

A ``str`` cell is parsed as markup by ``DataTable``, so a peer named ``x[/]`` (or a bio with
brackets) would crash the screen: every cell goes in as plain ``Text``. Tables are refilled
on every chat event, so the cursor is put back on the row with the same key (not the same
index): pressing ``a`` accepts the request the user is looking at, not the one that moved
under the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

__all__ = ["fill_table", "plain"]


def plain(value: object) -> Text:
    """A cell (or label) shown exactly as written: never markup."""
    return value if isinstance(value, Text) else Text(str(value))


def fill_table(table: DataTable[object], rows: Sequence[tuple[str, Sequence[object]]]) -> None:
    """Replace the rows (``(key, cells)``), keeping the cursor on the same key if it is still
    there (else on the same index)."""
    old_key: str | None = None
    old_row = table.cursor_row
    if table.row_count:
        try:
            old_key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except CellDoesNotExist:  # the cursor was outside the rows: nothing to keep
            old_key = None
    table.clear()
    for key, cells in rows:
        table.add_row(*(plain(c) for c in cells), key=key)
    if not rows:
        return
    keys = [key for key, _ in rows]
    target = keys.index(old_key) if old_key in keys else min(old_row, len(keys) - 1)
    table.move_cursor(row=max(0, target), animate=False)
