"""agent: received messages whose sender wants no delivery receipt

Revision ID: 0012
Revises: 0011

A MSG of kind N (the chat layer's protocol messages, e.g. group introductions) asks for no
RCVD: its inbox row is deleted once processed instead of being kept for a receipt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_inbox") as batch:
        batch.add_column(sa.Column("receipt", sa.Boolean(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("agent_inbox") as batch:
        batch.drop_column("receipt")
