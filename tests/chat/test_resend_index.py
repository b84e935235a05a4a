"""The start-up resends read only unsent items through an index, never the whole history.

Checked by SQLite's query plan on a real, migrated database without statistics, as a user's
is (no timings): a plan that scans ``chat_items`` itself reads every message ever sent or
received; ``ix_chat_items_unsent`` holds only the sent messages still pending.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import sqlite

from simplextui.chat.groups.resend import unsent_group_query
from simplextui.chat.resend import unsent_query
from simplextui.store.db import open_database


def plan(db_file: Path, statement: Any) -> list[str]:
    compiled = statement.compile(dialect=sqlite.dialect())
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    with sqlite3.connect(db_file) as con:
        rows = con.execute("EXPLAIN QUERY PLAN " + str(compiled), params).fetchall()
    con.close()
    return [row[3] for row in rows]


async def migrated(tmp_path: Path) -> Path:
    path = tmp_path / "chat.db"
    db = await open_database(path)
    await db.close()
    return path


async def test_direct_resend_reads_an_index(tmp_path: Path) -> None:
    steps = plan(await migrated(tmp_path), unsent_query())
    assert any("chat_items USING INDEX ix_chat_items_unsent" in step for step in steps), steps


async def test_pending_group_items_are_found_by_the_unsent_index(tmp_path: Path) -> None:
    """The query of the group resend (chat/groups/resend.py): SQLite reads
    ``ix_chat_items_unsent``."""
    steps = plan(await migrated(tmp_path), unsent_group_query())
    assert any("USING INDEX ix_chat_items_unsent" in step for step in steps), steps
