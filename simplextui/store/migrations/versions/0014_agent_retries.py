"""agent: joins and server-side deletions that survive an unreachable server

Revision ID: 0014
Revises: 0013

- ``agent_pending_joins``: the sender key of a join is stored before its SKEY is sent, so a
  retry after a failure (the answer may have been lost after the server took the key)
  sends the same key again instead of being refused as "already used";
- ``agent_pending_deletions``: deleting a connection or an address records what must still
  happen on servers (delete our queue, our link record, send the farewell), retried with
  backoff until done, across restarts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_pending_joins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server", sa.String(length=400), nullable=False),
        sa.Column("sender_id", sa.LargeBinary(), nullable=False),
        sa.Column("sender", sa.JSON(), nullable=False),
        sa.Column("rcv", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_pending_joins")),
        sa.UniqueConstraint("server", "sender_id", name="uq_agent_pending_joins_queue"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "agent_pending_deletions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("server", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("creds", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retry_at", sa.Double(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_pending_deletions")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("agent_pending_deletions")
    op.drop_table("agent_pending_joins")
