"""groups: replies name the quoted member; reactions of several members to one item

Revision ID: 0010
Revises: 0009

A reply in a group quotes a message of some member: ``quote_member_id`` keeps whose. In a
direct chat a reaction is this user's or the contact's (``sent``); in a group any member may
react, so a reaction row also names the member, and "each reacts with an emoji at most once"
becomes two partial unique indexes (direct: item, side, emoji; group: item, member, emoji).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_items") as batch:
        batch.add_column(sa.Column("quote_member_id", sa.String(24), nullable=True))
    with op.batch_alter_table("chat_reactions", recreate="always") as batch:
        batch.drop_constraint("uq_chat_reactions_item_id_sent_reaction", type_="unique")
        batch.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_chat_reactions_member_id_chat_group_members",
                                 "chat_group_members", ["member_id"], ["id"],
                                 ondelete="CASCADE")
    op.create_index("uq_chat_reactions_direct", "chat_reactions",
                    ["item_id", "sent", "reaction"], unique=True,
                    sqlite_where=sa.text("member_id IS NULL"),
                    postgresql_where=sa.text("member_id IS NULL"))
    op.create_index("uq_chat_reactions_member", "chat_reactions",
                    ["item_id", "member_id", "reaction"], unique=True,
                    sqlite_where=sa.text("member_id IS NOT NULL"),
                    postgresql_where=sa.text("member_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("uq_chat_reactions_member", "chat_reactions")
    op.drop_index("uq_chat_reactions_direct", "chat_reactions")
    op.execute("DELETE FROM chat_reactions WHERE member_id IS NOT NULL")
    with op.batch_alter_table("chat_reactions", recreate="always") as batch:
        batch.drop_constraint("fk_chat_reactions_member_id_chat_group_members",
                              type_="foreignkey")
        batch.drop_column("member_id")
        batch.create_unique_constraint("uq_chat_reactions_item_id_sent_reaction",
                                       ["item_id", "sent", "reaction"])
    with op.batch_alter_table("chat_items") as batch:
        batch.drop_column("quote_member_id")
