"""The group-link table: links this user hosts, by which anyone may join one of its groups.

Kept apart from ``chat_models`` so that group links stay one module's concern (issue 5).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from simplextui.store.base import Base

__all__ = ["GroupLink"]


class GroupLink(Base):
    """A group link this user (an admin or owner of the group) hosts: at most one per group.

    ``link_id`` is the random group link id joiners name in their request; ``link`` the text
    shared (``simplextui://g/...``); ``address_id`` the agent address (kind ``g``, dedicated to
    this link) the link is: join requests arrive there, and deleting it deletes the record.
    """

    __tablename__ = "chat_group_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("chat_groups.id", ondelete="CASCADE"), unique=True)
    link_id: Mapped[str] = mapped_column(String(24), unique=True)
    link: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    address_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
