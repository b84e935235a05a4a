"""Deleting connections: now, or once everything queued on them has left the outbox.

Deleting a connection drops its unsent outbox rows. ``delete_connection(conn_id,
after_outbox=True)`` instead appends the farewell DEL to the outbox (behind whatever is
pending) and marks the connection ``closing`` in the same transaction; the outbox deletes it
once none of its rows is pending any more (sent, or refused for good). The mark is in the
database, so this survives a restart; a closing connection sends nothing new.

Either way, what is left to do on servers (delete our receive queue and any link record,
send the DEL when deleting now) is recorded in the deleting transaction and done by
:mod:`simplextui.agent.cleanup`, retried until the servers answer: the deletion here does not
depend on a server (it waits for one at most ``cleanup_wait``), and nothing is left behind
on one because it was down.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from simplextui.agent import cleanup, repo
from simplextui.agent.context import AgentContext
from simplextui.agent.events import ConnectionDeleted
from simplextui.agent.messaging import encrypt_payload, sent_state
from simplextui.protocol import agent as wire
from simplextui.transport import RecipientQueue

log = logging.getLogger("simplextui.agent.deletion")


async def delete_now(ctx: AgentContext, conn_id: str) -> None:
    """Delete the connection here; then the DEL to the peer and the deletion of our receive
    queue and any link record on their servers (recorded with the deletion, tried at once,
    waiting at most ``cleanup_wait``, retried later until done if a server cannot be
    reached)."""
    async with ctx.lock(conn_id):
        live = await ctx.load(conn_id)
        farewell: bytes | None = None
        if live.can_send:
            with contextlib.suppress(Exception):
                farewell = encrypt_payload(live, wire.Deleted())["body"]

        def unit(c: Connection) -> tuple[list[Any], list[int]]:
            queues = repo.connection_queues(c, conn_id)
            return queues, repo.delete_connection(c, conn_id, farewell)

        try:
            queues, cleanup_ids = await ctx.write(unit)
        except BaseException:
            ctx.evict(conn_id)  # the ratchet advanced for a farewell that was not stored
            raise
        ctx.forget(conn_id)
    cleaned_up(ctx, queues, notify=False)
    if ctx.cleaner is not None:
        await ctx.cleaner.attempt_now(cleanup_ids)


async def delete_when_sent(ctx: AgentContext, conn_id: str) -> None:
    """Mark the connection to be deleted once its outbox is empty, with the DEL queued as
    its last row; deleted at once if nothing is pending and nothing can be sent."""
    async with ctx.lock(conn_id):
        live = await ctx.load(conn_id)
        if live.closing:
            return
        marked = True
        if live.can_send:
            try:
                row = encrypt_payload(live, wire.Deleted())
                state = sent_state(live)

                def mark(c: Connection) -> None:
                    repo.update_connection(c, conn_id, closing=True, **state)
                    repo.insert_outbox(c, [row])

                await ctx.write(mark)
            except BaseException:
                ctx.evict(conn_id)
                raise
        else:
            def mark_if_pending(c: Connection) -> bool:
                if not repo.pending_count(c, conn_id):
                    return False
                repo.update_connection(c, conn_id, closing=True)
                return True

            marked = await ctx.write(mark_if_pending)
        live.closing = marked
        if marked:
            ctx.closing.add(conn_id)
        server = live.snd_server
        queued_del = live.can_send
    if not marked:
        await delete_now(ctx, conn_id)
        return
    if server is not None and ctx.outbox is not None:
        ctx.outbox.notify(server)
    if not queued_del:
        # The round sending the last pending row may have read ``ctx.closing`` before it
        # had this connection and be committing now: it would not finish the deletion. A
        # check behind it (writes commit in order) does, if nothing is pending any more.
        await finish(ctx, [conn_id])


async def finish(ctx: AgentContext, conn_ids: Iterable[str]) -> None:
    """Delete those of ``conn_ids`` that are closing and have no pending outbox row left
    (called by the outbox after a round, and at start); reports ConnectionDeleted."""
    for conn_id in conn_ids:
        await _finish_one(ctx, conn_id)


async def _finish_one(ctx: AgentContext, conn_id: str) -> None:
    event = ConnectionDeleted(conn_id, by_peer=False)

    def unit(c: Connection) -> tuple[list[Any], list[int]] | None:
        row = repo.get_connection(c, conn_id)
        if row is None or not row.closing or repo.pending_count(c, conn_id):
            return None
        queues = repo.connection_queues(c, conn_id)
        repo.delete_connection(c, conn_id)
        return queues, repo.journal(c, [event])

    async with ctx.lock(conn_id):
        done = await ctx.write(unit)
        if done is None:
            return
        ctx.forget(conn_id)
    queues, journal_ids = done
    log.info("connection %s deleted: its outbox is empty", conn_id)
    if ctx.emitter is not None:
        ctx.emitter.put_all([event], journal_ids)
    cleaned_up(ctx, queues)


def cleaned_up(ctx: AgentContext, queues: list[Any], *, notify: bool = True) -> None:
    """After a deletion committed (with its clean-ups): stop receiving on its queues at once
    (else every reconnect would subscribe them again until the server deletes them, and a
    message the peer still sent would be delivered for no connection), then wake the
    clean-up worker."""
    cleanup.stop_receiving(ctx, queues)
    if notify and ctx.cleaner is not None:
        ctx.cleaner.notify()


async def delete_receive_queue(ctx: AgentContext, rq: RecipientQueue) -> None:
    """The peer deleted the connection (its deletion recorded the queue's clean-up): stop
    receiving on the queue, drop the digests the message that said so added."""
    ctx.rcv_index.pop(rq.recipient_id, None)
    ctx.client(rq.server).unsubscribe_local(rq.recipient_id)
    await ctx.write(functools.partial(repo.delete_digests, recipient_id=rq.recipient_id))
    if ctx.cleaner is not None:
        ctx.cleaner.notify()
