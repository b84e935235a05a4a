"""The queue server's command engine: pure of HTTP, driven by decoded batches.

All state changes of one batch happen under one lock and are committed in one database
transaction before any response is sent or any message is delivered, so a client that got
OK for a SEND or an ACK can rely on it across a crash of the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simplextui.crypto.queue_auth import (
    KeyPair,
    derive_link_owner_key,
    derive_recipient_keys,
    derive_sender_key,
    seal_delivery,
    verify,
)
from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.server.config import ServerConfig
from simplextui.server.errors_log import ErrorClassLog
from simplextui.server.sessions import Session, SessionRegistry, Subscription
from simplextui.server.store import LinkState, QueueState, ServerStore, StoredMessage, WriteSet

log = logging.getLogger("simplextui.server")

_NEGATIVE_CACHE_MAX = 100_000
_NO_CORR_ID = bytes(q.CORR_ID_SIZE)


@dataclass(slots=True)
class _BatchEffects:
    """What to do once the batch is committed."""

    direct: dict[int, StoredMessage] = field(default_factory=dict)  # deliver without a query
    fetch_next: set[int] = field(default_factory=set)  # look up the oldest message and deliver
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
        self._next_seq = 1
        self._next_queue_pk = 1
        # Unknown entities are checked against these so that they cost what known ones do.
        self._dummy_key = os.urandom(32)
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

    async def handle_batch(self, session: Session, raw: list[bytes]) -> list[bytes]:
        async with self._lock:
            return await self._handle_locked(session, raw)

    async def _handle_locked(self, session: Session, raw: list[bytes]) -> list[bytes]:
        now_ms = int(self.clock() * 1000)
        parsed: list[tuple[q.Transmission, q.Command | q.Err]] = []
        responses: list[q.ResponseTransmission | None] = []
        for item in raw:
            try:
                t = q.decode_transmission(item)
            except ProtocolError as exc:
                responses.append(q.ResponseTransmission(_NO_CORR_ID, b"", q.Err(exc.code)))
                parsed.append((q.Transmission(_NO_CORR_ID, b"", b""), q.Err(exc.code)))
                continue
            responses.append(None)
            cmd: q.Command | q.Err
            if t.corr_id in session.seen:
                cmd = q.Err(ErrorCode.REPLAY)
            elif len(session.seen) >= self.config.max_session_transmissions:
                cmd = q.Err(ErrorCode.SESSION)
            else:
                session.seen.add(t.corr_id)
                try:
                    cmd = q.decode_command(t.command)
                except ProtocolError as exc:
                    cmd = q.Err(exc.code)
            parsed.append((t, cmd))
        await self._preload(parsed)

        writes = WriteSet()
        effects = _BatchEffects()
        for i, (t, cmd) in enumerate(parsed):
            if responses[i] is not None:
                continue
            if isinstance(cmd, q.Err):
                resp: q.Response = cmd
            else:
                try:
                    resp = self._execute(session, t, cmd, writes, effects, now_ms)
                except ProtocolError as exc:
                    resp = q.Err(exc.code)
            responses[i] = q.ResponseTransmission(t.corr_id, t.entity_id, resp)

        fetch = self._wanted(effects.fetch_next)
        try:
            first: dict[int, StoredMessage] = {}
            if writes or fetch:
                first = await self.store.apply(writes, now_ms, fetch, self._not_before(now_ms))
        except Exception:
            log.exception("database write failed; batch refused")
            self._forget_cached_state()
            self.errors.note("INTERNAL")
            return [q.encode_response_transmission(
                q.ResponseTransmission(r.corr_id, r.entity_id, q.Err(ErrorCode.INTERNAL)))
                for r in responses if r is not None]

        for state in effects.new_states:
            self._cache_queue(state)
        for link_id in writes.deleted_links:  # committed: the id is unknown from now on
            self._links.pop(link_id, None)
            self._unknown_links.add(link_id)
        self._run_effects(effects, first)
        out: list[bytes] = []
        for r in responses:
            assert r is not None
            if isinstance(r.response, q.Err):
                self.errors.note(r.response.code.value)
            out.append(q.encode_response_transmission(r))
        return out

    async def _preload(self, parsed: list[tuple[q.Transmission, q.Command | q.Err]]) -> None:
        rids: set[bytes] = set()
        sids: set[bytes] = set()
        lids: set[bytes] = set()
        for t, cmd in parsed:
            e = t.entity_id
            if isinstance(cmd, q.RECIPIENT_COMMANDS):
                if e not in self._by_rid and e not in self._unknown_ids:
                    rids.add(e)
            elif isinstance(cmd, q.SENDER_COMMANDS):
                if e not in self._by_sid and e not in self._unknown_ids:
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
        self._by_pk[state.pk] = state
        self._by_rid[state.recipient_id] = state
        self._by_sid[state.sender_id] = state

    def _uncache_queue(self, state: QueueState) -> None:
        self._by_pk.pop(state.pk, None)
        self._by_rid.pop(state.recipient_id, None)
        self._by_sid.pop(state.sender_id, None)

    def _forget_cached_state(self) -> None:
        self._by_pk.clear()
        self._by_rid.clear()
        self._by_sid.clear()
        self._unknown_ids.clear()
        self._links.clear()
        self._unknown_links.clear()

    # ------------------------------------------------------------------- commands

    def _execute(self, session: Session, t: q.Transmission, cmd: q.Command, w: WriteSet,
                 fx: _BatchEffects, now_ms: int) -> q.Response:
        authorized = q.authorized_bytes(session.session_id, t.corr_id, t.entity_id, t.command)
        match cmd:
            case q.Ping():
                return q.Pong()
            case q.New():
                return self._new_queue(t, cmd, w, fx)
            case q.Subscribe() | q.Ack() | q.Suspend() | q.Delete():
                state = self._by_rid.get(t.entity_id)
                key = state.recipient_mac_key if state is not None else self._dummy_key
                ok = bool(t.auth) and verify(key, authorized, t.auth)
                if not ok or state is None or state.deleted:
                    return q.Err(ErrorCode.AUTH)
                return self._recipient_command(session, state, cmd, w, fx)
            case q.SecureQueue():
                return self._secure(t, cmd, authorized, w)
            case q.Send():
                return self._send(t, cmd, authorized, w, fx, now_ms)
            case q.LinkNew():
                return self._link_new(t, cmd, w)
            case q.LinkGet():
                link = self._links.get(t.entity_id)
                if link is None or link.deleted:
                    return q.Err(ErrorCode.AUTH)
                return q.LinkData(link.fixed_data, link.user_data)
            case q.LinkSet() | q.LinkDelete():
                link = self._links.get(t.entity_id)
                key = link.owner_mac_key if link is not None else self._dummy_key
                ok = bool(t.auth) and verify(key, authorized, t.auth)
                if not ok or link is None or link.deleted:
                    return q.Err(ErrorCode.AUTH)
                if isinstance(cmd, q.LinkSet):
                    link.user_data = cmd.user_data
                    w.updated_links.append({"lid": link.link_id, "user_data": cmd.user_data})
                else:
                    link.deleted = True
                    w.deleted_links.append(link.link_id)
                return q.Ok()
        raise ProtocolError(ErrorCode.SYNTAX, "unhandled command")

    def _new_queue(self, t: q.Transmission, cmd: q.New, w: WriteSet,
                   fx: _BatchEffects) -> q.Response:
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
                fx.direct.pop(state.pk, None)
                return q.Ok()
            case q.Ack(msg_id):
                if (sub is None or sub.session is not session or sub.in_flight_seq is None
                        or sub.in_flight_msg_id != msg_id):
                    return q.Err(ErrorCode.NO_MSG)
                w.acked_seqs.append(sub.in_flight_seq)
                if sub.in_flight_kind == q.MessageKind.QUOTA.value:
                    state.can_write = True
                else:
                    state.message_count = max(0, state.message_count - 1)
                sub.in_flight_seq = sub.in_flight_msg_id = sub.in_flight_kind = None
                fx.fetch_next.add(state.pk)
                return q.Ok()
            case q.Suspend():
                state.status = "O"
                w.suspended.append(state.pk)
                return q.Ok()
            case q.Delete():
                state.deleted = True
                w.deleted_queues.append(state.pk)
                fx.deleted_states.append(state)
                if sub is not None:
                    self._subs.pop(state.pk, None)
                    sub.session.subscriptions.pop(state.pk, None)
                    if sub.session is not session:
                        fx.deleted.append((sub.session, state.recipient_id))
                fx.direct.pop(state.pk, None)
                fx.fetch_next.discard(state.pk)
                return q.Ok()
        raise ProtocolError(ErrorCode.SYNTAX, "unhandled recipient command")

    def _secure(self, t: q.Transmission, cmd: q.SecureQueue, authorized: bytes,
                w: WriteSet) -> q.Response:
        state = self._by_sid.get(t.entity_id)
        if state is None or state.deleted or not t.auth:
            self._dummy_pair.exchange(self._dummy_pair.public)  # same cost as a real attempt
            verify(self._dummy_key, authorized, t.auth or bytes(q.AUTH_SIZE))
            return q.Err(ErrorCode.AUTH)
        if state.mode != q.QueueMode.MESSAGING.value:
            return q.Err(ErrorCode.PROHIBITED)
        if state.sender_public is not None:
            # A retry with the same key succeeds; any other key is refused.
            assert state.sender_mac_key is not None
            if state.sender_public == cmd.sender_key and verify(state.sender_mac_key,
                                                                authorized, t.auth):
                return q.Ok()
            return q.Err(ErrorCode.AUTH)
        assert state.server_sender_private is not None
        pair = KeyPair(state.server_sender_private, state.server_sender_public)
        try:
            mac_key = derive_sender_key(pair.exchange(cmd.sender_key))
        except ValueError:
            return q.Err(ErrorCode.AUTH)
        if not verify(mac_key, authorized, t.auth):
            return q.Err(ErrorCode.AUTH)
        state.sender_public = cmd.sender_key
        state.sender_mac_key = mac_key
        state.server_sender_private = None
        w.secured.append({"pk": state.pk, "sender_public": cmd.sender_key,
                          "sender_mac_key": mac_key})
        return q.Ok()

    def _send(self, t: q.Transmission, cmd: q.Send, authorized: bytes, w: WriteSet,
              fx: _BatchEffects, now_ms: int) -> q.Response:
        state = self._by_sid.get(t.entity_id)
        if state is None or state.deleted:
            verify(self._dummy_key, authorized, t.auth or bytes(q.AUTH_SIZE))
            return q.Err(ErrorCode.AUTH)
        if state.mode == q.QueueMode.CONTACT.value:
            if t.auth:
                return q.Err(ErrorCode.AUTH)
        else:
            key = state.sender_mac_key or self._dummy_key
            ok = bool(t.auth) and verify(key, authorized, t.auth)
            if not ok or state.sender_mac_key is None:
                return q.Err(ErrorCode.AUTH)
        if state.status != "A":
            return q.Err(ErrorCode.AUTH)
        if not state.can_write:
            return q.Err(ErrorCode.QUOTA)
        if state.message_count >= self.config.queue_quota:
            state.can_write = False
            self._store_message(state, q.MessageKind.QUOTA, 0, b"", w, fx, now_ms)
            return q.Err(ErrorCode.QUOTA)
        self._store_message(state, q.MessageKind.MESSAGE, cmd.flags, cmd.body, w, fx, now_ms)
        state.message_count += 1
        return q.Ok()

    def _store_message(self, state: QueueState, kind: q.MessageKind, flags: int, body: bytes,
                       w: WriteSet, fx: _BatchEffects, now_ms: int) -> None:
        msg = StoredMessage(self._next_seq, state.pk, os.urandom(q.ID_SIZE), kind.value, flags,
                            now_ms, body)
        self._next_seq += 1
        w.new_messages.append({"seq": msg.seq, "queue_id": msg.queue_pk, "msg_id": msg.msg_id,
                               "kind": msg.kind, "flags": msg.flags, "created_at": now_ms,
                               "body": msg.body})
        sub = self._subs.get(state.pk)
        if sub is None or sub.in_flight_seq is not None:
            return
        pk = state.pk
        if pk in fx.direct or pk in fx.fetch_next:
            return
        if state.message_count == 0 and kind == q.MessageKind.MESSAGE:
            fx.direct[pk] = msg
        else:
            fx.fetch_next.add(pk)

    def _link_new(self, t: q.Transmission, cmd: q.LinkNew, w: WriteSet) -> q.Response:
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

    def _wanted(self, pks: set[int]) -> list[int]:
        """Queues whose subscriber is ready for a message (nothing in flight)."""
        return [pk for pk in pks
                if (sub := self._subs.get(pk)) is not None and sub.in_flight_seq is None]

    def _not_before(self, now_ms: int) -> int:
        return now_ms - int(self.config.message_ttl * 1000)

    def _run_effects(self, fx: _BatchEffects, first: dict[int, StoredMessage]) -> None:
        for session, rid in fx.ended:
            session.push(q.EndFrame(rid))
        for session, rid in fx.deleted:
            session.push(q.DeletedFrame(rid))
        for state in fx.deleted_states:
            self._uncache_queue(state)
        for pk, msg in fx.direct.items():
            if pk not in fx.fetch_next:
                self._deliver(pk, msg)
        for pk, msg in first.items():
            self._deliver(pk, msg)

    async def _deliver_next(self, pks: set[int], now_ms: int) -> None:
        wanted = self._wanted(pks)
        if wanted:
            for pk, msg in (await self.store.first_messages(
                    wanted, self._not_before(now_ms))).items():
                self._deliver(pk, msg)

    def _deliver(self, pk: int, msg: StoredMessage) -> None:
        sub = self._subs.get(pk)
        state = self._by_pk.get(pk)
        if sub is None or state is None or sub.in_flight_seq is not None:
            return
        sub.in_flight_seq, sub.in_flight_msg_id, sub.in_flight_kind = msg.seq, msg.msg_id, msg.kind
        plaintext = q.encode_delivered(q.DeliveredMessage(
            msg.created_at, msg.flags, q.MessageKind(msg.kind), msg.body))
        block = seal_delivery(state.delivery_key, msg.msg_id, plaintext)
        sub.session.push(q.MessageFrame(state.recipient_id, msg.msg_id, block))

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
                by_pk = {sub.queue_pk for sub in self._subs.values() if sub.queue_pk in refetch}
                await self._reload_by_pk(by_pk)
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
