"""The transport's fast paths: stream decoding, batch event handlers, the HTTPS pool."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from simplextui.crypto.queue_auth import KeyPair, seal_delivery
from simplextui.protocol import queue
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ProtocolError
from simplextui.server.runner import EmbeddedServer, ServerConfig
from simplextui.server.tls_identity import load_or_create
from simplextui.transport import MessageReceived, QueueClient, TransportEvent
from simplextui.transport.dispatch import EventDispatcher
from simplextui.transport.events import SubscriptionEnded
from simplextui.transport.frames import StreamDecoder, frame_events
from simplextui.transport.keys import RecipientQueue
from simplextui.transport.rawhttp import HttpsPool
from simplextui.transport.rawstream import ChunkedDecoder
from simplextui.transport.tls import pin

SERVER = ServerAddress(os.urandom(32), "127.0.0.1", 5223)
MakeClient = Callable[..., QueueClient]


def recipient_queue() -> RecipientQueue:
    return RecipientQueue(os.urandom(24), os.urandom(24), SERVER, KeyPair.generate(),
                          os.urandom(32), os.urandom(32), os.urandom(32),
                          queue.QueueMode.MESSAGING)


def message(q: RecipientQueue, body: bytes, kind: queue.MessageKind = queue.MessageKind.MESSAGE,
            key: bytes | None = None) -> queue.MessageFrame:
    msg_id = os.urandom(24)
    plain = queue.encode_delivered(queue.DeliveredMessage(99, 0, kind, body))
    return queue.MessageFrame(q.recipient_id, msg_id,
                              seal_delivery(key or q.delivery_key, msg_id, plain))


# ------------------------------------------------------------------- stream decoding


def test_stream_decoder_gives_the_reference_events_at_any_split() -> None:
    a, b, gone = recipient_queue(), recipient_queue(), recipient_queue()
    frames: list[queue.Frame] = [
        queue.PingFrame(), message(a, b"one"), message(b, b"two", queue.MessageKind.QUOTA),
        message(gone, b"not subscribed here"), message(a, b"bad key", key=os.urandom(32)),
        queue.EndFrame(b.recipient_id), message(a, b"x" * 1000), queue.PingFrame(),
        queue.DeletedFrame(a.recipient_id),
    ]
    data = b"".join(queue.encode_frame(f) for f in frames)
    expected = frame_events(SERVER, {a.recipient_id: a, b.recipient_id: b}, frames)
    rng = random.Random(3)
    for _ in range(30):
        decoder = StreamDecoder(SERVER, {a.recipient_id: a, b.recipient_id: b})
        events: list[TransportEvent] = []
        pos = 0
        while pos < len(data):
            step = rng.choice([1, 3, 7, 100, 4096, 16440, 40000])
            events += decoder.feed(data[pos : pos + step])
            pos += step
        assert events == expected
        assert decoder.queues == {}  # END and DELD forgot both queues


def test_stream_decoder_refuses_an_oversized_frame() -> None:
    decoder = StreamDecoder(SERVER, {})
    with pytest.raises(ProtocolError):
        decoder.feed((queue.MAX_FRAME + 1).to_bytes(4, "big") + b"x")
    with pytest.raises(ProtocolError):
        StreamDecoder(SERVER, {}).feed(b"\x00\x00\x00\x04\x03XYZ")  # unknown tag


# -------------------------------------------------------------------- batch handlers


async def test_batch_handler_gets_lists_in_order() -> None:
    got: list[list[TransportEvent]] = []

    async def handler(events: list[TransportEvent]) -> None:
        got.append(events)

    dispatcher = EventDispatcher(None, batch_handler=handler)
    first = [SubscriptionEnded(SERVER, bytes([i])) for i in range(3)]
    await dispatcher.emit_many(first)
    await dispatcher.emit(SubscriptionEnded(SERVER, b"\x09"))
    await dispatcher.emit_many([])
    await dispatcher.drain()
    assert got == [first, [SubscriptionEnded(SERVER, b"\x09")]]
    with pytest.raises(ValueError):
        EventDispatcher(handler, batch_handler=handler)  # type: ignore[arg-type]


async def test_single_event_handler_gets_each_event_of_a_list() -> None:
    got: list[TransportEvent] = []

    async def handler(event: TransportEvent) -> None:
        got.append(event)

    dispatcher = EventDispatcher(handler)
    events = [SubscriptionEnded(SERVER, bytes([i])) for i in range(5)]
    await dispatcher.emit_many(events)  # type: ignore[arg-type]
    await dispatcher.drain()
    assert sorted(got, key=lambda e: e.recipient_id) == events  # type: ignore[attr-defined]


async def test_on_events_and_ack_many_end_to_end(server: EmbeddedServer,
                                                 make_client: MakeClient) -> None:
    received: list[MessageReceived] = []
    done = asyncio.Event()

    async def on_events(events: list[TransportEvent]) -> None:
        msgs = [e for e in events if isinstance(e, MessageReceived)]
        assert not any(await recipient.ack_many([(by_id[m.recipient_id], m.msg_id)
                                                 for m in msgs]))
        received.extend(msgs)
        if len(received) == 30:
            done.set()

    recipient = make_client(server.address, on_events=on_events)
    sender = make_client(server.address)
    queues = await recipient.create_queues(3)
    by_id = {q.recipient_id: q for q in queues}
    senders = [await sender.secure_queue(q.sender_id, q.server_sender_key) for q in queues]
    await recipient.subscribe(queues)
    for i in range(10):
        assert not any(await sender.send_many([(s, b"%d" % i, 0) for s in senders]))
    await asyncio.wait_for(done.wait(), 10)
    for q in queues:  # each queue's messages in order
        assert [m.body for m in received if m.recipient_id == q.recipient_id] == [
            b"%d" % i for i in range(10)]


# ---------------------------------------------------------------------- HTTPS pool


async def test_https_pool_reuses_connections_and_replaces_closed_ones(
        tmp_path: Path) -> None:
    srv = EmbeddedServer(ServerConfig(data_dir=tmp_path / "s"))
    await srv.start()
    try:
        pool = HttpsPool(srv.address, await pin(srv.address, 5.0), timeout=5.0,
                         max_connections=2)
        hello = queue.encode_session_hello(queue.SessionHello(1, 1))
        for _ in range(3):
            status, body = await pool.post("/v1/session", hello, "application/octet-stream")
            assert status == 200 and queue.decode_session_info(body).version == 1
        assert len(pool._idle) == 1  # one connection served all three
        pool._idle[0].sock.close()  # as if the server had closed it
        status, _ = await pool.post("/v1/session", hello, "application/octet-stream")
        assert status == 200
        status, body = await pool.post("/v1/nowhere", b"", "application/octet-stream")
        assert status == 404 and b"error" in body
        pool.close()
    finally:
        await srv.stop()


def test_chunked_decoder_skips_trailers_and_keeps_what_follows() -> None:
    decoder = ChunkedDecoder()
    data = b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\nHTTP/1.1 next"
    out: list[bytes] = []
    for i in range(len(data)):  # byte by byte: every state boundary
        out += decoder.feed(data[i : i + 1])
        if decoder.done:
            rest = decoder.rest + data[i + 1 :]
            break
    assert b"".join(out) == b"abc" and decoder.done
    assert rest == b"HTTP/1.1 next"


async def test_https_pool_keeps_connections_after_chunked_answers(tmp_path: Path) -> None:
    identity = load_or_create(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(identity.cert_path, identity.key_path)
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                             b"%x\r\n%s\r\n0\r\nx-t: 1\r\n\r\n" % (len(body), body))
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    address = ServerAddress(identity.fingerprint, "127.0.0.1", port)
    pool = HttpsPool(address, await pin(address, 5.0), timeout=5.0, max_connections=1)
    connections = 0  # not counting pin()'s probe
    try:
        for i in range(3):
            assert await pool.post("/", b"echo %d" % i, "text/plain") == (200, b"echo %d" % i)
        assert connections == 1
    finally:
        pool.close()
        server.close()
        await server.wait_closed()


def test_chunked_decoder_takes_empty_input_anywhere() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"") == []  # as the first feed, when the head came alone
    assert decoder.feed(b"0\r\n\r\n") == [] and decoder.done
