"""chat: pending invitations and requests, and an index of unsent messages

Revision ID: 0015
Revises: 0014

``chat_contacts.invitation_link``: the one-time link this user made with ``/c`` (listed by
``/invitations`` while nobody has used it). ``chat_contacts.joined_link``: which link this user
joined or sent a request to (its canonical form), so that a second ``/c`` of the same link is
answered ("already connected as @bob") instead of sending a second request. Invitations made
before take their link from the agent's connection; links joined before are not known (a
second join of one of those is not caught).

``ix_chat_items_unsent``: the sent items still pending, in order: the start-up resends read
those instead of scanning every message (SQLite, 100,000 direct and 100,000 group messages,
no ANALYZE statistics as in a user's database: 34 ms → 0.02-0.04 ms for each of the two
queries as written, with bound parameters: SQLite matches their values to the index's terms).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSENT = "direction = 'snd' AND status = 'pending'"


def upgrade() -> None:
    with op.batch_alter_table("chat_contacts") as batch:
        batch.add_column(sa.Column("invitation_link", sa.Text(), nullable=True))
        batch.add_column(sa.Column("joined_link", sa.Text(), nullable=True))
    op.create_index("ix_chat_contacts_joined_link", "chat_contacts", ["joined_link"])
    # invitations made before this revision: their link is the agent's (nobody used them yet)
    op.execute(sa.text(
        "UPDATE chat_contacts SET invitation_link = (SELECT link FROM agent_connections AS a "
        "WHERE a.id = chat_contacts.conn_id AND a.role = 'inviter') "
        "WHERE status = 'pending' AND local_name IS NULL AND conn_id IS NOT NULL"))
    op.create_index("ix_chat_items_unsent", "chat_items", ["id"],
                    sqlite_where=sa.text(_UNSENT), postgresql_where=sa.text(_UNSENT))


def downgrade() -> None:
    op.drop_index("ix_chat_items_unsent", "chat_items")
    op.drop_index("ix_chat_contacts_joined_link", "chat_contacts")
    with op.batch_alter_table("chat_contacts") as batch:
        batch.drop_column("joined_link")
        batch.drop_column("invitation_link")
