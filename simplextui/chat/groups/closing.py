"""Deleting member connections only after the last message to them left the outbox.

Deleting an agent connection drops its unsent outbox rows, so a leave, removal or deletion
notice must be accepted by the server first. The agent does this itself, persistently
(``delete_connection(conn_id, after_outbox=True)``: the connection is marked in the agent's
database and deleted once its outbox is empty, also after a restart).
"""

from __future__ import annotations

import contextlib

from simplextui.agent.errors import AgentError
from simplextui.chat.context import ChatContext

__all__ = ["delete_when_sent"]


async def delete_when_sent(ctx: ChatContext, conn_id: str) -> None:
    """Delete ``conn_id`` once everything queued on it (e.g. a notice) was sent."""
    with contextlib.suppress(AgentError):
        await ctx.agent.delete_connection(conn_id, after_outbox=True)
