"""groups: notice items, history for new members, symmetric approval, delivery per member

Revision ID: 0004
Revises: 0003

- ``chat_items.kind`` ("msg" or "event": notice lines such as "bob joined"), ``history``
  (received as group history from the inviter), ``author_name`` and ``author_member_id``
  (the forwarded author when that member is not known here).
- ``chat_groups.history_count`` (default 100, 0 = off) and ``approval_threshold``.
- ``chat_group_members.pending_conn_req``: an introduction held for /approve;
  ``joined_later``: the member joined after this user (its connection is a join notice);
  ``announced_to``: whom its announcer introduced it to; ``all_connected``: "connected to
  all" was reported for this invitee; ``chat_group_intros.catch_up``:
  an introduction of a pair two concurrent invitations missed (docs/protocol.md).
- ``chat_group_deliveries``: a sent group item's status per member (k of n delivered).

Plain ``ADD COLUMN``s: SQLite adds them without rebuilding the tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chat_items", sa.Column("kind", sa.String(length=8), nullable=False,
                                          server_default="msg"))
    op.add_column("chat_items", sa.Column("history", sa.Boolean(), nullable=False,
                                          server_default="0"))
    op.add_column("chat_items", sa.Column("author_name", sa.String(length=64), nullable=True))
    op.add_column("chat_items", sa.Column("author_member_id", sa.String(length=24),
                                          nullable=True))
    op.add_column("chat_groups", sa.Column("history_count", sa.Integer(), nullable=False,
                                           server_default="100"))
    op.add_column("chat_groups", sa.Column("approval_threshold", sa.Integer(), nullable=True))
    op.add_column("chat_group_members", sa.Column("pending_conn_req", sa.Text(), nullable=True))
    op.add_column("chat_group_members", sa.Column("joined_later", sa.Boolean(), nullable=False,
                                                  server_default="0"))
    op.add_column("chat_group_members", sa.Column("announced_to", sa.Text(), nullable=True))
    op.add_column("chat_group_members", sa.Column("all_connected", sa.Boolean(), nullable=False,
                                                  server_default="0"))
    op.add_column("chat_group_intros", sa.Column("catch_up", sa.Boolean(), nullable=False,
                                                 server_default="0"))
    op.create_table(
        "chat_group_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("agent_msg_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["chat_items.id"],
                                name=op.f("fk_chat_group_deliveries_item_id_chat_items"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["chat_group_members.id"],
                                name=op.f("fk_chat_group_deliveries_member_id_chat_group_members"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_group_deliveries")),
        sa.UniqueConstraint("item_id", "member_id",
                            name="uq_chat_group_deliveries_item_id_member_id"),
    )
    op.create_index("ix_chat_group_deliveries_member_id_agent_msg_id", "chat_group_deliveries",
                    ["member_id", "agent_msg_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chat_group_deliveries_member_id_agent_msg_id",
                  table_name="chat_group_deliveries")
    op.drop_table("chat_group_deliveries")
    op.drop_column("chat_group_intros", "catch_up")
    op.drop_column("chat_group_members", "all_connected")
    op.drop_column("chat_group_members", "announced_to")
    op.drop_column("chat_group_members", "joined_later")
    op.drop_column("chat_group_members", "pending_conn_req")
    op.drop_column("chat_groups", "approval_threshold")
    op.drop_column("chat_groups", "history_count")
    op.drop_column("chat_items", "author_member_id")
    op.drop_column("chat_items", "author_name")
    op.drop_column("chat_items", "history")
    op.drop_column("chat_items", "kind")
