"""Migration 0013 on a database with group messages: authors filled in, reactions and
deliveries kept through the rebuild of chat_items, the old constraint replaced; and back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection

from simplextui.store.db import run_migrations, set_pragmas

ME, BOB, CAROL = "M" * 16, "B" * 16, "C" * 16


def _fill(c: Connection) -> None:
    c.execute(text("""INSERT INTO chat_groups (id, local_name, display_name, description, status,
        symmetric, member_id, role, created_at, updated_at, history_count)
        VALUES (1, 'team', 'team', '', 'connected', 0, :me, 'owner', 0, 0, 100)"""),
              {"me": ME})
    c.execute(text("""INSERT INTO chat_group_members (id, group_id, member_id, local_name,
        display_name, full_name, bio, role, status, created_at, updated_at)
        VALUES (1, 1, :bob, 'bob', 'bob', '', '', 'member', 'connected', 0, 0)"""), {"bob": BOB})
    for item_id, member, direction, author in ((1, None, "snd", None), (2, 1, "rcv", None),
                                               (3, None, "rcv", CAROL)):
        c.execute(text("""INSERT INTO chat_items (id, group_id, member_id, shared_msg_id,
            direction, text, status, created_at, updated_at, edited, deleted, forwarded, kind,
            history, author_member_id) VALUES (:id, 1, :member, :mid, :dir, 't', 'new', 0, 0,
            0, 0, 0, 'msg', 0, :author)"""),
                  {"id": item_id, "member": member, "mid": f"{item_id:016d}", "dir": direction,
                   "author": author})
    c.execute(text("""INSERT INTO chat_reactions (item_id, sent, member_id, reaction, created_at)
        VALUES (2, 1, NULL, 'x', 0)"""))
    c.execute(text("""INSERT INTO chat_group_deliveries (item_id, member_id, status)
        VALUES (1, 1, 'sent')"""))


def _authors(c: Connection) -> dict[int, str | None]:
    rows = c.execute(text("SELECT id, author_member_id FROM chat_items ORDER BY id"))
    return {row[0]: row[1] for row in rows}


def _counts(c: Connection) -> tuple[int, int]:
    return (c.execute(text("SELECT count(*) FROM chat_reactions")).scalar_one(),
            c.execute(text("SELECT count(*) FROM chat_group_deliveries")).scalar_one())


def test_0013_fills_authors_and_keeps_dependent_rows(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'client.db'}")
    event.listen(engine, "connect", set_pragmas)
    try:
        with engine.begin() as c:
            run_migrations(c, "0012")
            _fill(c)
        with engine.begin() as c:
            run_migrations(c, "0013")
            assert _authors(c) == {1: ME, 2: BOB, 3: CAROL}
            assert _counts(c) == (1, 1)
            # another author may now use an id already taken
            c.execute(text("""INSERT INTO chat_items (group_id, shared_msg_id, direction, text,
                status, created_at, updated_at, edited, deleted, forwarded, kind, history,
                author_member_id) VALUES (1, :mid, 'rcv', 'same id', 'new', 0, 0, 0, 0, 0,
                'msg', 0, :carol)"""), {"mid": f"{2:016d}", "carol": CAROL})
        with engine.begin() as c:
            _downgrade(c, "0012")
            assert _authors(c) == {1: None, 2: None, 3: CAROL}  # the later duplicate went
            assert _counts(c) == (1, 1)
    finally:
        engine.dispose()


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from simplextui.store.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.downgrade(config, revision)
