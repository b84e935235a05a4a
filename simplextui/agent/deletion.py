"""Deleting connections: now, or once everything queued on them has left the outbox.

Deleting a connection drops its unsent outbox rows. ``delete_connection(conn_id,
after_outbox=True)`` instead appends the farewell DEL to the outbox (behind whatever is
pending) and marks the connection ``closing`` in the same transaction; the outbox deletes it
once none of its rows is pending any more (sent, or refused for good). The mark is in the
database, so this survives a restart; a closing connection sends nothing new.

The server side (our receive queue, a link record) is cleaned up best effort afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from simplextui.agent import repo
from simplextui.agent.context import AgentContext
from simplextui.agent.events import ConnectionDeleted
from simplextui.agent.messaging import encrypt_payload, sent_state
from simplextui.agent.repo import QueueRole
from simplextui.protocol import agent as wire
from simplextui.transport import LinkOwner, RecipientQueue, SenderQueue, TransportError

log = logging.getLogger("simplextui.agent.deletion")


async def delete_now(ctx: AgentContext, conn_id: str) -> None:
    """Delete the connection here and tell the peer (best effort: DEL message, then our
    receive queue and any link record are deleted on their servers)."""
    async with ctx.lock(conn_id):
        live = await ctx.load(conn_id)
        farewell: bytes | None = None
        if live.can_send:
            with contextlib.suppress(Exception):
                farewell = encrypt_payload(live, wire.Deleted())["body"]
        queues = await ctx.read(lambda c: repo.connection_queues(c, conn_id))
        await ctx.write(lambda c: repo.delete_connection(c, conn_id))
        ctx.forget(conn_id)
    await clean_up(ctx, conn_id, queues, live.link_owner, farewell)


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

    def unit(c: Connection) -> tuple[list[Any], Any, list[int]] | None:
        row = repo.get_connection(c, conn_id)
        if row is None or not row.closing or repo.pending_count(c, conn_id):
            return None
        queues = repo.connection_queues(c, conn_id)
        repo.delete_connection(c, conn_id)
        return queues, row.link_owner, repo.journal(c, [event])

    async with ctx.lock(conn_id):
        done = await ctx.write(unit)
        if done is None:
            return
        ctx.forget(conn_id)
    queues, link_owner, journal_ids = done
    log.info("connection %s deleted: its outbox is empty", conn_id)
    if ctx.emitter is not None:
        ctx.emitter.put_all([event], journal_ids)
    ctx.spawn(clean_up(ctx, conn_id, queues, link_owner, None), name=f"clean up {conn_id}")


async def delete_receive_queue(ctx: AgentContext, rq: RecipientQueue) -> None:
    """Delete a deleted connection's receive queue on its server (best effort) and its
    digests here. If the server cannot be reached, the client at least stops subscribing
    it (else every reconnect would subscribe it again, and a message the peer still sent
    there would be delivered, for no connection, and never acknowledged)."""
    client = ctx.client(rq.server)
    try:
        await client.delete(rq)
    except TransportError as exc:
        log.info("could not delete the receive queue of a deleted connection: %s", exc)
        client.unsubscribe_local(rq.recipient_id)
    await ctx.write(functools.partial(repo.delete_digests, recipient_id=rq.recipient_id))


async def clean_up(ctx: AgentContext, conn_id: str, queues: list[Any],
                   link_owner: dict[str, Any] | None, farewell: bytes | None) -> None:
    """Best effort on the servers: send ``farewell`` (if any), delete our receive queue and
    its digests, delete the link record."""
    for q in queues:
        if q.role == QueueRole.SND and farewell is not None and q.secured:
            sq = SenderQueue.from_dict(q.creds)
            try:
                await ctx.client(sq.server).send(sq, farewell)
            except TransportError as exc:
                log.info("clean-up of deleted connection %s: %s", conn_id, exc)
        elif q.role == QueueRole.RCV:
            await delete_receive_queue(ctx, RecipientQueue.from_dict(q.creds))
    if link_owner is not None:
        owner = LinkOwner.from_dict(link_owner)
        with contextlib.suppress(TransportError):
            await ctx.client(owner.server).delete_link(owner)
