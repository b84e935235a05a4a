"""A bare client of the queue server, for tests only: wire format v1 over httpx, no retries.

It speaks the protocol exactly as the bytes go, so tests can forge, replay and truncate.
``verify=False`` is acceptable here only: certificate pinning is tested with the transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from simplextui.crypto.queue_auth import (
    KeyPair,
    authenticate,
    derive_recipient_keys,
    derive_sender_key,
    open_delivery,
)
from simplextui.protocol import queue as q
from simplextui.protocol.address import ServerAddress


@dataclass(frozen=True, slots=True)
class Tx:
    """One transmission to send. ``command`` may be pre-encoded bytes (sent verbatim).

    ``key`` signs the transmission; ``auth`` (if not None) is sent instead, forged or raw;
    ``corr_id`` (if not None) is reused instead of a fresh random one.
    """

    entity_id: bytes
    command: q.Command | bytes
    key: bytes | None = None
    corr_id: bytes | None = None
    auth: bytes | None = None


TxLike = Tx | tuple[bytes, q.Command | bytes, bytes | None]
ClientFactory = Callable[..., Awaitable["RawClient"]]  # the `make_client` fixture


@dataclass(slots=True)
class QueueHandle:
    """What a test knows about one queue: ids and the keys of both ends."""

    mode: q.QueueMode
    recipient_id: bytes
    sender_id: bytes
    recipient_mac_key: bytes
    delivery_key: bytes
    server_sender_key: bytes
    sender_pair: KeyPair | None = None
    sender_mac_key: bytes | None = None  # set by ``secure``


@dataclass(frozen=True, slots=True)
class Received:
    frame: q.MessageFrame
    message: q.DeliveredMessage


class RawClient:
    def __init__(self, address: ServerAddress, timeout: float = 10.0) -> None:
        self.address = address
        self.http = httpx.AsyncClient(base_url=address.base_url, verify=False, timeout=timeout)
        self.session_id = b""
        self.version = q.PROTOCOL_VERSION
        self.frames: asyncio.Queue[q.Frame] = asyncio.Queue()
        self.last_corr_ids: list[bytes] = []
        self._stream_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RawClient:
        await self.open_session()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._stream_task is not None:
            self._stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._stream_task
        await self.http.aclose()

    # ------------------------------------------------------------------ raw requests

    async def open_session(self) -> q.SessionInfo:
        hello = q.encode_session_hello(q.SessionHello(q.MIN_VERSION, q.PROTOCOL_VERSION))
        resp = await self.http.post("/v1/session", content=hello)
        assert resp.status_code == 200, resp.text
        info = q.decode_session_info(resp.content)
        self.session_id, self.version = info.session_id, info.version
        return info

    def encode(self, tx: TxLike) -> bytes:
        t = tx if isinstance(tx, Tx) else Tx(*tx)
        corr_id = t.corr_id if t.corr_id is not None else os.urandom(q.CORR_ID_SIZE)
        command = t.command if isinstance(t.command, bytes) else q.encode_command(t.command)
        if t.auth is not None:
            auth = t.auth
        elif t.key is not None:
            auth = authenticate(t.key, q.authorized_bytes(self.session_id, corr_id,
                                                          t.entity_id, command))
        else:
            auth = b""
        self.last_corr_ids.append(corr_id)
        # Built by hand so that tests can send authenticators of any length.
        return (bytes((len(auth),)) + auth + corr_id + bytes((len(t.entity_id),))
                + t.entity_id + command)

    async def post_batch(self, transmissions: Sequence[bytes]) -> httpx.Response:
        body = q.encode_batch_request(q.BatchRequest(self.version, self.session_id,
                                                     list(transmissions)))
        return await self.http.post("/v1/batch", content=body)

    async def run_full(self, items: Sequence[TxLike]) -> list[q.ResponseTransmission]:
        self.last_corr_ids = []
        resp = await self.post_batch([self.encode(t) for t in items])
        assert resp.status_code == 200, resp.text
        return [q.decode_response_transmission(r) for r in q.decode_batch_response(resp.content)]

    async def run(self, items: Sequence[TxLike]) -> list[q.Response]:
        return [r.response for r in await self.run_full(items)]

    async def one(self, entity_id: bytes, command: q.Command | bytes,
                  key: bytes | None = None) -> q.Response:
        [resp] = await self.run([(entity_id, command, key)])
        return resp

    # -------------------------------------------------------------------- the stream

    async def stream(self) -> None:
        """Open the session's stream; frames (pings included) go to ``self.frames``."""
        up = asyncio.Event()

        async def reader() -> None:
            decoder = q.FrameDecoder()
            async with self.http.stream("POST", "/v1/stream", content=self.session_id,
                                        timeout=httpx.Timeout(10.0, read=None)) as resp:
                assert resp.status_code == 200
                async for chunk in resp.aiter_raw():
                    for frame in decoder.feed(chunk):
                        up.set()
                        await self.frames.put(frame)

        self._stream_task = task = asyncio.create_task(reader())
        waiter = asyncio.create_task(up.wait())  # the server sends a ping once the stream is up
        await asyncio.wait([task, waiter], timeout=5, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # raises what stopped the stream
            raise AssertionError("stream ended at once")
        assert up.is_set(), "stream not up within 5 s"

    async def next_frame(self, timeout: float = 5.0) -> q.Frame:
        """The next frame that is not a keep-alive ping."""
        while True:
            frame = await asyncio.wait_for(self.frames.get(), timeout)
            if not isinstance(frame, q.PingFrame):
                return frame

    async def no_frame(self, within: float = 0.3) -> None:
        with contextlib.suppress(TimeoutError):
            frame = await self.next_frame(within)
            raise AssertionError(f"unexpected frame {frame!r}")

    # ------------------------------------------------------------------------ queues

    async def new_queue(self, mode: q.QueueMode = q.QueueMode.MESSAGING) -> QueueHandle:
        pair = KeyPair.generate()
        ids = await self.one(b"", q.New(pair.public, mode))
        assert isinstance(ids, q.QueueIds), ids
        keys = derive_recipient_keys(pair.exchange(ids.server_recipient_key))
        return QueueHandle(mode, ids.recipient_id, ids.sender_id, keys.mac_key,
                           keys.delivery_key, ids.server_sender_key)

    @staticmethod
    def sender_keys(queue: QueueHandle) -> tuple[KeyPair, bytes]:
        pair = KeyPair.generate()
        return pair, derive_sender_key(pair.exchange(queue.server_sender_key))

    async def secure(self, queue: QueueHandle) -> None:
        """SKEY with a fresh sender key; the queue handle then holds the sender's keys."""
        pair, mac_key = self.sender_keys(queue)
        resp = await self.one(queue.sender_id, q.SecureQueue(pair.public), mac_key)
        assert resp == q.Ok(), resp
        queue.sender_pair, queue.sender_mac_key = pair, mac_key

    async def send(self, queue: QueueHandle, body: bytes) -> q.Response:
        return await self.one(queue.sender_id, q.Send(body), queue.sender_mac_key)

    async def subscribe(self, queue: QueueHandle) -> q.Response:
        return await self.one(queue.recipient_id, q.Subscribe(), queue.recipient_mac_key)

    async def ack(self, queue: QueueHandle, msg_id: bytes) -> q.Response:
        return await self.one(queue.recipient_id, q.Ack(msg_id), queue.recipient_mac_key)

    async def receive(self, queue: QueueHandle, timeout: float = 5.0) -> Received:
        """The next frame, which must be a MSG of ``queue``, decrypted."""
        frame = await self.next_frame(timeout)
        assert isinstance(frame, q.MessageFrame), frame
        assert frame.recipient_id == queue.recipient_id
        plain = open_delivery(queue.delivery_key, frame.msg_id, frame.encrypted)
        return Received(frame, q.decode_delivered(plain))
