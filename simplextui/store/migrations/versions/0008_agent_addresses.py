"""agent: several contact addresses per agent, each with a kind and app data

Revision ID: 0008
Revises: 0007

``agent_address`` held the user's one contact address. Now it holds any number:

- ``address_id``: the id the agent API names an address by (random, unique);
- ``kind``: the link kind of its record (``a`` contact address, ``g`` group link...);
- ``app_data``: the chat layer's data sealed into the record's user data (or NULL);
- ``personal``: the user's own contact address (``create_address``/``get_address``); the
  address a database already had is that one.

``chat_group_links`` uses them: each group link is an agent address of kind ``g``
(``address_id``) instead of a record pointing at the host's personal address (columns
``address`` and ``link_owner`` dropped). Links of the old form are deleted: their records are
not addresses, so they cannot be read by this version (a join by one reaches the personal
address and is refused as a join by a deleted link).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agent_address") as batch_op:
        batch_op.add_column(sa.Column("address_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("kind", sa.String(length=1), nullable=False,
                                      server_default="a"))
        batch_op.add_column(sa.Column("app_data", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("personal", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute("UPDATE agent_address SET address_id = lower(hex(randomblob(12))), personal = 1")
    with op.batch_alter_table("agent_address") as batch_op:
        batch_op.alter_column("address_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint("uq_agent_address_address_id", ["address_id"])
    op.execute("DELETE FROM chat_group_links")
    with op.batch_alter_table("chat_group_links") as batch_op:
        batch_op.drop_column("address")
        batch_op.drop_column("link_owner")
        batch_op.add_column(sa.Column("address_id", sa.String(length=32), nullable=False))
        batch_op.create_unique_constraint("uq_chat_group_links_address_id", ["address_id"])


def downgrade() -> None:
    op.execute("DELETE FROM chat_group_links")
    with op.batch_alter_table("chat_group_links") as batch_op:
        batch_op.drop_constraint("uq_chat_group_links_address_id", type_="unique")
        batch_op.drop_column("address_id")
        batch_op.add_column(sa.Column("address", sa.Text(), nullable=False))
        batch_op.add_column(sa.Column("link_owner", sa.JSON(), nullable=False))
    op.execute("DELETE FROM agent_address WHERE personal = 0")
    with op.batch_alter_table("agent_address") as batch_op:
        batch_op.drop_constraint("uq_agent_address_address_id", type_="unique")
        batch_op.drop_column("personal")
        batch_op.drop_column("app_data")
        batch_op.drop_column("kind")
        batch_op.drop_column("address_id")
