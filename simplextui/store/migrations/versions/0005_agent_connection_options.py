"""agent: connections to delete once their outbox is empty

Revision ID: 0005
Revises: 0004

- ``agent_connections.closing``: ``delete_connection(conn_id, after_outbox=True)`` marks the
  connection; the outbox deletes it once no pending row of it is left (the farewell DEL is
  its last row), so a notice queued before the deletion still leaves, even across restarts.

(Each connection's post-quantum setting, ``pq``, was already stored per connection.)
A plain ``ADD COLUMN``: SQLite adds it without rebuilding the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("agent_connections",
                  sa.Column("closing", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("agent_connections") as batch_op:
        batch_op.drop_column("closing")
