"""Bad input of every kind gets a clear 4xx or error response, changes nothing, and the
server keeps serving. No test here asserts timings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from simplextui.crypto.queue_auth import KeyPair
from simplextui.protocol import codec
from simplextui.protocol import queue as q
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ErrorCode
from simplextui.server.runner import EmbeddedServer
from tests.server.raw_client import ClientFactory, RawClient, Tx

AUTH = q.Err(ErrorCode.AUTH)


def assert_http_error(resp: httpx.Response, status: int, code: ErrorCode) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"] == "application/json"
    assert resp.json()["error"] == code.value


async def assert_still_serving(client: RawClient) -> None:
    assert await client.one(b"", q.Ping()) == q.Pong()


def _valid_batch(client: RawClient) -> bytes:
    ts = [client.encode((b"", q.Ping(), None)), client.encode((b"x" * 24, q.Subscribe(), None))]
    return q.encode_batch_request(q.BatchRequest(1, client.session_id, ts))


# ----------------------------------------------------------------- malformed requests


@pytest.mark.parametrize("body", [
    b"", b"garbage", b"\x00", b"\x00\x01", random.Random(1).randbytes(40),
    random.Random(2).randbytes(5_000),
    b"\x00\x01" + bytes(32),  # no count
], ids=["empty", "text", "one", "version-only", "random-40", "random-5000", "no-count"])
async def test_garbage_batch_bodies(client: RawClient, body: bytes) -> None:
    resp = await client.http.post("/v1/batch", content=body)
    assert 400 <= resp.status_code < 500
    assert resp.json()["error"] in {"SYNTAX", "SESSION", "LARGE_MSG", "LARGE_BATCH"}
    await assert_still_serving(client)


async def test_every_truncation_of_a_batch_is_a_4xx(client: RawClient) -> None:
    body = _valid_batch(client)
    for n in range(len(body)):
        resp = await client.http.post("/v1/batch", content=body[:n])
        assert_http_error(resp, 400, ErrorCode.SYNTAX)
    resp = await client.http.post("/v1/batch", content=body + b"\x00")
    assert_http_error(resp, 400, ErrorCode.SYNTAX)
    resp = await client.http.post("/v1/batch", content=body)
    assert resp.status_code == 200


async def test_too_many_transmissions(client: RawClient) -> None:
    body = (codec.u16(1) + client.session_id + codec.u16(q.MAX_BATCH + 1)
            + (codec.u32(0)) * (q.MAX_BATCH + 1))
    assert_http_error(await client.http.post("/v1/batch", content=body), 413,
                      ErrorCode.LARGE_BATCH)
    body = codec.u16(1) + client.session_id + codec.u16(1) + codec.u32(q.MAX_REQUEST_BYTES + 1)
    assert_http_error(await client.http.post("/v1/batch", content=body), 413,
                      ErrorCode.LARGE_MSG)
    # Zero transmissions is a valid, empty batch.
    resp = await client.post_batch([])
    assert resp.status_code == 200
    assert q.decode_batch_response(resp.content) == []


async def test_versions(client: RawClient) -> None:
    for lo, hi in ((2, 2), (2, 9), (0, 0)):
        hello = q.encode_session_hello(q.SessionHello(lo, hi))
        assert_http_error(await client.http.post("/v1/session", content=hello), 400,
                          ErrorCode.VERSION)
    hello = q.encode_session_hello(q.SessionHello(3, 1))
    assert_http_error(await client.http.post("/v1/session", content=hello), 400,
                      ErrorCode.SYNTAX)
    for body in (b"", b"\x00\x01", b"\x00\x01\x00\x01\x00"):
        assert_http_error(await client.http.post("/v1/session", content=body), 400,
                          ErrorCode.SYNTAX)
    assert_http_error(await client.http.post("/v1/session", content=bytes(65)), 413,
                      ErrorCode.LARGE_BATCH)
    # A newer client still gets version 1.
    resp = await client.http.post("/v1/session",
                                  content=q.encode_session_hello(q.SessionHello(1, 7)))
    assert q.decode_session_info(resp.content).version == 1
    # A batch whose version differs from its session's.
    ping = client.encode((b"", q.Ping(), None))
    body = q.encode_batch_request(q.BatchRequest(2, client.session_id, [ping]))
    assert_http_error(await client.http.post("/v1/batch", content=body), 400,
                      ErrorCode.VERSION)
    await assert_still_serving(client)


async def test_unknown_session(client: RawClient) -> None:
    ping = client.encode((b"", q.Ping(), None))
    body = q.encode_batch_request(q.BatchRequest(1, os.urandom(32), [ping]))
    assert_http_error(await client.http.post("/v1/batch", content=body), 401,
                      ErrorCode.SESSION)
    assert_http_error(await client.http.post("/v1/stream", content=os.urandom(32)), 401,
                      ErrorCode.SESSION)
    assert_http_error(await client.http.post("/v1/stream", content=b"short"), 400,
                      ErrorCode.SYNTAX)
    assert_http_error(await client.http.post("/v1/stream", content=bytes(65)), 413,
                      ErrorCode.LARGE_BATCH)


async def test_unknown_routes_and_methods(client: RawClient) -> None:
    assert_http_error(await client.http.get("/nope"), 404, ErrorCode.SYNTAX)
    assert_http_error(await client.http.post("/v2/batch", content=b""), 404, ErrorCode.SYNTAX)
    assert_http_error(await client.http.get("/v1/batch"), 405, ErrorCode.SYNTAX)
    assert_http_error(await client.http.put("/v1/session", content=b""), 405, ErrorCode.SYNTAX)
    health = await client.http.get("/v1/health")
    assert health.json() == {"status": "ok", "version": 1}


# ---------------------------------------------------------------------- oversized


async def test_declared_oversized_request_is_refused_before_reading(client: RawClient) -> None:
    big = q.MAX_REQUEST_BYTES + 1
    # Content-Length over the limit: refused from the header alone, body never sent.
    reply = await _raw_https(client.address,
                             _request("/v1/batch", b"tiny", content_length=str(big)))
    _assert_raw_json_error(reply, 413, "LARGE_BATCH")
    reply = await _raw_https(client.address,
                             _request("/v1/session", b"", content_length="1000000000000"))
    _assert_raw_json_error(reply, 413, "LARGE_BATCH")
    await assert_still_serving(client)


async def test_content_length_shorter_than_the_body(client: RawClient) -> None:
    # The server reads what was declared; the rest is not HTTP. Whichever the server sees
    # first (uvicorn's HTTP parser refuses the rest with a text/plain 400 and closes), it is
    # a 4xx and the batch is not run.
    body = _valid_batch(client)
    reply = await _raw_https(client.address,
                             _request("/v1/batch", body, content_length="10"))
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:200]
    await assert_still_serving(client)


async def test_chunked_oversized_request(client: RawClient) -> None:
    chunk = b"\x00" * 65_536
    n_chunks = q.MAX_REQUEST_BYTES // len(chunk) + 2

    async def body() -> AsyncIterator[bytes]:
        for _ in range(n_chunks):
            yield chunk

    try:
        resp = await client.http.post("/v1/batch", content=body())
    except httpx.HTTPError:
        # The server may answer 413 and close before the client finished writing.
        pass
    else:
        assert_http_error(resp, 413, ErrorCode.LARGE_BATCH)
    # Over a raw socket the early answer is always readable.
    head = (b"POST /v1/batch HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n")
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    reply = await _raw_https(client.address, head + framed * n_chunks + b"0\r\n\r\n")
    _assert_raw_json_error(reply, 413, "LARGE_BATCH")
    await assert_still_serving(client)


# ------------------------------------------------------------------ authentication


async def test_missing_and_forged_authenticators(client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    rid, sid = queue.recipient_id, queue.sender_id
    forged = os.urandom(q.AUTH_SIZE)
    assert await client.run([
        Tx(rid, q.Subscribe(), auth=b""),
        Tx(rid, q.Subscribe(), auth=forged),
        Tx(rid, q.Subscribe(), auth=bytes(q.AUTH_SIZE)),
        Tx(sid, q.Send(b"x"), auth=b""),
        Tx(sid, q.Send(b"x"), auth=forged),
        Tx(rid, q.Delete(), auth=forged),
    ]) == [AUTH] * 6
    # An authenticator of the wrong length does not even parse: SYNTAX, with no corr id,
    # and the rest of the batch is handled.
    full = await client.run_full([
        Tx(rid, q.Subscribe(), auth=forged[:31]),
        (sid, q.Send(b"after"), queue.sender_mac_key),
    ])
    assert full[0] == q.ResponseTransmission(bytes(q.CORR_ID_SIZE), b"",
                                             q.Err(ErrorCode.SYNTAX))
    assert full[1].response == q.Ok()
    # The queue is intact: the recipient still gets the one good message.
    await client.subscribe(queue)
    assert (await client.receive(queue)).message.body == b"after"
    await client.no_frame(0.1)


async def test_authenticator_covers_every_byte(server: EmbeddedServer,
                                                client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    key = queue.sender_mac_key
    assert key is not None
    tx = Tx(queue.sender_id, q.Send(b"exact"), key=key)
    size = len(client.encode(tx))
    for i in (0, 5, 20, 40, 60, 70, size // 2, size - 1):
        bad = bytearray(client.encode(tx))  # a fresh corr id each time: no replay
        bad[i] ^= 0x01
        resp = await client.post_batch([bytes(bad)])
        [raw] = q.decode_batch_response(resp.content)
        assert q.decode_response_transmission(raw).response in (
            AUTH, q.Err(ErrorCode.SYNTAX), q.Err(ErrorCode.LARGE_MSG)), i
    assert (await _stats(server))["messages"] == 0


async def test_replayed_corr_id_in_the_same_session(
        server: EmbeddedServer, client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    corr = os.urandom(q.CORR_ID_SIZE)
    send = Tx(queue.sender_id, q.Send(b"once"), key=queue.sender_mac_key, corr_id=corr)
    assert await client.run([send]) == [q.Ok()]
    assert await client.run([send]) == [q.Err(ErrorCode.REPLAY)]
    # Any command reusing the id is a replay, also within one batch.
    ping = Tx(b"", q.Ping(), corr_id=corr)
    assert await client.run([ping]) == [q.Err(ErrorCode.REPLAY)]
    fresh = os.urandom(q.CORR_ID_SIZE)
    assert await client.run([Tx(b"", q.Ping(), corr_id=fresh),
                             Tx(b"", q.Ping(), corr_id=fresh)]) == [
        q.Pong(), q.Err(ErrorCode.REPLAY)]
    assert (await _stats(server))["messages"] == 1
    await client.subscribe(queue)
    got = await client.receive(queue)
    assert got.message.body == b"once"
    await client.ack(queue, got.frame.msg_id)
    await client.no_frame(0.2)


async def test_transmission_replayed_in_another_session_fails_auth(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    first = await make_client(server)
    second = await make_client(server, stream=True)
    queue = await first.new_queue()
    await first.secure(queue)
    send = first.encode((queue.sender_id, q.Send(b"once"), queue.sender_mac_key))
    sub = first.encode((queue.recipient_id, q.Subscribe(), queue.recipient_mac_key))
    resp = await first.post_batch([send])
    assert resp.status_code == 200
    # The exact same bytes, posted in another session.
    resp = await second.post_batch([send, sub])
    assert [q.decode_response_transmission(r).response
            for r in q.decode_batch_response(resp.content)] == [AUTH, AUTH]
    assert (await _stats(server))["messages"] == 1
    await second.no_frame(0.1)


async def test_unknown_ids_and_wrong_keys_answer_identically(client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    unsecured = await client.new_queue()
    link_id = os.urandom(q.ID_SIZE)
    owner = KeyPair.generate()
    assert isinstance(await client.one(link_id, q.LinkNew(owner.public, b"f", b"u")),
                      q.LinkIds)
    wrong = os.urandom(32)
    unknown = os.urandom(q.ID_SIZE)
    new_sender, new_sender_mac = client.sender_keys(unsecured)
    cases: list[tuple[bytes, q.Command, bytes | None]] = [
        (queue.recipient_id, q.Subscribe(), wrong),
        (queue.recipient_id, q.Ack(os.urandom(q.ID_SIZE)), wrong),
        (queue.recipient_id, q.Suspend(), wrong),
        (queue.recipient_id, q.Delete(), None),
        (queue.sender_id, q.Send(b"x"), wrong),
        (queue.sender_id, q.Send(b"x"), None),
        (queue.sender_id, q.SecureQueue(new_sender.public), new_sender_mac),
        (unsecured.sender_id, q.SecureQueue(new_sender.public), wrong),
        (unsecured.sender_id, q.Send(b"x"), new_sender_mac),
        (link_id, q.LinkSet(b"x"), wrong),
        (link_id, q.LinkDelete(), None),
    ]
    known = await client.run(cases)
    unknowns = await client.run([(unknown, cmd, key) for _, cmd, key in cases])
    unknown_long = await client.run([(os.urandom(40), cmd, key) for _, cmd, key in cases])
    encoded = {q.encode_response(r) for r in known + unknowns + unknown_long}
    assert encoded == {q.encode_response(AUTH)}
    # Also for LGET, which is unsigned: a deleted or unknown link is AUTH.
    assert await client.one(unknown, q.LinkGet()) == AUTH
    # Nothing changed.
    assert await client.send(queue, b"still mine") == q.Ok()
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"f", b"u")


async def test_malformed_commands_inside_a_batch(server: EmbeddedServer,
                                                 client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    unpadded = codec.tag("SEND") + codec.u8(0) + codec.u16(3) + b"abc"
    too_long = codec.tag("SEND") + codec.u8(0) + codec.u16(q.MAX_BODY + 1) + bytes(q.MAX_BODY)
    responses = await client.run([
        (queue.sender_id, unpadded, queue.sender_mac_key),
        (queue.sender_id, too_long, queue.sender_mac_key),
        (b"", b"", None),
        (b"", codec.tag("NOPE"), None),
        (b"", codec.tag("PING") + b"\x00", None),
        (b"", b"\xff\xff", None),
        (b"", q.New(bytes(32)), None),  # an all-zero key has no shared secret
        (b"entity", q.New(os.urandom(32)), None),  # NEW has no entity
        (b"", q.Ping(), None),
    ])
    large, syntax = q.Err(ErrorCode.LARGE_MSG), q.Err(ErrorCode.SYNTAX)
    assert responses == [large, large] + [syntax] * 6 + [q.Pong()]
    assert (await _stats(server))["messages"] == 0
    assert (await _stats(server))["queues"] == 1


# ------------------------------------------------------------------ non-HTTP garbage


async def test_garbage_on_the_raw_tcp_socket(client: RawClient) -> None:
    for junk in (b"\x00" * 100, b"GET / HTTP/1.1\r\n\r\n", os.urandom(4096),
                 b"\x16\x03\x01\x00\x05hello"):
        reader, writer = await asyncio.open_connection(client.address.host,
                                                       client.address.port)
        writer.write(junk)
        await writer.drain()
        await asyncio.wait_for(reader.read(), 5)  # the server closes the connection
        writer.close()
    await assert_still_serving(client)


async def test_garbage_inside_tls(client: RawClient) -> None:
    for junk in (os.urandom(2048), b"\r\n\r\nGARBAGE\r\n\r\n", b"POST /v1/batch HTTP/9.9\r\n\r\n",
                 b"POST /v1/batch HTTP/1.1\r\ncontent-length: x\r\n\r\n",
                 b"POST /v1/batch HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
                 b"\x00" * 10_000):
        reply = await _raw_https(client.address, junk)
        # Either closed at once or refused by the HTTP parser; never a 5xx.
        if reply:
            assert reply.startswith(b"HTTP/1.1 4"), reply[:80]
    await assert_still_serving(client)


# ------------------------------------------------------------------------ helpers


async def _stats(srv: EmbeddedServer) -> dict[str, int]:
    assert srv.core is not None
    return await srv.core.store.stats()


def _request(path: str, body: bytes, content_length: str | None = None) -> bytes:
    length = content_length if content_length is not None else str(len(body))
    return (f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {length}\r\n\r\n".encode()
            + body)


async def _raw_https(address: ServerAddress, data: bytes) -> bytes:
    """Write ``data`` on a fresh TLS connection; return the first response (or b"")."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(address.host, address.port, ssl=ctx)
    try:
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = await asyncio.wait_for(reader.read(65_536), 5)
            if not chunk:
                return buf
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = await asyncio.wait_for(reader.read(65_536), 5)
            if not chunk:
                break
            rest += chunk
        return head + b"\r\n\r\n" + rest
    except (ConnectionError, ssl.SSLError):
        return b""
    finally:
        writer.close()


def _assert_raw_json_error(reply: bytes, status: int, code: str) -> None:
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), reply[:200]
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error"] == code
