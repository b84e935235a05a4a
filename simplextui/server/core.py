"""The queue server's command engine: pure of HTTP, driven by batch request bodies.

All state changes of one batch happen under one lock and are committed in one database
transaction before any response is sent or any message is delivered, so a client that got
OK for a SEND or an ACK can rely on it across a crash of the server.

SEND and ACK, nearly every transmission under load, take a fast path: they are read in
place from the request body (:mod:`simplextui.protocol.queue_hot`) and executed without the
command dataclasses; every other command goes through the reference decoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from simplextui.crypto.queue_auth import (
    KeyPair,
    MacKey,
    derive_link_owner_key,
    derive_recipient_keys,
    derive_sender_key,
    seal_delivery_into,
    verify,
)
from simplextui.protocol import queue as q
from simplextui.protocol import queue_hot as hot
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.server.config import ServerConfig
from simplextui.server.errors_log import ErrorClassLog
from simplextui.server.pending import PendingCache
from simplextui.server.sessions import Session, SessionRegistry, Subscription
from simplextui.server.store import (
    LinkState,
    PendingReads,
    PendingRows,
    QueueState,
    ServerStore,
    StoredMessage,
    WriteSet,
)

log = logging.getLogger("simplextui.server")

_NEGATIVE_CACHE_MAX = 100_000
_NO_REPLY = bytes(q.CORR_ID_SIZE) + b"\x00"  # zero corr_id, empty entity: unparsable
_OK = q.Ok()
_AUTH = q.Err(ErrorCode.AUTH)
_NO_MSG = q.Err(ErrorCode.NO_MSG)
_QUOTA = q.Err(ErrorCode.QUOTA)
_REPLAY = q.Err(ErrorCode.REPLAY)
_SESSION = q.Err(ErrorCode.SESSION)
_KIND_BYTES = {kind.value: kind.value.encode() for kind in q.MessageKind}
_MESSAGE, _QUOTA_MARKER = q.MessageKind.MESSAGE.value, q.MessageKind.QUOTA.value
_MESSAGING, _CONTACT = q.QueueMode.MESSAGING.value, q.QueueMode.CONTACT.value

# What a parsed transmission is (``_Tx.op``).
_SEND, _ACK, _COMMAND, _REFUSED = range(4)


class _Tx:
    """One transmission of a batch, parsed.

    ``arg`` is the body of a SEND, the message id of an ACK, the decoded command of any
    other command, or the ``Err`` answer of a transmission refused while parsing.
    ``authorized`` is what the authenticator must cover (session id included). ``reply``
    starts the response transmission: ``corr_id || short(entity_id)``, as received.
    """

    __slots__ = ("arg", "auth", "authorized", "entity_id", "flags", "op", "reply")

    def __init__(self, op: int, reply: bytes, entity_id: bytes, auth: bytes,
                 authorized: bytes, arg: object, flags: int = 0) -> None:
        self.op = op
        self.reply = reply
        self.entity_id = entity_id
        self.auth = auth
        self.authorized = authorized
        self.arg = arg
        self.flags = flags


class _MessageIds:
    """Random message ids, read from the OS 256 at a time (one system call, not 256)."""

    _BLOCK = 256 * q.ID_SIZE

    def __init__(self) -> None:
        self._random = b""
        self._pos = 0

    def next(self) -> bytes:
        pos = self._pos
        if pos + q.ID_SIZE > len(self._random):
            self._random = os.urandom(self._BLOCK)
            pos = 0
        self._pos = pos + q.ID_SIZE
        return self._random[pos : pos + q.ID_SIZE]


@dataclass(slots=True)
class _BatchEffects:
    """What to do once the batch is committed."""

    fetch_next: set[int] = field(default_factory=set)  # deliver the queue's oldest message
    ended: list[tuple[Session, bytes]] = field(default_factory=list)
    deleted: list[tuple[Session, bytes]] = field(default_factory=list)
    new_states: list[QueueState] = field(default_factory=list)
    deleted_states: list[QueueState] = field(default_factory=list)


class QueueServerCore:
    def __init__(self, store: ServerStore, config: ServerConfig,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.sessions = SessionRegistry()
        self.errors = ErrorClassLog()
        self._lock = asyncio.Lock()
        self._by_pk: dict[int, QueueState] = {}
        self._by_rid: dict[bytes, QueueState] = {}
        self._by_sid: dict[bytes, QueueState] = {}
        self._unknown_ids: set[bytes] = set()
        self._links: dict[bytes, LinkState] = {}
        self._unknown_links: set[bytes] = set()
        self._subs: dict[int, Subscription] = {}
        self._pending = PendingCache(config.pending_cache_bytes)
        self._message_ids = _MessageIds()
        self._plaintext = hot.DeliveredWriter()
        self._next_seq = 1
        self._next_queue_pk = 1
        # Unknown entities are checked against these so that they cost what known ones do.
        self._dummy_key = os.urandom(32)
        self._dummy_mac = MacKey(self._dummy_key)
        self._dummy_pair = KeyPair.generate()
        self._sweeper: asyncio.Task[None] | None = None
        self.stopping = False  # set on shutdown: new sessions and streams are refused

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        max_seq, max_pk = await self.store.max_ids()
        self._next_seq = max_seq + 1
        self._next_queue_pk = max_pk + 1
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="queue-server-sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        self.close_streams()

    def close_streams(self) -> None:
        for session in self.sessions.all():
            self.sessions.close(session)

    # ------------------------------------------------------------------- sessions

    def open_session(self, hello: q.SessionHello) -> q.SessionInfo:
        version = q.negotiate_version(hello)
        session = self.sessions.open(version)
        return q.SessionInfo(version, session.session_id, int(self.clock() * 1000))

    # -------------------------------------------------------------------- batches

    async def handle_batch(self, session: Session, data: bytes,
                           spans: list[tuple[int, int]]) -> bytes:
        """Run the transmissions at ``spans`` of a batch request body ``data`` (see
        :func:`queue_hot.split_batch_request`); returns the encoded batch response."""
        async with self._lock:
            return await self._handle_locked(session, data, spans)

    async def _handle_locked(self, session: Session, data: bytes,
                             spans: list[tuple[int, int]]) -> bytes:
        now_ms = int(self.clock() * 1000)
        txs = self._parse(session, data, spans)
        await self._preload(txs)

        writes = WriteSet()
        effects = _BatchEffects()
        answers: list[q.Response] = []
        for t in txs:
            op = t.op
            try:
                if op == _SEND:
                    resp = self._send(t.entity_id, t.auth, t.authorized, t.flags,
                                      t.arg, writes, effects, now_ms)  # type: ignore[arg-type]
                elif op == _ACK:
                    resp = self._ack(session, t, writes, effects)
                elif op == _COMMAND:
                    resp = self._execute(session, t, t.arg, writes, effects,  # type: ignore[arg-type]
                                         now_ms)
                else:
                    resp = t.arg  # type: ignore[assignment]
            except ProtocolError as exc:
                resp = q.Err(exc.code)
            answers.append(resp)

        not_before = self._not_before(now_ms)
        ready, reads = self._plan_deliveries(effects.fetch_next, not_before)
        try:
            rows = PendingRows()
            if writes or reads is not None:
                rows = await self.store.apply(writes, now_ms, reads)
        except Exception:
            log.exception("database write failed; batch refused")
            self._forget_cached_state()
            self.errors.note("INTERNAL")
            internal = q.encode_response(q.Err(ErrorCode.INTERNAL))
            return hot.encode_batch_response([t.reply for t in txs], [internal] * len(txs))

        for state in effects.new_states:
            self._cache_queue(state)
        for link_id in writes.deleted_links:  # committed: the id is unknown from now on
            self._links.pop(link_id, None)
            self._unknown_links.add(link_id)
        self._run_effects(effects)
        self._deliver_planned(ready, rows, not_before)
        encoded: list[bytes] = []
        for resp in answers:
            if resp is _OK:
                encoded.append(hot.OK)
            else:
                if isinstance(resp, q.Err):
                    self.errors.note(resp.code.value)
                encoded.append(q.encode_response(resp))
        return hot.encode_batch_response([t.reply for t in txs], encoded)

    def _parse(self, session: Session, data: bytes, spans: list[tuple[int, int]]) -> list[_Tx]:
        """Decode every transmission; replayed ones and those over the session's allowance
        are refused here (and not executed)."""
        session_id = session.session_id
        seen = session.seen
        limit = self.config.max_session_transmissions
        txs: list[_Tx] = []
        for start, end in spans:
            try:
                auth, corr_id, entity_id, covered, at = hot.transmission_fields(data, start, end)
            except ProtocolError as exc:
                txs.append(_Tx(_REFUSED, _NO_REPLY, b"", b"", b"", q.Err(exc.code)))
                continue
            reply = data[covered:at]
            if corr_id in seen:
                txs.append(_Tx(_REFUSED, reply, entity_id, auth, b"", _REPLAY))
                continue
            if len(seen) >= limit:
                txs.append(_Tx(_REFUSED, reply, entity_id, auth, b"", _SESSION))
                continue
            seen.add(corr_id)
            send = hot.send_fields(data, at, end)
            if send is not None:
                flags, body, covered_end = send
                txs.append(_Tx(_SEND, reply, entity_id, auth,
                               session_id + data[covered:covered_end], body, flags))
                continue
            msg_id = hot.ack_msg_id(data, at, end)
            if msg_id is not None:
                txs.append(_Tx(_ACK, reply, entity_id, auth, session_id + data[covered:end],
                               msg_id))
                continue
            command = data[at:end]
            try:
                cmd = q.decode_command(command)
            except ProtocolError as exc:
                txs.append(_Tx(_REFUSED, reply, entity_id, auth, b"", q.Err(exc.code)))
                continue
            authorized = q.authorized_bytes(session_id, corr_id, entity_id, command)
            txs.append(_Tx(_COMMAND, reply, entity_id, auth, authorized, cmd))
        return txs

    async def _preload(self, txs: list[_Tx]) -> None:
        rids: set[bytes] = set()
        sids: set[bytes] = set()
        lids: set[bytes] = set()
        by_rid, by_sid, unknown = self._by_rid, self._by_sid, self._unknown_ids
        for t in txs:
            e, op = t.entity_id, t.op
            if op == _SEND:
                if e not in by_sid and e not in unknown:
                    sids.add(e)
            elif op == _ACK:
                if e not in by_rid and e not in unknown:
                    rids.add(e)
            elif op == _COMMAND:
                cmd = t.arg
                if isinstance(cmd, q.RECIPIENT_COMMANDS):
                    if e not in by_rid and e not in unknown:
                        rids.add(e)
                elif isinstance(cmd, q.SENDER_COMMANDS):
                    if e not in by_sid and e not in unknown:
                        sids.add(e)
                elif (isinstance(cmd, q.LinkNew | q.LinkGet | q.LinkSet | q.LinkDelete)
                      and e not in self._links and e not in self._unknown_links):
                    lids.add(e)
        if rids or sids:
            for state in await self.store.load_queues(recipient_ids=sorted(rids),
                                                      sender_ids=sorted(sids)):
                if state.pk not in self._by_pk:
                    self._cache_queue(state)
            if len(self._unknown_ids) > _NEGATIVE_CACHE_MAX:
                self._unknown_ids.clear()
            self._unknown_ids.update(i for i in rids if i not in self._by_rid)
            self._unknown_ids.update(i for i in sids if i not in self._by_sid)
        if lids:
            for link in await self.store.load_links(sorted(lids)):
                self._links[link.link_id] = link
            if len(self._unknown_links) > _NEGATIVE_CACHE_MAX:
                self._unknown_links.clear()
            self._unknown_links.update(i for i in lids if i not in self._links)

    def _cache_queue(self, state: QueueState) -> None:
        # MAC keys are set up here, for known and unknown ids alike (see _recipient_state).
        state.recipient_mac = MacKey(state.recipient_mac_key)
        if state.sender_mac_key is not None:
            state.sender_mac = MacKey(state.sender_mac_key)
        self._by_pk[state.pk] = state
        self._by_rid[state.recipient_id] = state
        self._by_sid[state.sender_id] = state

    def _uncache_queue(self, state: QueueState) -> None:
        self._pending.drop(state)
        self._by_pk.pop(state.pk, None)
        self._by_rid.pop(state.recipient_id, None)
        self._by_sid.pop(state.sender_id, None)

    def _forget_cached_state(self) -> None:
        for state in self._by_pk.values():
            state.pending = None
        self._pending.clear()
        self._by_pk.clear()
        self._by_rid.clear()
        self._by_sid.clear()
        self._unknown_ids.clear()
        self._links.clear()
        self._unknown_links.clear()

    # ------------------------------------------------------------------- commands

    def _execute(self, session: Session, t: _Tx, cmd: q.Command, w: WriteSet,
                 fx: _BatchEffects, now_ms: int) -> q.Response:
        authorized = t.authorized
        match cmd:
            case q.Ping():
                return q.Pong()
            case q.New():
                return self._new_queue(t, cmd, w, fx)
            case q.Subscribe() | q.Ack() | q.Suspend() | q.Delete():
                state = self._recipient_state(t)
                if state is None:
                    return _AUTH
                return self._recipient_command(session, state, cmd, w, fx)
            case q.SecureQueue():
                return self._secure(t, cmd, authorized, w)
            case q.Send():
                return self._send(t.entity_id, t.auth, authorized, cmd.flags, cmd.body, w, fx,
                                  now_ms)
            case q.LinkNew():
                return self._link_new(t, cmd, w)
            case q.LinkGet():
                link = self._links.get(t.entity_id)
                if link is None or link.deleted:
                    return _AUTH
                return q.LinkData(link.fixed_data, link.user_data)
            case q.LinkSet() | q.LinkDelete():
                link = self._links.get(t.entity_id)
                key = link.owner_mac_key if link is not None else self._dummy_key
                ok = bool(t.auth) and verify(key, authorized, t.auth)
                if not ok or link is None or link.deleted:
                    return _AUTH
                if isinstance(cmd, q.LinkSet):
                    link.user_data = cmd.user_data
                    w.updated_links.append({"lid": link.link_id, "user_data": cmd.user_data})
                else:
                    link.deleted = True
                    w.deleted_links.append(link.link_id)
                return _OK
        raise ProtocolError(ErrorCode.SYNTAX, "unhandled command")

    def _recipient_state(self, t: _Tx) -> QueueState | None:
        """The queue a recipient command is for, if its authenticator is right. An unknown
        queue is checked against a dummy key, so that it costs what a wrong key does."""
        state = self._by_rid.get(t.entity_id)
        mac = state.recipient_mac if state is not None else None
        ok = bool(t.auth) and (mac or self._dummy_mac).verify(t.authorized, t.auth)
        if not ok or state is None or state.deleted:
            return None
        return state

    def _new_queue(self, t: _Tx, cmd: q.New, w: WriteSet, fx: _BatchEffects) -> q.Response:
        if t.entity_id:
            return q.Err(ErrorCode.SYNTAX)
        server_recipient = KeyPair.generate()
        try:
            keys = derive_recipient_keys(server_recipient.exchange(cmd.recipient_key))
        except ValueError:
            return q.Err(ErrorCode.SYNTAX)
        server_sender = KeyPair.generate()
        state = QueueState(
            pk=self._next_queue_pk, recipient_id=os.urandom(q.ID_SIZE),
            sender_id=os.urandom(q.ID_SIZE), mode=cmd.mode.value, status="A",
            recipient_mac_key=keys.mac_key, delivery_key=keys.delivery_key,
            server_sender_public=server_sender.public,
            server_sender_private=server_sender.private, sender_public=None, sender_mac_key=None)
        state.pending = deque()  # a new queue is empty: its list is complete
        state.server_sender_pair = server_sender
        self._next_queue_pk += 1
        w.new_queues.append({
            "id": state.pk, "recipient_id": state.recipient_id, "sender_id": state.sender_id,
            "mode": state.mode, "status": state.status,
            "recipient_mac_key": state.recipient_mac_key, "delivery_key": state.delivery_key,
            "server_sender_public": state.server_sender_public,
            "server_sender_private": state.server_sender_private})
        fx.new_states.append(state)
        return q.QueueIds(state.recipient_id, state.sender_id, server_recipient.public,
                          server_sender.public)

    def _ack(self, session: Session, t: _Tx, w: WriteSet, fx: _BatchEffects) -> q.Response:
        """ACK on the fast path (``t.arg`` is the message id)."""
        state = self._recipient_state(t)
        if state is None:
            return _AUTH
        return self._acknowledge(session, state, t.arg, w, fx)  # type: ignore[arg-type]

    def _acknowledge(self, session: Session, state: QueueState, msg_id: bytes, w: WriteSet,
                     fx: _BatchEffects) -> q.Response:
        sub = self._subs.get(state.pk)
        if (sub is None or sub.session is not session or sub.in_flight_seq is None
                or sub.in_flight_msg_id != msg_id):
            return _NO_MSG
        w.acked_seqs.append(sub.in_flight_seq)
        self._pending.remove(state, sub.in_flight_seq)
        if sub.in_flight_kind == _QUOTA_MARKER:
            state.can_write = True
        else:
            state.message_count = max(0, state.message_count - 1)
        sub.in_flight_seq = sub.in_flight_msg_id = sub.in_flight_kind = None
        fx.fetch_next.add(state.pk)
        return _OK

    def _recipient_command(self, session: Session, state: QueueState, cmd: q.Command,
                           w: WriteSet, fx: _BatchEffects) -> q.Response:
        sub = self._subs.get(state.pk)
        match cmd:
            case q.Subscribe():
                if sub is not None and sub.session is not session:
                    sub.session.subscriptions.pop(state.pk, None)
                    fx.ended.append((sub.session, state.recipient_id))
                sub = Subscription(session, state.pk)
                session.subscriptions[state.pk] = sub
                self._subs[state.pk] = sub
                fx.fetch_next.add(state.pk)  # (re)deliver the oldest unacknowledged message
                return _OK
            case q.Ack(msg_id):
                return self._acknowledge(session, state, msg_id, w, fx)
            case q.Suspend():
                state.status = "O"
                w.suspended.append(state.pk)
                return _OK
            case q.Delete():
                state.deleted = True
                w.deleted_queues.append(state.pk)
                fx.deleted_states.append(state)
                if sub is not None:
                    self._subs.pop(state.pk, None)
                    sub.session.subscriptions.pop(state.pk, None)
                    if sub.session is not session:
                        fx.deleted.append((sub.session, state.recipient_id))
                fx.fetch_next.discard(state.pk)
                return _OK
        raise ProtocolError(ErrorCode.SYNTAX, "unhandled recipient command")

    def _secure(self, t: _Tx, cmd: q.SecureQueue, authorized: bytes,
                w: WriteSet) -> q.Response:
        state = self._by_sid.get(t.entity_id)
        if state is None or state.deleted or not t.auth:
            self._dummy_pair.exchange(self._dummy_pair.public)  # same cost as a real attempt
            verify(self._dummy_key, authorized, t.auth or bytes(q.AUTH_SIZE))
            return _AUTH
        if state.mode != _MESSAGING:
            return q.Err(ErrorCode.PROHIBITED)
        if state.sender_public is not None:
            # A retry with the same key succeeds; any other key is refused.
            assert state.sender_mac_key is not None
            if state.sender_public == cmd.sender_key and verify(state.sender_mac_key,
                                                                authorized, t.auth):
                return _OK
            return _AUTH
        assert state.server_sender_private is not None
        pair = state.server_sender_pair or KeyPair(state.server_sender_private,
                                                   state.server_sender_public)
        try:
            mac_key = derive_sender_key(pair.exchange(cmd.sender_key))
        except ValueError:
            return _AUTH
        if not verify(mac_key, authorized, t.auth):
            return _AUTH
        state.sender_public = cmd.sender_key
        state.sender_mac_key = mac_key
        state.sender_mac = MacKey(mac_key)
        state.server_sender_private = state.server_sender_pair = None
        w.secured.append({"pk": state.pk, "sender_public": cmd.sender_key,
                          "sender_mac_key": mac_key})
        return _OK

    def _send(self, entity_id: bytes, auth: bytes, authorized: bytes, flags: int, body: bytes,
              w: WriteSet, fx: _BatchEffects, now_ms: int) -> q.Response:
        state = self._by_sid.get(entity_id)
        if state is None or state.deleted:
            self._dummy_mac.verify(authorized, auth or bytes(q.AUTH_SIZE))
            return _AUTH
        if state.mode == _CONTACT:
            if auth:
                return _AUTH
        else:
            mac = state.sender_mac or self._dummy_mac
            ok = bool(auth) and mac.verify(authorized, auth)
            if not ok or state.sender_mac is None:
                return _AUTH
        if state.status != "A":
            return _AUTH
        if not state.can_write:
            return _QUOTA
        if state.message_count >= self.config.queue_quota:
            state.can_write = False
            self._store_message(state, _QUOTA_MARKER, 0, b"", w, fx, now_ms)
            return _QUOTA
        self._store_message(state, _MESSAGE, flags, body, w, fx, now_ms)
        state.message_count += 1
        return _OK

    def _store_message(self, state: QueueState, kind: str, flags: int, body: bytes,
                       w: WriteSet, fx: _BatchEffects, now_ms: int) -> None:
        msg = StoredMessage(self._next_seq, state.pk, self._message_ids.next(), kind, flags,
                            now_ms, body)
        self._next_seq += 1
        w.new_messages.append(msg)
        if state.pending is not None:
            self._pending.add(state, msg)
        sub = self._subs.get(state.pk)
        if sub is not None and sub.in_flight_seq is None:
            fx.fetch_next.add(state.pk)

    def _link_new(self, t: _Tx, cmd: q.LinkNew, w: WriteSet) -> q.Response:
        if len(t.entity_id) != q.ID_SIZE:
            return q.Err(ErrorCode.SYNTAX)
        existing = self._links.get(t.entity_id)
        if existing is not None and not existing.deleted:
            # Retrying the same creation is safe; anything else is a clash.
            if existing.owner_public == cmd.owner_key and existing.fixed_data == cmd.fixed_data:
                return q.LinkIds(existing.server_public)
            return q.Err(ErrorCode.DUPLICATE)
        server_pair = KeyPair.generate()
        try:
            mac_key = derive_link_owner_key(server_pair.exchange(cmd.owner_key))
        except ValueError:
            return q.Err(ErrorCode.SYNTAX)
        if existing is not None:  # deleted in this same batch: the row is gone only at commit
            return q.Err(ErrorCode.DUPLICATE)
        link = LinkState(t.entity_id, cmd.owner_key, server_pair.public, mac_key,
                         cmd.fixed_data, cmd.user_data)
        self._links[link.link_id] = link
        self._unknown_links.discard(link.link_id)
        w.new_links.append({"link_id": link.link_id, "owner_public": link.owner_public,
                            "server_public": link.server_public,
                            "owner_mac_key": link.owner_mac_key,
                            "fixed_data": link.fixed_data, "user_data": link.user_data})
        return q.LinkIds(server_pair.public)

    # ------------------------------------------------------------------ delivery

    def _not_before(self, now_ms: int) -> int:
        return now_ms - int(self.config.message_ttl * 1000)

    def _plan_deliveries(self, pks: set[int], not_before: int
                         ) -> tuple[list[StoredMessage], PendingReads | None]:
        """For each queue whose subscriber is ready (nothing in flight): its next message,
        from the pending cache where it knows the queue; the rest is read from the database
        with the batch's writes (see server/pending.py)."""
        ready: list[StoredMessage] = []
        rebuild: list[int] = []
        bodies: list[int] = []
        for pk in pks:
            sub = self._subs.get(pk)
            state = self._by_pk.get(pk)
            if sub is None or state is None or sub.in_flight_seq is not None:
                continue
            if state.pending is None:
                rebuild.append(pk)
                continue
            msg = self._pending.first(state, not_before)
            if msg is not None:
                ready.append(msg)
                if msg.body is None:
                    bodies.append(msg.seq)
        if not rebuild and not bodies:
            return ready, None
        return ready, PendingReads(rebuild, bodies, not_before)

    def _deliver_planned(self, ready: list[StoredMessage], rows: PendingRows,
                         not_before: int) -> None:
        for pk, messages in rows.lists.items():
            state = self._by_pk.get(pk)
            if state is None:
                continue
            self._pending.install(state, messages)
            msg = self._pending.first(state, not_before)
            if msg is not None:
                ready.append(msg)
        for msg in ready:
            body = msg.body if msg.body is not None else rows.bodies.get(msg.seq)
            if body is not None:
                self._deliver(msg, body)

    def _run_effects(self, fx: _BatchEffects) -> None:
        for session, rid in fx.ended:
            session.push(q.EndFrame(rid))
        for session, rid in fx.deleted:
            session.push(q.DeletedFrame(rid))
        for state in fx.deleted_states:
            self._uncache_queue(state)

    async def _deliver_next(self, pks: set[int], now_ms: int) -> None:
        not_before = self._not_before(now_ms)
        ready, reads = self._plan_deliveries(pks, not_before)
        rows = PendingRows() if reads is None else await self.store.read_pending(reads)
        self._deliver_planned(ready, rows, not_before)

    def _deliver(self, msg: StoredMessage, body: bytes) -> None:
        pk = msg.queue_pk
        sub = self._subs.get(pk)
        state = self._by_pk.get(pk)
        if sub is None or state is None or sub.in_flight_seq is not None:
            return
        sub.in_flight_seq, sub.in_flight_msg_id, sub.in_flight_kind = msg.seq, msg.msg_id, msg.kind
        plaintext = self._plaintext.write(msg.created_at, msg.flags, _KIND_BYTES[msg.kind], body)
        frame, block = hot.message_frame(state.recipient_id, msg.msg_id)
        seal_delivery_into(state.delivery_key, msg.msg_id, plaintext, block)
        sub.session.push_encoded(frame)

    # ------------------------------------------------------------------- sweeping

    async def sweep(self) -> int:
        """Delete expired messages, drop idle sessions; returns messages expired."""
        async with self._lock:
            now_ms = int(self.clock() * 1000)
            gone = await self.store.expire(now_ms - int(self.config.message_ttl * 1000))
            refetch: set[int] = set()
            for pk, seq in gone:
                state = self._by_pk.get(pk)
                if state is not None:
                    self._uncache_queue(state)  # reloaded with fresh counters when next used
                sub = self._subs.get(pk)
                if sub is not None and sub.in_flight_seq == seq:
                    sub.in_flight_seq = sub.in_flight_msg_id = sub.in_flight_kind = None
                    refetch.add(pk)
            if refetch:
                # Reload states of subscribed queues so delivery can encrypt to them.
                await self._reload_by_pk(refetch)
                await self._deliver_next(refetch, now_ms)
            for session in self.sessions.idle(self.config.session_idle_ttl):
                for pk in list(session.subscriptions):
                    if self._subs.get(pk) is session.subscriptions[pk]:
                        del self._subs[pk]
                self.sessions.close(session)
            if gone:
                log.info("expired %d messages", len(gone))
            return len(gone)

    async def _reload_by_pk(self, pks: set[int]) -> None:
        if not pks:
            return
        rids = await self.store.recipient_ids(sorted(pks))
        for state in await self.store.load_queues(recipient_ids=rids):
            self._cache_queue(state)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.expiry_interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("sweep failed")
