"""The outbox worker: sends committed outbox rows, per server, in batches.

One worker task per server. A round takes the due rows of that server in ``id`` order (so
each connection's messages stay in order), puts them in ONE ``client.run`` call (at most
``round_limit`` SENDs, which fits in one batch request, so the server applies them in order
as long as the batcher does not split the call; see docs/agent-protocol.md), then records
every outcome in one transaction, which also reads the next round:

- OK: SKEY marks the queue secured; a MSG becomes ``sent`` (its hash is kept until the
  receipt) and reports MessageSent; the inviter's INFO completes the handshake (Connected);
  other rows are deleted;
- QUOTA: the peer's queue is full; the connection pauses until the peer's QCONT, and
  retries slowly (``quota_retry``) in case the QCONT was lost;
- a network or transient server failure: exponential backoff per connection;
- any other refusal (the queue is gone): the row fails and ConnectionError is reported.

A connection whose SKEY is pending sends nothing else in that round. A row sent but not yet
recorded when the process dies is sent again after restart: the receiver drops the copy by
its digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection

from simplextui.agent import deletion, repo
from simplextui.agent.context import AgentContext
from simplextui.agent.errors import SimulatedCrash
from simplextui.agent.events import AgentEvent, Connected, ConnectionError, MessageSent
from simplextui.agent.repo import ConnState, OutboxItem
from simplextui.protocol import queue
from simplextui.protocol import queue_hot as hot
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.transport import Request, SenderQueue, TransportError

log = logging.getLogger("simplextui.agent.outbox")

_TRANSIENT = frozenset({ErrorCode.INTERNAL, ErrorCode.SESSION, ErrorCode.REPLAY,
                        ErrorCode.LARGE_BATCH})
AfterSendHook = Callable[[list[OutboxItem]], Awaitable[None]]


class Outbox:
    def __init__(self, ctx: AgentContext) -> None:
        self._ctx = ctx
        self._workers: dict[str, _Worker] = {}
        self._running = False
        self._senders: dict[tuple[int, str], SenderQueue] = {}
        # Test hook: runs after the server answered a round and before it is recorded.
        self.after_send: AfterSendHook | None = None

    def notify(self, server: str | None = None) -> None:
        """New rows (or a resumed connection) for ``server``; None wakes every worker."""
        if not self._running:
            return
        if server is None:
            for worker in self._workers.values():
                worker.wake()
            return
        found = self._workers.get(server)
        if found is None:
            found = self._workers[server] = _Worker(self, server)
            found.start()
        found.wake()

    async def start(self) -> None:
        self._running = True
        servers = await self._ctx.read(repo.outbox_servers)
        for server in servers:
            self.notify(server)

    async def stop(self) -> None:
        self._running = False
        workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            await worker.stop()

    def sender(self, item: OutboxItem) -> SenderQueue:
        key = (item.queue_id, str(item.creds.get("sender_id")))
        sq = self._senders.get(key)
        if sq is None:
            sq = self._senders[key] = SenderQueue.from_dict(item.creds)
        return sq


class _Worker:
    def __init__(self, outbox: Outbox, server: str) -> None:
        self._outbox = outbox
        self._ctx = outbox._ctx
        self.server = server
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(),
                                                            name=f"outbox {self.server}")

    def wake(self) -> None:
        self._event.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        loaded: tuple[list[OutboxItem], float | None] | None = None
        while True:
            try:
                if loaded is None:
                    self._event.clear()
                    loaded = await self._ctx.read(self._load)
                selected, due = loaded
                loaded = None
                if selected:
                    # The next round comes from the transaction recording this one.
                    loaded = await self._round(selected)
                    continue
            except asyncio.CancelledError:
                raise
            except SimulatedCrash:
                log.info("outbox of %s stopped by a simulated crash", self.server)
                return
            except Exception:
                log.exception("outbox round for %s failed", self.server)
                await asyncio.sleep(1.0)
                continue
            timeout = None if due is None else max(0.005, due - time.time())
            log.debug("outbox of %s idle for %s s", self.server, timeout)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._event.wait()

    def _load(self, c: Connection) -> tuple[list[OutboxItem], float | None]:
        """One read: the next round (with bodies), or when the next row is due."""
        items = repo.due_outbox(c, self.server, time.time(), self._ctx.config.round_limit * 4)
        if not items:
            return [], repo.next_outbox_due(c, self.server)
        selected = self._select(items)
        log.debug("outbox round for %s: %d of %d due", self.server, len(selected), len(items))
        bodies = repo.outbox_bodies(c, [i.id for i in selected if i.op == "send"])
        return [dataclasses.replace(i, body=bodies.get(i.id)) if i.op == "send" else i
                for i in selected], None

    def _select(self, items: list[OutboxItem]) -> list[OutboxItem]:
        cfg = self._ctx.config
        selected: list[OutboxItem] = []
        blocked: set[str] = set()
        per_conn: dict[str, int] = defaultdict(int)
        sends = 0
        for item in items:
            if item.conn_id in blocked:
                continue
            if item.op == "skey":
                selected.append(item)
                blocked.add(item.conn_id)  # its messages go once the queue is secured
                continue
            if sends >= cfg.round_limit:
                break
            if per_conn[item.conn_id] >= cfg.per_connection_limit:
                blocked.add(item.conn_id)
                continue
            per_conn[item.conn_id] += 1
            sends += 1
            selected.append(item)
        return selected

    def _request(self, item: OutboxItem) -> Request:
        sq = self._outbox.sender(item)
        if item.op == "skey":
            assert sq.sender_keypair is not None
            return Request(sq.sender_id, queue.SecureQueue(sq.sender_keypair.public),
                           sq.sender_mac_key)
        flags = queue.FLAG_NOTIFY if item.kind in ("MSG", "REQ", "CONF") else 0
        return Request(sq.sender_id, queue.Send(item.body or b"", flags), sq.sender_mac_key)

    async def _round(self, selected: list[OutboxItem]
                     ) -> tuple[list[OutboxItem], float | None]:
        responses = await self._send(selected)
        if self._outbox.after_send is not None:
            await self._outbox.after_send(selected)
        return await self._record(selected, responses)

    async def _send(self, items: list[OutboxItem]) -> list[queue.Response | None]:
        """Run a round: a response per row, None where the server was not reached."""
        try:
            return list(await self._ctx.client(self.server).run(
                [self._request(item) for item in items]))
        except TransportError as exc:
            log.info("sending to %s failed: %s", self.server, exc)
            return [None] * len(items)
        except ProtocolError as exc:  # raised before anything was sent
            refused = {i: code for i, item in enumerate(items)
                       if (code := _unencodable(item)) is not None}
            log.error("outbox rows cannot be encoded (%s): %d of %d", exc, len(refused),
                      len(items))
            if not refused or len(refused) == len(items):
                return [queue.Err(exc.code)] * len(items)
        # Only those rows fail for good; the others of the round still go, in order.
        rest = iter(await self._send([item for i, item in enumerate(items)
                                      if i not in refused]))
        return [queue.Err(refused[i]) if i in refused else next(rest)
                for i in range(len(items))]

    async def _record(self, selected: list[OutboxItem], responses: list[queue.Response | None]
                      ) -> tuple[list[OutboxItem], float | None]:
        """Record a round's outcomes; returns the next round (read in the same transaction;
        a notify from now on sets the event, so nothing committed later is missed)."""
        now = time.time()
        secured: list[int] = []
        deleted: list[OutboxItem] = []
        sent: list[OutboxItem] = []
        failed: list[OutboxItem] = []
        connected: list[str] = []
        succeeded: set[str] = set()
        quota: set[str] = set()
        transient: set[str] = set()
        errors: dict[str, str] = {}
        events: list[AgentEvent] = []
        for item, response in zip(selected, responses, strict=True):
            if response is None or (isinstance(response, queue.Err)
                                    and response.code in _TRANSIENT):
                transient.add(item.conn_id)
            elif isinstance(response, queue.Err):
                if response.code == ErrorCode.QUOTA:
                    quota.add(item.conn_id)
                else:
                    failed.append(item)
                    errors.setdefault(item.conn_id, _refusal(item, response.code))
            else:
                succeeded.add(item.conn_id)
                if item.op == "skey":
                    secured.append(item.queue_id)
                    deleted.append(item)
                elif item.kind == "MSG":
                    sent.append(item)
                    assert item.agent_msg_id is not None
                    events.append(MessageSent(item.conn_id, item.agent_msg_id))
                else:
                    deleted.append(item)
                    if item.kind == "INFO":
                        connected.append(item.conn_id)
        quota_retry = self._ctx.config.quota_retry
        backoff = self._ctx.retry_delay

        closing = {item.conn_id for item in selected} & self._ctx.closing

        def unit(c: Connection) -> tuple[list[AgentEvent], list[int], list[str], list[str],
                                         tuple[list[OutboxItem], float | None]]:
            repo.mark_secured(c, secured)
            repo.delete_items(c, deleted)
            repo.mark_items(c, sent, state="sent", body=None)
            repo.mark_items(c, failed, state="failed")
            handshakes: list[AgentEvent] = []
            done: list[str] = []
            for conn_id in connected:
                row = repo.get_connection(c, conn_id)
                if row is not None and row.state == ConnState.CONFIRMED:
                    repo.update_connection(c, conn_id, state=ConnState.CONNECTED, my_info=None)
                    handshakes.append(Connected(conn_id, row.peer_info or b""))
                    done.append(conn_id)
            for conn_id in succeeded - quota - transient:
                repo.clear_send_backoff(c, conn_id)
            for conn_id in quota:
                repo.update_connection(c, conn_id, quota_paused=True, retry_at=now + quota_retry)
            for conn_id in transient - quota:
                row = repo.get_connection(c, conn_id)
                if row is not None:
                    repo.update_connection(c, conn_id, send_attempts=row.send_attempts + 1,
                                           retry_at=now + backoff(row.send_attempts))
            # The INFO went before any MSG of its connection.
            all_events = [*handshakes, *events,
                          *(ConnectionError(conn_id, text) for conn_id, text in errors.items())]
            closed = repo.closing_done(c, closing) if closing else []
            return all_events, repo.journal(c, all_events), done, closed, self._load(c)

        self._event.clear()
        events, journal_ids, connected, closed, loaded = await self._ctx.write(unit)
        for conn_id in connected:
            self._ctx.mark_state(conn_id, ConnState.CONNECTED)
        if self._ctx.emitter is not None:
            self._ctx.emitter.put_all(events, journal_ids)
        if closed:
            await deletion.finish(self._ctx, closed)
            self._event.set()  # deleted rows may have been in the next round
        return loaded


def _unencodable(item: OutboxItem) -> ErrorCode | None:
    """Why the row's command cannot be encoded (a body over the limit), or None."""
    if item.op != "send":
        return None
    try:
        hot.send_command_parts(item.body or b"", 0)
    except ProtocolError as exc:
        return exc.code
    return None


def _refusal(item: OutboxItem, code: ErrorCode) -> str:
    if code == ErrorCode.AUTH:
        if item.kind == "REQ":
            return "the contact address no longer exists (its queue is gone)"
        if item.op == "skey":
            return "could not secure the peer's queue: it is gone or taken by someone else"
        what = f"message {item.agent_msg_id}" if item.kind == "MSG" else item.kind
        return f"the peer's queue is gone: {what} was not delivered"
    if code == ErrorCode.LARGE_MSG:
        return f"the server refused {item.kind} {item.agent_msg_id or ''} as too large"
    return f"the server refused {item.kind} ({code.value})"
