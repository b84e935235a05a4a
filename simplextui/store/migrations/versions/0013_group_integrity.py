"""groups: messages known by (author, msgId); author sequence numbers; durable seen changes

Revision ID: 0013
Revises: 0012

- ``chat_items.author_member_id`` now names the author of every group message (this user's
  own member id for its messages), filled here for existing rows, and group items are unique
  by (group, author, shared msg id) instead of (group, shared msg id): a member reusing
  another's message id makes another message, not a collision.
- ``chat_groups.last_seq``: this user's last group event sequence number;
  ``chat_group_members.learned_seq`` / ``seq_bound``: this user's sequence number when it
  learned of the member, and the member's when it learned of this user (as it told).
- ``chat_group_seen_changes``: changes received directly from their author (were in memory).
- ``chat_group_early_changes``: edits, deletions and reactions that came before their message.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# rebuilding chat_items deletes the rows referring to it (ON DELETE CASCADE, foreign keys are
# on): keep copies and put them back afterwards (as 0002 did)
_DEPENDENT = ("chat_reactions", "chat_group_deliveries")


def _rebuild_items(old: tuple[str, list[str]], new: tuple[str, list[str]]) -> None:
    for table in _DEPENDENT:
        op.execute(f"CREATE TEMP TABLE _{table}_0013 AS SELECT * FROM {table}")
    with op.batch_alter_table("chat_items", recreate="always") as batch:
        batch.drop_constraint(old[0], type_="unique")
        batch.create_unique_constraint(new[0], new[1])
    for table in _DEPENDENT:
        op.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM _{table}_0013")
        op.execute(f"DROP TABLE _{table}_0013")


def upgrade() -> None:
    op.execute("""UPDATE chat_items SET author_member_id = (
        SELECT m.member_id FROM chat_group_members m WHERE m.id = chat_items.member_id)
        WHERE group_id IS NOT NULL AND kind = 'msg' AND direction = 'rcv'
        AND author_member_id IS NULL AND member_id IS NOT NULL""")
    op.execute("""UPDATE chat_items SET author_member_id = (
        SELECT g.member_id FROM chat_groups g WHERE g.id = chat_items.group_id)
        WHERE group_id IS NOT NULL AND kind = 'msg' AND direction = 'snd'
        AND author_member_id IS NULL""")
    _rebuild_items(("uq_chat_items_group_id_shared_msg_id", ["group_id", "shared_msg_id"]),
                   ("uq_chat_items_group_id_author_shared_msg_id",
                    ["group_id", "author_member_id", "shared_msg_id"]))
    # plain ALTER TABLE ADD COLUMN: no rebuild (which would cascade, see above)
    op.add_column("chat_groups", sa.Column("last_seq", sa.Integer(), nullable=False,
                                           server_default="0"))
    op.add_column("chat_group_members", sa.Column("learned_seq", sa.Integer(), nullable=True))
    op.add_column("chat_group_members", sa.Column("seq_bound", sa.Integer(), nullable=True))
    op.create_table(
        "chat_group_seen_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("author_member_id", sa.String(length=24), nullable=False),
        sa.Column("msg_id", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["chat_groups.id"],
                                name=op.f("fk_chat_group_seen_changes_group_id_chat_groups"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_group_seen_changes")),
        sa.UniqueConstraint("group_id", "author_member_id", "msg_id",
                            name="uq_chat_group_seen_changes_group_id_author_member_id_msg_id"),
    )
    op.create_table(
        "chat_group_early_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("author_member_id", sa.String(length=24), nullable=False),
        sa.Column("msg_id", sa.String(length=24), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["chat_groups.id"],
                                name=op.f("fk_chat_group_early_changes_group_id_chat_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sender_id"], ["chat_group_members.id"],
                                name=op.f("fk_chat_group_early_changes_sender_id_"
                                          "chat_group_members"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_group_early_changes")),
    )
    op.create_index("ix_chat_group_early_changes_target", "chat_group_early_changes",
                    ["group_id", "author_member_id", "msg_id"])
    op.create_index("ix_chat_group_early_changes_sender_id", "chat_group_early_changes",
                    ["sender_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_group_early_changes_sender_id", table_name="chat_group_early_changes")
    op.drop_index("ix_chat_group_early_changes_target", table_name="chat_group_early_changes")
    op.drop_table("chat_group_early_changes")
    op.drop_table("chat_group_seen_changes")
    # plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a rebuild of these tables would delete
    # the rows referring to them (ON DELETE CASCADE)
    op.drop_column("chat_group_members", "seq_bound")
    op.drop_column("chat_group_members", "learned_seq")
    op.drop_column("chat_groups", "last_seq")
    # two messages of different authors with one id: the later one goes
    op.execute("""DELETE FROM chat_items WHERE group_id IS NOT NULL AND id NOT IN (
        SELECT min(id) FROM chat_items WHERE group_id IS NOT NULL
        GROUP BY group_id, shared_msg_id)""")
    _rebuild_items(("uq_chat_items_group_id_author_shared_msg_id",
                    ["group_id", "author_member_id", "shared_msg_id"]),
                   ("uq_chat_items_group_id_shared_msg_id", ["group_id", "shared_msg_id"]))
    op.execute("""UPDATE chat_items SET author_member_id = NULL
        WHERE group_id IS NOT NULL AND (direction = 'snd' OR member_id IS NOT NULL)""")
