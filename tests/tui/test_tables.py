"""``fill_table``: refilling a table with what it already shows changes nothing; any change of
text or style refills it, and the cursor stays on the same row key."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from simplextui.tui.widgets.tables import fill_table


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table: DataTable[object] = DataTable()
        table.add_columns("name", "role")
        yield table


async def test_refill_with_the_same_rows_keeps_the_table_as_is() -> None:
    app = _TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(DataTable)
        fill_table(table, [("alice", ("alice", "owner")), ("bob", ("bob", "member"))])
        await pilot.pause()
        table.move_cursor(row=1)
        keys = list(table.rows)
        fill_table(table, [("alice", ("alice", "owner")), ("bob", ("bob", "member"))])
        assert list(table.rows) == keys and all(a is b for a, b in zip(table.rows, keys,
                                                                       strict=True))
        assert table.cursor_row == 1

        fill_table(table, [("alice", (Text("alice", "bold"), "owner")),
                           ("bob", ("bob", "member"))])  # only a style changed: refilled
        assert not any(a is b for a, b in zip(table.rows, keys, strict=True))
        assert table.get_row("alice")[0].style == "bold"
        assert table.cursor_row == 1  # still on bob

        fill_table(table, [("bob", ("bob", "admin"))])  # alice gone, bob changed
        assert [str(k.value) for k in table.rows] == ["bob"]
        assert [c.plain for c in table.get_row("bob")] == ["bob", "admin"]
        assert table.cursor_row == 0
