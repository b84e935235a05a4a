"""agent: ids never reused; received-message digests unique per queue

Revision ID: 0003
Revises: 0002

- ``sqlite_autoincrement`` on the agent's queue, outbox, inbox, digest and pending-event
  tables, so SQLite never hands a deleted row's id to a new row (an outbox round in flight
  names its rows by id). SQLite can only change this by rebuilding each table.
- Digests of received bodies are unique per (recipient queue, digest) instead of globally:
  with a global constraint a peer could replay a body seen on one queue into another and have
  it dropped there as a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUTOINCREMENT_TABLES = ("agent_queues", "agent_outbox", "agent_inbox",
                         "agent_pending_events")


def upgrade() -> None:
    for table in _AUTOINCREMENT_TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}):
            pass
    with op.batch_alter_table("agent_received_digests", recreate="always",
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_index("ix_agent_received_digests_recipient_id")
        batch_op.drop_constraint("uq_agent_received_digests_digest", type_="unique")
        batch_op.create_unique_constraint("uq_agent_received_digests_queue",
                                          ["recipient_id", "digest"])


def downgrade() -> None:
    with op.batch_alter_table("agent_received_digests", recreate="always") as batch_op:
        batch_op.drop_constraint("uq_agent_received_digests_queue", type_="unique")
        batch_op.create_unique_constraint("uq_agent_received_digests_digest", ["digest"])
        batch_op.create_index("ix_agent_received_digests_recipient_id", ["recipient_id"])
    for table in _AUTOINCREMENT_TABLES:
        with op.batch_alter_table(table, recreate="always"):
            pass
