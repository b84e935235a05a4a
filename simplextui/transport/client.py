"""``QueueClient``: everything a client does with one queue server.

Every command goes through the batcher, so commands issued concurrently (by many tasks, or
by one ``gather``) share HTTP requests. Messages of subscribed queues arrive as events on the
subscription stream; the client never acknowledges them itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from types import TracebackType
from typing import TypeVar

from simplextui.crypto.queue_auth import (
    KeyPair,
    derive_link_owner_key,
    derive_recipient_keys,
    derive_sender_key,
)
from simplextui.protocol import queue
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.protocol.queue import LinkData, QueueMode
from simplextui.transport.backoff import Backoff
from simplextui.transport.batcher import Batcher, Request
from simplextui.transport.connection import ServerConnection
from simplextui.transport.dispatch import BatchEventHandler, EventDispatcher, EventHandler
from simplextui.transport.errors import (
    NetworkError,
    ServerError,
    ServerUnreachable,
    TransportError,
)
from simplextui.transport.keys import LinkOwner, RecipientQueue, SenderQueue
from simplextui.transport.stream import SubscriptionStream

_T = TypeVar("_T")


def _shared_secret(keypair: KeyPair, server_key: bytes) -> bytes:
    try:
        return keypair.exchange(server_key)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.SYNTAX, "invalid server key") from exc


def _expect(response: queue.Response, kind: type[_T]) -> _T:
    if isinstance(response, queue.Err):
        raise ServerError(response.code)
    if not isinstance(response, kind):
        raise TransportError(f"expected {kind.__name__}, the server answered {response!r}")
    return response


class QueueClient:
    """The client of one queue server: commands, subscriptions and their events.

    ``timeout`` bounds each call, retries included. ``backoff_base``/``backoff_cap`` shape
    the retry and reconnect delays; ``ping_timeout`` is how long a silent stream is trusted.
    ``on_event`` handlers run concurrently (up to ``event_concurrency`` at once), so a
    handler may commit a message and await :meth:`ack` without holding up the stream.
    Alternatively ``on_events`` gets the events in lists (all that one read of the stream
    decoded), to commit them together and acknowledge them with :meth:`ack_many`: at
    thousands of messages per second that costs a fraction of a task per event.
    """

    def __init__(
        self,
        address: ServerAddress,
        *,
        on_event: EventHandler | None = None,
        on_events: BatchEventHandler | None = None,
        timeout: float = 10.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 10.0,
        ping_timeout: float = 45.0,
        max_in_flight: int = 4,
        event_concurrency: int = 256,
        rng: random.Random | None = None,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rng = rng or random.Random()
        self._conn = ServerConnection(address, timeout=timeout, max_connections=max_in_flight)
        self._batcher = Batcher(self._conn, timeout=timeout, backoff_base=backoff_base,
                                backoff_cap=backoff_cap, max_in_flight=max_in_flight,
                                rng=self._rng)
        self._dispatcher = EventDispatcher(on_event, event_concurrency, batch_handler=on_events)
        self._stream = SubscriptionStream(
            self._conn, self._batcher, self._dispatcher, ping_timeout=ping_timeout,
            backoff=Backoff(backoff_base, backoff_cap, self._rng))
        self._closed = False

    # -------------------------------------------------------------------- life cycle

    async def __aenter__(self) -> QueueClient:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> None:
        """Pin the server's certificate and open a session.

        Optional: any call connects first. Raises CertificateMismatch at once (nothing is
        sent to such a server) and ServerUnreachable after ``timeout``.
        """
        if self._closed:
            raise ServerUnreachable("the client is closed")
        if self._conn.current_session is not None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        backoff = Backoff(self._backoff_base, self._backoff_cap, self._rng)
        while True:
            try:
                await self._conn.session()
                return
            except NetworkError as exc:
                delay = backoff.next_delay()
                if loop.time() + delay >= deadline:
                    raise ServerUnreachable(str(exc)) from exc
                await asyncio.sleep(delay)

    async def close(self) -> None:
        """Stop the stream, fail pending calls with ServerUnreachable, close connections."""
        if self._closed:
            return
        self._closed = True
        await self._stream.close()
        await self._batcher.close()
        await self._dispatcher.close()
        await self._conn.close()

    @property
    def connected(self) -> bool:
        """True while the subscription stream is up (and every queue resubscribed)."""
        return self._stream.connected

    @property
    def batch_requests(self) -> int:
        """Batch requests sent so far (retries included): for tests and statistics."""
        return self._batcher.requests_sent

    @property
    def sessions_opened(self) -> int:
        return self._conn.sessions_opened

    @property
    def subscribed(self) -> frozenset[bytes]:
        """Recipient ids of the queues this client keeps subscribed."""
        return frozenset(self._stream.queues)

    # ------------------------------------------------------------------- low level

    async def run(self, requests: Sequence[Request]) -> list[queue.Response]:
        """Run commands (batched with all others in flight); ``Err`` answers are returned."""
        return await self._batcher.run(requests)

    async def _call(self, request: Request) -> queue.Response:
        response = await self._batcher.submit(request)
        if isinstance(response, queue.Err):
            raise ServerError(response.code)
        return response

    def _check_server(self, server: ServerAddress) -> None:
        if server is not self.address and server != self.address:
            raise ValueError(f"credentials of {server.short()} used with {self.address.short()}")

    # ---------------------------------------------------------------------- queues

    async def create_queue(self, mode: QueueMode = QueueMode.MESSAGING) -> RecipientQueue:
        """NEW. Not retried after an ambiguous network failure (that could make two)."""
        return (await self.create_queues(1, mode))[0]

    async def create_queues(self, count: int,
                            mode: QueueMode = QueueMode.MESSAGING) -> list[RecipientQueue]:
        """Create ``count`` queues in as few requests as possible."""
        keypairs = [KeyPair.generate() for _ in range(count)]
        responses = await self._batcher.run(
            [Request(b"", queue.New(kp.public, mode)) for kp in keypairs])
        queues: list[RecipientQueue] = []
        for kp, response in zip(keypairs, responses, strict=True):
            ids = _expect(response, queue.QueueIds)
            keys = derive_recipient_keys(_shared_secret(kp, ids.server_recipient_key))
            queues.append(RecipientQueue(ids.recipient_id, ids.sender_id, self.address, kp,
                                         keys.mac_key, keys.delivery_key,
                                         ids.server_sender_key, mode))
        return queues

    async def secure_queue(self, sender_id: bytes, server_sender_key: bytes) -> SenderQueue:
        """SKEY: become the one sender of a messaging queue (authenticated by the new key)."""
        sender = self.new_sender(sender_id, server_sender_key)
        await self.secure(sender)
        return sender

    def new_sender(self, sender_id: bytes, server_sender_key: bytes) -> SenderQueue:
        """Sender credentials for a messaging queue, no request yet: a new key pair and the MAC
        key it shares with the server's sender key. Raises ProtocolError for a malformed key."""
        keypair = KeyPair.generate()
        mac_key = derive_sender_key(_shared_secret(keypair, server_sender_key))
        return SenderQueue(sender_id, self.address, keypair, mac_key)

    async def secure(self, sender: SenderQueue) -> None:
        """SKEY with ``sender``'s key. The same key sent again (a retry whose first answer was
        lost) is accepted, so credentials kept before the first attempt can be retried."""
        self._check_server(sender.server)
        if sender.sender_keypair is None or sender.sender_mac_key is None:
            raise ValueError("SKEY needs sender credentials with a key pair")
        _expect(await self._call(Request(
            sender.sender_id, queue.SecureQueue(sender.sender_keypair.public),
            sender.sender_mac_key)), queue.Ok)

    async def contact_sender(self, sender_id: bytes) -> SenderQueue:
        """Credentials to send (unauthenticated) to a contact-mode queue; no request."""
        return SenderQueue(sender_id, self.address, None, None)

    async def send(self, sender: SenderQueue, body: bytes, flags: int = 0) -> None:
        """SEND. Retried on network failure: at-least-once, the receiving agent dedups."""
        self._check_server(sender.server)
        await self._call(Request(sender.sender_id, queue.Send(body, flags), sender.sender_mac_key))

    async def send_many(
        self, messages: Sequence[tuple[SenderQueue, bytes, int]]
    ) -> list[ServerError | None]:
        """Send many messages at once; one result per message (None: accepted)."""
        for sender, _, _ in messages:
            self._check_server(sender.server)
        responses = await self._batcher.run_sends(
            [(s.sender_id, body, flags, s.sender_mac_key) for s, body, flags in messages])
        return [ServerError(r.code) if isinstance(r, queue.Err) else None for r in responses]

    async def subscribe(self, queues: Sequence[RecipientQueue]) -> dict[bytes, ServerError | None]:
        """SUB every queue in one batch; their messages arrive as events.

        The queues stay subscribed across reconnects and server restarts (resubscribed
        automatically) until deleted, ended by another session, or refused. On
        ServerUnreachable (the server is down, even on the first connection) they remain
        registered and the stream subscribes them once the server is back: their messages
        then arrive as events, after ``ServerConnected``.
        """
        for q in queues:
            self._check_server(q.server)
        if not queues:
            return {}
        if self._closed:
            raise ServerUnreachable("the client is closed")
        added = [q for q in queues if self._stream.queues.get(q.recipient_id) is not q]
        for q in queues:  # remembered first: the stream subscribes them if we cannot
            self._stream.queues[q.recipient_id] = q
        try:
            await self.connect()
            if not await self._stream.wait_attached(self.timeout):
                raise ServerUnreachable(f"no subscription stream from {self.address.short()}")
            responses = await self._batcher.run(
                [Request(q.recipient_id, queue.Subscribe(), q.recipient_mac_key)
                 for q in queues])
        except (ServerUnreachable, NetworkError, asyncio.CancelledError):
            if not self._closed:
                self._stream.start()  # keeps trying to attach, then subscribes them
                self._stream.subscribe_later()
            raise
        except BaseException:
            for q in added:  # e.g. CertificateMismatch: nothing to come back to
                if self._stream.queues.get(q.recipient_id) is q:
                    del self._stream.queues[q.recipient_id]
            raise
        result: dict[bytes, ServerError | None] = {}
        for q, response in zip(queues, responses, strict=True):
            if isinstance(response, queue.Err):
                if self._stream.queues.get(q.recipient_id) is q:
                    del self._stream.queues[q.recipient_id]
                result[q.recipient_id] = ServerError(response.code)
            else:
                result[q.recipient_id] = None
        return result

    async def ack(self, q: RecipientQueue, msg_id: bytes) -> None:
        """ACK: the message is committed above; the server may deliver the next one."""
        self._check_server(q.server)
        await self._call(Request(q.recipient_id, queue.Ack(msg_id), q.recipient_mac_key))

    async def ack_many(
        self, messages: Sequence[tuple[RecipientQueue, bytes]]
    ) -> list[ServerError | None]:
        """ACK many ``(queue, msg_id)`` at once; one result per message (None: done)."""
        for q, _ in messages:
            self._check_server(q.server)
        responses = await self._batcher.run_acks(
            [(q.recipient_id, msg_id, q.recipient_mac_key) for q, msg_id in messages])
        return [ServerError(r.code) if isinstance(r, queue.Err) else None for r in responses]

    async def suspend(self, q: RecipientQueue) -> None:
        """OFF: senders are refused from now on; queued messages can still be received."""
        self._check_server(q.server)
        await self._call(Request(q.recipient_id, queue.Suspend(), q.recipient_mac_key))

    async def delete(self, q: RecipientQueue) -> None:
        """DEL: the queue and its messages are gone; it is no longer resubscribed."""
        self._check_server(q.server)
        await self._call(Request(q.recipient_id, queue.Delete(), q.recipient_mac_key))
        self._stream.queues.pop(q.recipient_id, None)

    def unsubscribe_local(self, recipient_id: bytes) -> None:
        """Stop resubscribing a queue after reconnects (the server is not told)."""
        self._stream.queues.pop(recipient_id, None)

    # ----------------------------------------------------------------------- links

    async def create_link(self, link_id: bytes, fixed_data: bytes,
                          user_data: bytes) -> LinkOwner:
        """LNEW. Not retried after an ambiguous network failure."""
        keypair = KeyPair.generate()
        response = await self._call(
            Request(link_id, queue.LinkNew(keypair.public, fixed_data, user_data)))
        ids = _expect(response, queue.LinkIds)
        mac_key = derive_link_owner_key(_shared_secret(keypair, ids.server_link_key))
        return LinkOwner(link_id, self.address, keypair, mac_key)

    async def get_link(self, link_id: bytes) -> LinkData:
        return _expect(await self._call(Request(link_id, queue.LinkGet())), LinkData)

    async def set_link(self, owner: LinkOwner, user_data: bytes) -> None:
        self._check_server(owner.server)
        _expect(await self._call(
            Request(owner.link_id, queue.LinkSet(user_data), owner.owner_mac_key)), queue.Ok)

    async def delete_link(self, owner: LinkOwner) -> None:
        self._check_server(owner.server)
        _expect(await self._call(
            Request(owner.link_id, queue.LinkDelete(), owner.owner_mac_key)), queue.Ok)

    async def ping(self) -> None:
        _expect(await self._call(Request(b"", queue.Ping())), queue.Pong)
