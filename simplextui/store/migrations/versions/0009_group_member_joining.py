"""groups: mark the member rows whose invitation this user is joining right now

Revision ID: 0009
Revises: 0008

A member connection this user joins gets its id only when the agent's join returns, and the
connection may complete before that is recorded. Only a row marked ``joining`` may then be
matched by member id: without the mark, anyone could complete some other connection with a
known member id in its info and take that member's place.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_group_members") as batch:
        batch.add_column(sa.Column("joining", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("chat_group_members") as batch:
        batch.drop_column("joining")
