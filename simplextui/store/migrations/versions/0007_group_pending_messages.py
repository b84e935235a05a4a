"""groups: events kept for members introduced but not connected yet (chat_group_pending_messages)

Revision ID: 0007
Revises: 0006

A member sends each group message also to the members it was introduced to but is not
connected with yet, once the pair connects (the introducer may be gone by then).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_group_pending_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("shared_msg_id", sa.String(length=24), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["chat_groups.id"],
                                name=op.f("fk_chat_group_pending_messages_group_id_chat_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["chat_group_members.id"],
                                name=op.f("fk_chat_group_pending_messages_member_id_"
                                          "chat_group_members"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_group_pending_messages")),
    )
    op.create_index("ix_chat_group_pending_messages_member_id", "chat_group_pending_messages",
                    ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_group_pending_messages_member_id",
                  table_name="chat_group_pending_messages")
    op.drop_table("chat_group_pending_messages")
