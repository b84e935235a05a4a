"""Deleting member connections only after the last message to them left the outbox.

Deleting an agent connection drops its unsent outbox rows, so a leave, removal or deletion
notice must be accepted by the server first: the connection is deleted when the agent reports
``MessageSent`` for that message (kept in memory; after a restart the receivers' own deletion,
which they do on receiving the notice, cleans up instead).
"""

from __future__ import annotations

import contextlib

from simplextui.agent.errors import AgentError
from simplextui.chat.context import ChatContext

__all__ = ["delete_after", "on_sent"]


def _pending(ctx: ChatContext) -> dict[str, int]:
    pending: dict[str, int] = ctx.__dict__.setdefault("_group_conn_deletes", {})
    return pending


def delete_after(ctx: ChatContext, conn_id: str, agent_msg_id: int) -> None:
    """Delete ``conn_id`` once message ``agent_msg_id`` on it was sent."""
    _pending(ctx)[conn_id] = agent_msg_id


async def on_sent(ctx: ChatContext, conn_id: str, agent_msg_id: int) -> None:
    pending = _pending(ctx)
    last = pending.get(conn_id)
    if last is None or agent_msg_id < last:
        return
    del pending[conn_id]
    with contextlib.suppress(AgentError):
        await ctx.agent.delete_connection(conn_id)
