"""Receiving: transport events in, committed state and agent events out.

For each queue message (the transport delivers one per queue at a time, until acked):

1. find the connection (or our address) by recipient id;
2. drop it if its digest is among those recently received (a server redelivery after a
   crash before the ack, or the peer's outbox sending the same bytes twice) — before the
   ratchet sees it;
3. decode and decrypt; check the sequence number and previous-message hash;
4. commit ratchet state, counters, the inbox row (or what the message does), the digest and
   any journaled events in ONE transaction;
5. queue the events for ``on_event``, then ack the server.

A message that is malformed, forged, tampered with or replayed changes nothing: it is
recorded as refused (digest + ConnectionError event) and acked away so it does not block
the queue, and the connection keeps working.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from simplextui.agent import deletion, repo
from simplextui.agent.context import AgentContext, LiveConn, ReceiveTarget, new_id
from simplextui.agent.errors import AgentError, ConnectionNotFound, SimulatedCrash
from simplextui.agent.events import (
    AgentEvent,
    Connected,
    ConnectionDeleted,
    ConnectionError,
    ConnectionRequest,
    DeliveryReceipt,
    IntegrityStatus,
    MessageReceived,
)
from simplextui.agent.messaging import check_integrity, encrypt_payload, send_payloads, sent_state
from simplextui.agent.repo import ConnState, QueueRole
from simplextui.agent.sealing import AddressKeys, open_request
from simplextui.crypto.errors import (
    AuthenticationError,
    CryptoError,
    DuplicateMessage,
    TooManySkippedMessages,
)
from simplextui.crypto.queue_auth import KeyPair, derive_sender_key
from simplextui.crypto.ratchet import Ratchet
from simplextui.crypto.x3dh import InvitationParams, InviterKeys, JoinParams, inviter_agree
from simplextui.protocol import agent as wire
from simplextui.protocol.errors import ProtocolError
from simplextui.transport import (
    DeliveryError,
    QueueDeleted,
    QuotaMarker,
    SenderQueue,
    ServerConnected,
    ServerDisconnected,
    SubscriptionEnded,
    SubscriptionFailed,
    TransportError,
    TransportEvent,
)
from simplextui.transport import (
    MessageReceived as TransportMessage,
)

log = logging.getLogger("simplextui.agent.receive")

BeforeAckHook = Callable[[ReceiveTarget, bytes], Awaitable[None]]
_ADDRESS_LOCK = "\0address"


class _Refused(Exception):
    """The message is refused; the text goes to the ConnectionError event."""


@dataclass(slots=True)
class _Outcome:
    events: list[AgentEvent] = field(default_factory=list)
    journal_ids: list[int] = field(default_factory=list)
    received: MessageReceived | None = None
    notify: set[str] = field(default_factory=set)
    after_ack: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def _describe(exc: Exception) -> str:
    if isinstance(exc, DuplicateMessage):
        return "a replayed message was refused (it had already been received)"
    if isinstance(exc, AuthenticationError):
        return ("a message that failed authentication was refused "
                "(forged, tampered with, or not for this connection)")
    if isinstance(exc, TooManySkippedMessages):
        return "a message too far ahead of the conversation was refused"
    if isinstance(exc, ProtocolError | CryptoError):
        return f"a malformed message was refused ({exc})"
    return f"a message was refused ({exc})"


class Receiver:
    def __init__(self, ctx: AgentContext) -> None:
        self._ctx = ctx
        # Our addresses' request keys by address queue id (shared with agent.addresses).
        self.addresses: dict[int, tuple[str, AddressKeys]] = {}
        self.stopping = False
        self._active: set[asyncio.Task[object]] = set()
        self._digest_counts: dict[bytes, int] = {}
        self._recent: dict[bytes, OrderedDict[bytes, None]] = {}
        # Queues whose last message could not be processed (not stored, not acked): the
        # failures in a row, and those with a resubscription (redelivery) scheduled.
        self._failures: dict[bytes, int] = {}
        self._redelivering: set[bytes] = set()
        # Test hook: runs after the commit and before the server ack (a crash point).
        self.before_ack: BeforeAckHook | None = None

    # ------------------------------------------------------------------ dispatch

    async def handle(self, event: TransportEvent) -> None:
        """The ClientPool's ``on_event``."""
        if self.stopping:
            return
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        try:
            await self._dispatch(event)
        finally:
            if task is not None:
                self._active.discard(task)

    async def wait_idle(self, timeout: float) -> None:
        tasks = [t for t in self._active if t is not asyncio.current_task()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def _dispatch(self, event: TransportEvent) -> None:
        match event:
            case TransportMessage():
                target = self._ctx.rcv_index.get(event.recipient_id)
                if target is None:
                    log.info("message for an unknown queue on %s", event.server.short())
                else:
                    await self._queue_message(target, event)
            case QuotaMarker():
                await self._quota_marker(event)
            case DeliveryError():
                target = self._ctx.rcv_index.get(event.recipient_id)
                if target is not None:
                    await self._ctx.ack(target, event.msg_id)
                    await self._report(target.conn_id, "a message that the server could not "
                                       f"deliver intact was dropped ({event.reason})")
            case SubscriptionEnded() | SubscriptionFailed() | QueueDeleted():
                target = self._ctx.rcv_index.get(event.recipient_id)
                if target is not None:
                    await self._report(target.conn_id, _subscription_text(event))
            case ServerConnected():
                log.info("connected to %s", event.server.short())
            case ServerDisconnected():
                log.info("disconnected from %s: %s", event.server.short(), event.reason)

    async def _queue_message(self, target: ReceiveTarget, event: TransportMessage) -> None:
        """Process a queue message; if that fails for a reason other than the message (the
        database is locked or failing), it was neither stored nor acked, and the server
        holds the queue back until it is subscribed again: subscribe it again after a
        backoff, so that the server delivers the message again."""
        rid = target.queue.recipient_id
        try:
            if target.conn_id is None:
                await self._address_message(target, event)
            else:
                await self._connection_message(target, target.conn_id, event)
        except SimulatedCrash:
            raise  # a test's crash: the process is gone, nothing retries
        except Exception:
            log.exception("receiving a message on %s failed; it will be delivered again",
                          target.conn_id or "an address")
            self._redeliver_later(target)
        else:
            self._failures.pop(rid, None)

    def _redeliver_later(self, target: ReceiveTarget) -> None:
        rid = target.queue.recipient_id
        if self.stopping or rid in self._redelivering:
            return
        failures = self._failures[rid] = self._failures.get(rid, 0) + 1
        cfg = self._ctx.config
        delay = min(cfg.retry_cap, cfg.retry_base * 2 ** min(failures - 1, 30))
        delay *= self._ctx.rng.uniform(0.5, 1.0)
        self._redelivering.add(rid)

        async def resubscribe() -> None:
            try:
                await asyncio.sleep(delay)
                if not self.stopping and self._ctx.rcv_index.get(rid) is target:
                    await self._ctx.subscribe(target.queue.server, [target.queue])
            finally:
                self._redelivering.discard(rid)

        self._ctx.spawn(resubscribe(), name=f"redeliver {target.conn_id or 'address'}")

    async def _report(self, conn_id: str | None, text: str) -> None:
        event = ConnectionError(conn_id, text)
        ids = await self._ctx.write(lambda c: repo.journal(c, [event]))
        self._emit(_Outcome([event], ids))

    def _emit(self, outcome: _Outcome) -> None:
        emitter = self._ctx.emitter
        if emitter is None:
            return
        if outcome.received is not None:
            emitter.put(outcome.received)
        emitter.put_all(outcome.events, outcome.journal_ids)

    async def _finish(self, target: ReceiveTarget, msg_id: bytes,
                      outcome: _Outcome | None) -> None:
        if outcome is not None:
            self._emit(outcome)
        if self.before_ack is not None:
            await self.before_ack(target, msg_id)
        await self._ctx.ack(target, msg_id)
        if outcome is None:
            return
        if self._ctx.outbox is not None:
            for server in outcome.notify:
                self._ctx.outbox.notify(server)
        for action in outcome.after_ack:
            try:
                await action()
            except (TransportError, AgentError) as exc:
                log.info("clean-up after a message failed: %s", exc)

    # -------------------------------------------------------------- digests

    async def _seen(self, recipient_id: bytes, digest: bytes) -> bool:
        """Whether a queue message with these bytes was received recently on this queue.

        The digests are kept in memory per queue, loaded from the database on the queue's
        first message; a digest is added to memory only once its transaction committed.
        """
        recent = self._recent.get(recipient_id)
        if recent is None:
            window = self._ctx.config.dedup_window
            rows = await self._ctx.read(lambda c: repo.recent_digests(c, recipient_id, window))
            recent = self._recent.setdefault(recipient_id, OrderedDict.fromkeys(rows))
        return digest in recent

    def _remember(self, recipient_id: bytes, digest: bytes) -> None:
        recent = self._recent.get(recipient_id)
        if recent is None:
            return  # loaded from the database (where it is) on first use
        recent[digest] = None
        while len(recent) > self._ctx.config.dedup_window:
            recent.popitem(last=False)

    def _digest_writer(self, recipient_id: bytes, digest: bytes) -> Callable[[Connection], None]:
        """The database part of remembering a digest (pruning the queue's old ones now and
        then), to run in the message's transaction."""
        window = self._ctx.config.dedup_window
        count = self._digest_counts.get(recipient_id, 0) + 1
        prune = count >= window
        self._digest_counts[recipient_id] = 0 if prune else count

        def record(c: Connection) -> None:
            repo.add_digest(c, recipient_id, digest)
            if prune:
                repo.prune_digests(c, recipient_id, window)

        return record

    async def _refuse(self, conn_id: str | None, target: ReceiveTarget, digest: bytes,
                      text: str) -> _Outcome:
        log.info("refused a message on %s: %s", conn_id or "the address", text)
        event = ConnectionError(conn_id, text)
        record = self._digest_writer(target.queue.recipient_id, digest)

        def unit(c: Connection) -> list[int]:
            record(c)
            return repo.journal(c, [event])

        return _Outcome([event], await self._ctx.write(unit))

    # ---------------------------------------------------------- connections

    async def _connection_message(self, target: ReceiveTarget, conn_id: str,
                                  ev: TransportMessage) -> None:
        ctx = self._ctx
        digest = hashlib.sha256(ev.body).digest()
        outcome: _Outcome | None = None
        rid = target.queue.recipient_id
        async with ctx.lock(conn_id):
            if await self._seen(rid, digest):
                log.debug("dropped a copy of a message already received on %s", conn_id)
            else:
                try:
                    live = await ctx.load(conn_id)
                    outcome = await self._process(live, target, ev, digest)
                    self._remember(rid, digest)
                except ConnectionNotFound:
                    log.info("message for deleted connection %s dropped", conn_id)
                except (_Refused, ProtocolError, CryptoError) as exc:
                    log.debug("refusing a message on %s", conn_id, exc_info=True)
                    ctx.evict(conn_id)  # the ratchet may have advanced in memory
                    text = str(exc) if isinstance(exc, _Refused) else _describe(exc)
                    outcome = await self._refuse(conn_id, target, digest, text)
                    self._remember(rid, digest)
                except BaseException:
                    ctx.evict(conn_id)
                    raise
        await self._finish(target, ev.msg_id, outcome)

    async def _process(self, live: LiveConn, target: ReceiveTarget, ev: TransportMessage,
                       digest: bytes) -> _Outcome:
        env = wire.decode_envelope(ev.body)
        if isinstance(env, wire.UnknownEnvelope):
            log.info("skipped a message of unknown kind %d on %s", env.tag, live.id)
            await self._ctx.write(self._digest_writer(target.queue.recipient_id, digest))
            return _Outcome()
        if isinstance(env, wire.Confirmation):
            if live.state not in ConnState.AWAITING_CONFIRMATION:
                raise _Refused("an unexpected second confirmation was refused")
            return await self._confirmation(live, target, env, digest)
        if isinstance(env, wire.RatchetEnvelope):
            if live.ratchet is None:
                raise _Refused("a message that arrived before the handshake was refused")
            return await self._ratchet_message(live, target, env, ev, digest)
        raise _Refused("a contact request sent to a connection queue was refused")

    async def _confirmation(self, live: LiveConn, target: ReceiveTarget,
                            env: wire.Confirmation, digest: bytes) -> _Outcome:
        if live.inviter_keys is None:
            raise _Refused("a confirmation arrived but the invitation keys are gone")
        keys = InviterKeys.from_bytes(live.inviter_keys)
        # Hybrid X3DH always: a classical-only reply would be a downgrade.
        shared = inviter_agree(keys, JoinParams.from_bytes(env.join_params), require_pq=True)
        ratchet = Ratchet.init_initiator(shared, keys, pq=live.pq)
        plain = ratchet.decrypt(env.ratchet_message,
                                wire.envelope_header("C", env.version) + env.join_params)
        msg = wire.decode_agent_message(plain)
        info = msg.payload
        if (msg.agent_msg_id != 1 or msg.prev_msg_hash != wire.ZERO_HASH
                or not isinstance(info, wire.Info) or info.reply_queue is None
                or info.reply_queue.server_sender_key is None):
            raise _Refused("a malformed confirmation was refused")
        reply = info.reply_queue
        assert reply.server_sender_key is not None
        keypair = KeyPair.generate()
        try:
            mac_key = derive_sender_key(keypair.exchange(reply.server_sender_key))
        except ValueError:
            raise _Refused("a confirmation with a bad queue key was refused") from None
        sender = SenderQueue(reply.sender_id, reply.server, keypair, mac_key)
        server = str(reply.server)
        live.ratchet = ratchet
        live.last_rcvd_id, live.last_rcvd_hash = 1, msg.msg_hash
        live.snd_queue_id, live.snd_server = 0, server  # the real id comes with the insert
        info_row = encrypt_payload(live, wire.Info(live.my_info or b""))
        values = {"state": ConnState.CONFIRMED, "inviter_keys": None, "peer_info": info.info,
                  "last_rcvd_id": 1, "last_rcvd_hash": msg.msg_hash, **sent_state(live)}
        record = self._digest_writer(target.queue.recipient_id, digest)
        conn_id, creds = live.id, sender.to_dict()
        owner = live.link_owner
        if owner is not None:
            values["link_owner"] = None  # the one-time link is used: its record goes

        def unit(c: Connection) -> int:
            queue_id = repo.insert_queue(c, conn_id=conn_id, role=QueueRole.SND, server=server,
                                         creds=creds)
            repo.update_connection(c, conn_id, **values)
            if owner is not None:
                repo.insert_cleanups(c, [repo.link_cleanup(owner)])
            repo.insert_outbox(c, [
                {"conn_id": conn_id, "queue_id": queue_id, "op": "skey", "kind": "SKEY"},
                {**info_row, "queue_id": queue_id}])
            record(c)
            return queue_id

        live.snd_queue_id = await self._ctx.write(unit)
        live.state, live.inviter_keys, live.peer_info = ConnState.CONFIRMED, None, info.info
        live.link_owner = None
        outcome = _Outcome(notify={server})
        if owner is not None and self._ctx.cleaner is not None:
            cleaner = self._ctx.cleaner

            async def clean() -> None:
                cleaner.notify()

            outcome.after_ack.append(clean)
        return outcome

    async def _ratchet_message(self, live: LiveConn, target: ReceiveTarget,
                               env: wire.RatchetEnvelope, ev: TransportMessage,
                               digest: bytes) -> _Outcome:
        assert live.ratchet is not None
        plain = live.ratchet.decrypt(env.ratchet_message, wire.envelope_header("M", env.version))
        msg = wire.decode_agent_message(plain)
        status = check_integrity(live.last_rcvd_id, live.last_rcvd_hash, msg)
        values: dict[str, object] = {"ratchet": live.ratchet.to_bytes()}
        if status is not None and msg.agent_msg_id > live.last_rcvd_id:
            live.last_rcvd_id, live.last_rcvd_hash = msg.agent_msg_id, msg.msg_hash
            values.update(last_rcvd_id=msg.agent_msg_id, last_rcvd_hash=msg.msg_hash)
        record = self._digest_writer(target.queue.recipient_id, digest)
        conn_id, joined = live.id, live.state == ConnState.JOINED

        def unit(c: Connection) -> _Applied:
            applied = _Applied()
            if status is None:
                log.info("dropped duplicate message %d on %s", msg.agent_msg_id, conn_id)
            else:
                _apply(c, conn_id, joined, msg, status, ev.timestamp_ms, applied)
            if not applied.deleted:
                repo.update_connection(c, conn_id, **values, **applied.values)
            record(c)
            applied.journal_ids = repo.journal(c, applied.events)
            return applied

        applied = await self._ctx.write(unit)
        outcome = _Outcome(applied.events, applied.journal_ids, applied.received)
        if applied.resume and live.snd_server is not None:
            outcome.notify.add(live.snd_server)
        if applied.connected is not None:
            live.state, live.peer_info = ConnState.CONNECTED, applied.connected
        if applied.deleted:
            self._ctx.forget(live.id)
            if live.rcv is not None:
                rcv = live.rcv
                outcome.after_ack.append(lambda: self._delete_queue(rcv))
        return outcome

    async def _delete_queue(self, target: ReceiveTarget) -> None:
        self._recent.pop(target.queue.recipient_id, None)
        self._failures.pop(target.queue.recipient_id, None)
        await deletion.delete_receive_queue(self._ctx, target.queue)

    # ------------------------------------------------------------------- quota

    async def _quota_marker(self, event: QuotaMarker) -> None:
        target = self._ctx.rcv_index.get(event.recipient_id)
        if target is None:
            return
        await self._ctx.ack(target, event.msg_id)
        if target.conn_id is None:
            return
        try:
            await send_payloads(self._ctx, target.conn_id, [wire.QuotaContinue()])
        except AgentError as exc:
            log.info("could not send QCONT on %s: %s", target.conn_id, exc)

    # ----------------------------------------------------------------- address

    async def _address_message(self, target: ReceiveTarget, ev: TransportMessage) -> None:
        digest = hashlib.sha256(ev.body).digest()
        outcome: _Outcome | None = None
        rid = target.queue.recipient_id
        async with self._ctx.lock(_ADDRESS_LOCK):
            if not await self._seen(rid, digest):
                try:
                    outcome = await self._contact_request(target, ev, digest)
                except (_Refused, ProtocolError, CryptoError) as exc:
                    text = str(exc) if isinstance(exc, _Refused) else (
                        f"a malformed contact request was refused ({exc})")
                    outcome = await self._refuse(None, target, digest, text)
                self._remember(rid, digest)
        await self._finish(target, ev.msg_id, outcome)

    async def _contact_request(self, target: ReceiveTarget, ev: TransportMessage,
                               digest: bytes) -> _Outcome:
        entry = self.addresses.get(target.queue_id)
        if entry is None:
            raise _Refused("a contact request for a deleted address was dropped")
        address_id, keys = entry
        env = wire.decode_envelope(ev.body)
        if not isinstance(env, wire.ContactRequestEnvelope):
            raise _Refused("a message that is not a contact request was refused at the address")
        try:
            plain = open_request(keys, env.ephemeral_key, env.kem_ciphertext, env.sealed,
                                 wire.envelope_header("R", env.version))
        except CryptoError:
            raise _Refused("a contact request that failed authentication was refused") from None
        body = wire.decode_contact_request(plain)
        wire.check_version_range(body.invitation.min_version, body.invitation.max_version)
        InvitationParams.from_bytes(body.invitation.x3dh_params)  # validate now, not at accept
        request_id = new_id()
        event = ConnectionRequest(request_id, body.info, address_id)
        invitation = wire.encode_link_payload(body.invitation)
        record = self._digest_writer(target.queue.recipient_id, digest)

        def unit(c: Connection) -> list[int]:
            repo.insert_request(c, request_id, invitation, body.info)
            record(c)
            return repo.journal(c, [event])

        return _Outcome([event], await self._ctx.write(unit))


@dataclass(slots=True)
class _Applied:
    """What a received agent message did, decided on the database thread."""

    events: list[AgentEvent] = field(default_factory=list)
    journal_ids: list[int] = field(default_factory=list)
    received: MessageReceived | None = None
    values: dict[str, object] = field(default_factory=dict)  # connection columns to set
    connected: bytes | None = None  # INFO completed the handshake: the peer's info
    resume: bool = False  # QCONT: wake the outbox
    deleted: bool = False


def _apply(c: Connection, conn_id: str, joined: bool, msg: wire.AgentMessage,
           status: IntegrityStatus, broker_ts_ms: int, out: _Applied) -> None:
    """Do what the message says, in the caller's transaction (no other side effect)."""
    payload = msg.payload
    if isinstance(payload, wire.Msg):
        repo.insert_inbox(c, conn_id=conn_id, agent_msg_id=msg.agent_msg_id, body=payload.body,
                          msg_hash=msg.msg_hash, broker_ts_ms=broker_ts_ms,
                          integrity=status.to_text(), receipt=payload.receipt)
        out.received = MessageReceived(conn_id, msg.agent_msg_id, payload.body, broker_ts_ms,
                                       status)
        return
    if not status.ok:
        out.events.append(ConnectionError(
            conn_id, f"message integrity: {status} (at message {msg.agent_msg_id})"))
    if isinstance(payload, wire.Info):
        if joined:
            out.values.update(state=ConnState.CONNECTED, peer_info=payload.info)
            out.connected = payload.info
            out.events.append(Connected(conn_id, payload.info))
        else:
            log.info("ignored a repeated INFO on %s", conn_id)
    elif isinstance(payload, wire.Receipts):
        for rc in payload.receipts:
            row = repo.sent_message(c, conn_id, rc.agent_msg_id)
            if row is None:
                continue
            if row.msg_hash == rc.msg_hash:
                repo.delete_outbox(c, [row.id])
                out.events.append(DeliveryReceipt(conn_id, rc.agent_msg_id))
            else:
                out.events.append(ConnectionError(
                    conn_id, f"the receipt for message {rc.agent_msg_id} has a different "
                    "hash: the peer received something else"))
    elif isinstance(payload, wire.QuotaContinue):
        out.values.update(retry_at=0.0, quota_paused=False)
        out.resume = True
    elif isinstance(payload, wire.Deleted):
        repo.delete_connection(c, conn_id)
        out.events.append(ConnectionDeleted(conn_id))
        out.deleted = True
    else:
        log.info("skipped an agent message of unknown kind on %s", conn_id)


def _subscription_text(event: SubscriptionEnded | SubscriptionFailed | QueueDeleted) -> str:
    if isinstance(event, SubscriptionEnded):
        return "another client subscribed to this connection's queue; messages go there now"
    if isinstance(event, QueueDeleted):
        return "this connection's receive queue was deleted on its server"
    return f"the server refused to resubscribe this connection's queue ({event.code.value})"
