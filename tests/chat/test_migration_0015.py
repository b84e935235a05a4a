"""Migration 0015: pending invitations' columns and the unsent-items index, up and down,
on a real SQLite file with a contact and messages from before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection

from simplextui.store.db import MIGRATIONS_DIR, run_migrations, set_pragmas


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _zero(column: Any) -> object:
    """A value for a NOT NULL column the test does not care about."""
    kind = str(column["type"]).upper()
    if "INT" in kind or "BOOL" in kind:
        return 0
    if "BLOB" in kind or "BINARY" in kind:
        return b""
    return ""


def _columns(c: Connection) -> set[str]:
    return {col["name"] for col in inspect(c).get_columns("chat_contacts")}


def _indexes(c: Connection) -> set[str]:
    return {ix["name"] for ix in inspect(c).get_indexes("chat_items")}


def test_0015_up_and_down_keeps_contacts_and_messages(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'client.db'}")
    event.listen(engine, "connect", set_pragmas)
    try:
        with engine.begin() as c:
            run_migrations(c, "0014")
            c.execute(text("""INSERT INTO chat_contacts (local_name, display_name, full_name,
                bio, conn_id, status, verified, via_address, created_at, updated_at)
                VALUES ('bob', 'bob', '', '', 'c1', 'connected', 0, 0, 1, 1)"""))
            # an invitation made before 0015, not used yet, and its agent connection
            c.execute(text("""INSERT INTO chat_contacts (display_name, full_name, bio, conn_id,
                status, verified, via_address, created_at, updated_at)
                VALUES ('', '', '', 'c2', 'pending', 0, 0, 2, 2)"""))
            conn_columns = {col["name"]: col for col in
                            inspect(c).get_columns("agent_connections")}
            values = {name: _zero(col) for name, col in conn_columns.items()
                      if not col["nullable"] and col.get("default") is None}
            values.update(id="c2", role="inviter", link="simplextui://i/old#key")
            c.execute(text(f"INSERT INTO agent_connections ({', '.join(values)}) VALUES "
                           f"({', '.join(':' + k for k in values)})"), values)
            c.execute(text("""INSERT INTO chat_items (contact_id, shared_msg_id, direction,
                text, status, created_at, updated_at, edited, deleted, forwarded, kind, history)
                VALUES (1, 'AAAAAAAAAAAAAAAA', 'snd', 'hi', 'pending', 1, 1, 0, 0, 0, 'msg', 0)
                """))
        with engine.begin() as c:
            run_migrations(c, "0015")
            assert {"invitation_link", "joined_link"} <= _columns(c)
            assert "ix_chat_items_unsent" in _indexes(c)
            rows = c.execute(text("SELECT local_name, status, invitation_link, joined_link "
                                  "FROM chat_contacts ORDER BY id")).all()
            assert [tuple(r) for r in rows] == [
                ("bob", "connected", None, None),
                (None, "pending", "simplextui://i/old#key", None)]  # listed by /invitations
            assert c.execute(text("SELECT count(*) FROM chat_items")).scalar() == 1
        with engine.begin() as c:
            _downgrade(c, "0014")
            assert not {"invitation_link", "joined_link"} & _columns(c)
            assert "ix_chat_items_unsent" not in _indexes(c)
            assert c.execute(text("SELECT local_name FROM chat_contacts ORDER BY id")
                             ).scalar() == "bob"
    finally:
        engine.dispose()
