"""groups: links anyone can join a group by (chat_group_links)

Revision ID: 0006
Revises: 0005

One row per group link this user hosts (at most one per group): its id, the shared link, the
role it grants, the contact address it points at and the owner credentials of its record.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_group_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.String(length=24), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("link_owner", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["chat_groups.id"],
                                name=op.f("fk_chat_group_links_group_id_chat_groups"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_group_links")),
        sa.UniqueConstraint("group_id", name=op.f("uq_chat_group_links_group_id")),
        sa.UniqueConstraint("link_id", name=op.f("uq_chat_group_links_link_id")),
    )


def downgrade() -> None:
    op.drop_table("chat_group_links")
