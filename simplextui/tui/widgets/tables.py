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
    cells = [(key, [plain(c) for c in row]) for key, row in rows]
    if _holds(table, cells):
        return  # refreshed with what it shows: nothing to redraw (and no stale header, below)
    old_key: str | None = None
    old_row = table.cursor_row
    if table.row_count:
        try:
            old_key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except CellDoesNotExist:  # the cursor was outside the rows: nothing to keep
            old_key = None
    table.clear()
    for key, row_cells in cells:
        table.add_row(*row_cells, key=key)
    if not rows:
        return
    keys = [key for key, _ in rows]
    target = keys.index(old_key) if old_key in keys else min(old_row, len(keys) - 1)
    table.move_cursor(row=max(0, target), animate=False)


def _holds(table: DataTable[object], cells: Sequence[tuple[str, list[Text]]]) -> bool:
    """Whether ``table`` shows exactly these rows. Refilling it anyway costs a redraw, and a
    frame drawn between the refill and the table's re-measuring (on a busy machine) can keep
    a header cached at the old column widths (Textual 8's DataTable)."""
    if table.row_count != len(cells):
        return False
    for (key, row), row_key in zip(cells, table.rows, strict=True):
        if str(row_key.value) != key or [_look(c) for c in table.get_row(row_key)] != [
                _look(c) for c in row]:
            return False
    return True


def _look(cell: object) -> object:
    """What a cell looks like (``Text.__eq__`` ignores the base style)."""
    if isinstance(cell, Text):
        return cell.plain, str(cell.style), cell.spans
    return cell
