"""The Agent: encrypted duplex connections over pairs of queues (layer 5).

This is the API the chat core uses; see ``docs/agent-protocol.md`` for the wire formats and
:mod:`simplextui.agent.events` for what comes back through ``on_event``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from simplextui.agent import deletion, repo
from simplextui.agent.addresses import Addresses, AddressInfo, check_app_data, check_kind
from simplextui.agent.cleanup import Cleaner
from simplextui.agent.config import AgentConfig
from simplextui.agent.context import AgentContext, Database, ReceiveTarget
from simplextui.agent.emitter import Emitter
from simplextui.agent.errors import (
    AddressNotFound,
    AgentError,
    ConnectionNotFound,
    ConnectionNotReady,
)
from simplextui.agent.events import AgentEvent, IntegrityStatus, MessageReceived
from simplextui.agent.handshake import Handshake
from simplextui.agent.messaging import check_open, encrypt_payload, send_payloads, sent_state
from simplextui.agent.outbox import Outbox
from simplextui.agent.receive import Receiver
from simplextui.crypto.safety_code import connection_safety_code
from simplextui.protocol import agent as wire
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.links import LinkKind
from simplextui.transport import (
    ClientPool,
    RecipientQueue,
    TransportEvent,
)

log = logging.getLogger("simplextui.agent")

MAX_MESSAGE_SIZE = wire.MAX_MESSAGE_BODY
MAX_INFO_SIZE = wire.MAX_INFO
_JOIN_KINDS = (LinkKind.INVITATION, LinkKind.ADDRESS)
_PERSONAL_LOCK = "\0personal address"


class Agent:
    """Connections of one user. All methods run on the event loop that ``start`` ran on.

    ``servers`` are where this agent creates its receive queues (one picked at random for
    each). With ``pool`` given, its ``on_event`` must call :meth:`handle_transport_event`;
    without, the agent makes (and closes) its own pool.
    """

    def __init__(self, db: Database, servers: list[ServerAddress], *,
                 on_event: Callable[[AgentEvent], Awaitable[None]],
                 pool: ClientPool | None = None, pq: bool = True,
                 config: AgentConfig | None = None) -> None:
        self.config = config or AgentConfig()
        self._own_pool = pool is None
        self._receiver: Receiver | None = None
        if pool is None:
            pool = ClientPool(on_event=self.handle_transport_event, **self.config.client_options)
        self._ctx = AgentContext(db, servers, pool, self.config, pq)
        self._receiver = Receiver(self._ctx)
        self._outbox = Outbox(self._ctx)
        self._handshake = Handshake(self._ctx)
        self._addresses = Addresses(self._ctx, self._handshake)
        self._receiver.addresses = self._addresses.keys
        self._emitter = Emitter(on_event, self._ctx.write)
        self._ctx.emitter = self._emitter
        self._ctx.outbox = self._outbox
        self._cleaner = Cleaner(self._ctx)
        self._ctx.cleaner = self._cleaner
        self._receipt_tasks: dict[str, asyncio.Task[None]] = {}
        self._receipts_due: set[str] = set()
        self._started = False

    # ------------------------------------------------------------------- properties

    @property
    def pool(self) -> ClientPool:
        return self._ctx.pool

    @property
    def receiver(self) -> Receiver:
        """The receive path (tests set its ``before_ack`` crash hook)."""
        assert self._receiver is not None
        return self._receiver

    @property
    def outbox(self) -> Outbox:
        """The outbox worker (tests set its ``after_send`` crash hook)."""
        return self._outbox

    async def handle_transport_event(self, event: TransportEvent) -> None:
        """Feed a transport event (the pool's ``on_event``)."""
        if self._receiver is not None:
            await self._receiver.handle(event)

    # ------------------------------------------------------------------- life cycle

    async def start(self) -> None:
        """Load state, re-deliver pending events and unprocessed messages, resume the
        outbox and receipts, and subscribe every receive queue (one batch per server)."""
        ctx = self._ctx
        def load(c: Connection) -> tuple[Any, ...]:
            return (repo.receiving_queues(c), repo.addresses(c), repo.pending_events(c),
                    repo.unprocessed_inbox(c), repo.conns_with_processed_inbox(c),
                    repo.closing_ids(c), repo.closing_done(c))

        before = time.time() - self.config.join_keep

        def clean_ups(c: Connection) -> None:
            if repo.abandon_stale_joins(c, before):
                log.info("abandoned joins nobody retried; their queues are deleted")
            repo.clean_up_used_links(c)

        try:
            await ctx.write(clean_ups)  # before the clean-up worker starts
        except Exception:  # not worth failing the start for: tried again at the next
            log.exception("could not record the clean-ups due at start")
        (queues, addresses, journal, inbox, receipts, closing, closed) = await ctx.read(load)
        ctx.closing.update(closing)
        self._addresses.load(addresses)
        by_server: dict[ServerAddress, list[RecipientQueue]] = {}
        for q in queues:
            rq = RecipientQueue.from_dict(q.creds)
            ctx.rcv_index[rq.recipient_id] = ReceiveTarget(q.id, q.conn_id, rq)
            by_server.setdefault(rq.server, []).append(rq)
        for jid, event in journal:
            self._emitter.put(event, jid)
        for row in inbox:
            self._emitter.put(MessageReceived(row.conn_id, row.agent_msg_id, row.body,
                                              row.broker_ts_ms,
                                              IntegrityStatus.from_text(row.integrity)))
        self._emitter.start()
        await self._outbox.start()
        self._cleaner.start()  # clean-ups left by an earlier run, as soon as possible
        self._started = True
        for conn_id in receipts:
            self._schedule_receipts(conn_id)
        if closed:  # the outbox emptied but the process stopped before deleting them
            ctx.spawn(deletion.finish(ctx, closed), name="finish deletions")
        tasks = [ctx.spawn(ctx.subscribe(server, rqs), name=f"subscribe {server.short()}")
                 for server, rqs in by_server.items()]
        if tasks:
            await asyncio.wait(tasks, timeout=self.config.subscribe_wait)

    async def stop(self) -> None:
        """Stop receiving and sending; wait (bounded) for handlers and events in flight."""
        if not self._started:
            if self._own_pool:
                await self._ctx.pool.close()
            await self._ctx.store.close()
            return
        self._started = False
        receiver = self.receiver
        receiver.stopping = True
        await self._cleaner.stop()  # what it has not done stays recorded for the next start
        await receiver.wait_idle(self.config.stop_timeout)
        if self._own_pool:
            await self._ctx.pool.close()
        await self._outbox.stop()
        tasks = [*self._receipt_tasks.values(), *self._ctx.background]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._receipt_tasks.clear()
        if asyncio.current_task() is not getattr(self._emitter, "_task", None):
            await self._emitter.drain(self.config.stop_timeout)
        await self._emitter.stop()
        await self._ctx.store.close()

    # ------------------------------------------------------------------ connections

    async def create_invitation(self, my_info: bytes, *,
                                pq: bool | None = None) -> tuple[str, str]:
        """A new connection and its one-time invitation link: (conn_id, link).

        ``pq``: post-quantum (ML-KEM) ratchet steps on this connection; None = the agent's
        setting. Stored with the connection. (The X3DH is hybrid either way.)
        """
        return await self._handshake.create_invitation(my_info, pq=self._pq(pq))

    async def join(self, link: str, my_info: bytes, *, pq: bool | None = None,
                   kind: str | None = None) -> str:
        """Join a one-time invitation, or send a contact request to an address.

        ``pq`` as for :meth:`create_invitation`. ``kind``: the link must be an address of
        this kind (e.g. ``"g"``, a group link: see :meth:`add_address`); None: a one-time
        invitation or a contact address. Raises LinkError for a malformed link or one of
        another kind, AgentError when the link cannot be used (gone, already used, server
        unreachable).
        """
        kinds = _JOIN_KINDS if kind is None else (check_kind(kind),)
        return await self._handshake.join(link, my_info, pq=self._pq(pq), kinds=kinds)

    async def get_link_data(self, link: str, *, kind: str) -> bytes | None:
        """The app data in the record of address link ``link`` of ``kind`` (None if it has
        none); errors as for :meth:`join`. Reading it tells nobody anything."""
        _, _, app_data = await self._handshake.fetch_link(link, (check_kind(kind),))
        return app_data

    def _pq(self, pq: bool | None) -> bool:
        if pq is None:
            return self._ctx.pq
        if not isinstance(pq, bool):
            raise AgentError("pq must be True, False or None")
        return pq

    # -------------------------------------------------------------------- addresses

    async def create_address(self) -> str:
        """Our personal contact address link (kind ``a``); returns the existing one if
        there is one."""
        async with self._ctx.lock(_PERSONAL_LOCK):
            existing = await self._addresses.personal()
            if existing is not None:
                return existing.link
            return (await self._addresses.create(LinkKind.ADDRESS, None, personal=True)).link

    async def get_address(self) -> str | None:
        """Our personal contact address link, or None."""
        info = await self._addresses.personal()
        return None if info is None else info.link

    async def add_address(self, *, kind: str = "a",
                          app_data: bytes | None = None) -> tuple[str, str]:
        """Another contact address of ours, beside the personal one: (address_id, link).

        Its link is of ``kind`` (any but ``i``) and its record carries ``app_data`` (sealed
        to the link's key: whoever has the link can read it, see :meth:`get_link_data`).
        Requests to it come as ``ConnectionRequest`` with this ``address_id``.
        """
        link_kind = check_kind(kind)
        info = await self._addresses.create(link_kind, check_app_data(app_data),
                                            personal=False)
        return info.address_id, info.link

    async def update_address_data(self, address_id: str, app_data: bytes | None) -> None:
        """Replace an address's app data in its link record (the link stays the same)."""
        await self._addresses.update_data(address_id, check_app_data(app_data))

    async def list_addresses(self) -> list[AddressInfo]:
        """All our addresses, the personal one (``personal=True``) included, oldest first."""
        return await self._addresses.list()

    async def delete_address(self, address_id: str | None = None) -> None:
        """Delete an address (None: the personal one, if any): nobody can send requests to
        it any more; requests already received can still be accepted. The other addresses
        are untouched. Raises AddressNotFound for an unknown ``address_id``."""
        ctx = self._ctx
        if address_id is None:
            async with ctx.lock(_PERSONAL_LOCK):
                row = await ctx.read(repo.get_address)
                if row is not None:
                    await self._addresses.delete(row)
            return
        row = await ctx.read(lambda c: repo.address_by_id(c, address_id))
        if row is None:
            raise AddressNotFound(address_id)
        await self._addresses.delete(row)

    async def accept_request(self, request_id: str, my_info: bytes, *,
                             pq: bool | None = None) -> str:
        return await self._handshake.accept_request(request_id, my_info, pq=self._pq(pq))

    async def reject_request(self, request_id: str) -> None:
        await self._handshake.reject_request(request_id)

    # --------------------------------------------------------------------- messages

    async def send(self, conn_id: str, body: bytes, *, receipt: bool = True) -> int:
        """Encrypt and commit (ratchet state + outbox row, one transaction); returns the
        agent message id. The outbox sends it, retrying until the server accepts it.
        ``receipt=False``: the peer sends no delivery receipt for it, and no ``MessageSent``
        or ``DeliveryReceipt`` comes for it (protocol messages of the chat layer)."""
        _check_body(body)
        return (await send_payloads(self._ctx, conn_id, [wire.Msg(body, receipt)]))[0]

    async def send_many(self, items: Sequence[tuple[str, bytes]], *,
                        receipt: bool = True) -> list[int]:
        """Send many messages (e.g. one per group member) in ONE transaction; returns the
        agent message ids in order. All or nothing: on any error nothing is committed."""
        for _, body in items:
            _check_body(body)
        conn_ids = sorted({conn_id for conn_id, _ in items})
        async with contextlib.AsyncExitStack() as stack:
            for conn_id in conn_ids:  # sorted: no deadlock with another send_many
                await stack.enter_async_context(self._ctx.lock(conn_id))
            lives = {conn_id: await self._ctx.load(conn_id) for conn_id in conn_ids}
            for live in lives.values():
                check_open(live)
            try:
                rows = [encrypt_payload(lives[conn_id], wire.Msg(body, receipt))
                        for conn_id, body in items]
                states = {conn_id: sent_state(live) for conn_id, live in lives.items()}

                def unit(c: Connection) -> None:
                    for conn_id, state in states.items():
                        repo.update_connection(c, conn_id, **state)
                    repo.insert_outbox(c, rows)

                await self._ctx.write(unit)
            except BaseException:
                for conn_id in conn_ids:
                    self._ctx.evict(conn_id)
                raise
        for server in {live.snd_server for live in lives.values()}:
            if server is not None:
                self._outbox.notify(server)
        return [row["agent_msg_id"] for row in rows]

    async def message_processed(self, conn_id: str, agent_msg_id: int) -> None:
        """The chat layer committed this message: it is not re-emitted any more, and a
        delivery receipt goes to the peer (coalesced with others processed meanwhile)."""
        changed = await self._ctx.write(
            lambda c: repo.mark_processed(c, conn_id, agent_msg_id))
        if changed:
            self._schedule_receipts(conn_id)

    def _schedule_receipts(self, conn_id: str) -> None:
        self._receipts_due.add(conn_id)
        if conn_id in self._receipt_tasks or not self._started:
            return
        task = asyncio.get_running_loop().create_task(self._send_receipts(conn_id))
        self._receipt_tasks[conn_id] = task

    async def _send_receipts(self, conn_id: str) -> None:
        """Send RCVD for every processed inbox row of the connection, coalescing those
        processed within ``receipt_delay``, until no more are due. A failure (the database
        is locked) is retried with backoff: the rows stay until their receipt is queued."""
        delay, failures = self.config.receipt_delay, 0
        try:
            while conn_id in self._receipts_due:
                await asyncio.sleep(delay)
                self._receipts_due.discard(conn_id)
                try:
                    while await self._send_receipt_batch(conn_id):
                        pass
                except Exception:
                    log.exception("sending receipts of %s failed; retrying", conn_id)
                    self._receipts_due.add(conn_id)
                    delay = self._ctx.retry_delay(failures)
                    failures += 1
                else:
                    delay, failures = self.config.receipt_delay, 0
        finally:
            self._receipt_tasks.pop(conn_id, None)

    async def _send_receipt_batch(self, conn_id: str) -> bool:
        rows = await self._ctx.read(
            lambda c: repo.processed_inbox(c, conn_id, wire.MAX_RECEIPTS))
        if not rows:
            return False
        ids = [row_id for row_id, _, _ in rows]
        receipts = wire.Receipts(tuple(wire.Receipt(msg_id, msg_hash)
                                       for _, msg_id, msg_hash in rows))

        def forget(c: Connection) -> None:
            repo.delete_inbox(c, ids)

        try:
            await send_payloads(self._ctx, conn_id, [receipts], also=forget)
        except ConnectionNotFound:
            return False
        except ConnectionNotReady:
            log.info("receipts of %s wait: the connection cannot send yet", conn_id)
            return False
        return True

    # ------------------------------------------------------------------- management

    async def delete_connection(self, conn_id: str, *, after_outbox: bool = False) -> None:
        """Delete the connection here and tell the peer (DEL), then delete our receive
        queue and any link record on their servers: tried at once (waiting at most
        ``cleanup_wait``), and retried until done if a server cannot be reached, across
        restarts (:mod:`simplextui.agent.cleanup`).

        With ``after_outbox`` the deletion waits until everything already queued on the
        connection (then the DEL) has left the outbox, across restarts; the connection
        accepts no new message meanwhile, and ``ConnectionDeleted(conn_id, by_peer=False)``
        reports the deletion. Without, unsent messages are dropped.
        """
        if after_outbox:
            await deletion.delete_when_sent(self._ctx, conn_id)
        else:
            await deletion.delete_now(self._ctx, conn_id)

    async def safety_code(self, conn_id: str) -> str:
        """60 digits, equal on both sides unless someone is in the middle."""
        async with self._ctx.lock(conn_id):
            live = await self._ctx.load(conn_id)
            if live.ratchet is None:
                raise ConnectionNotReady("the connection has no keys yet (handshake incomplete)")
            return connection_safety_code(live.ratchet.associated_data)

    async def connection_ids(self) -> list[str]:
        return await self._ctx.read(repo.connection_ids)


def _check_body(body: bytes) -> None:
    if not isinstance(body, bytes):
        raise AgentError("a message body must be bytes")
    if len(body) > wire.MAX_MESSAGE_BODY:
        raise AgentError(f"message of {len(body)} bytes; at most {wire.MAX_MESSAGE_BODY}")
