"""Certificate pinning: the fingerprint is checked before any request, then OpenSSL verifies
every connection against exactly the pinned certificate."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from simplextui.protocol.address import ServerAddress, certificate_fingerprint
from simplextui.server.runner import EmbeddedServer, ServerConfig
from simplextui.transport import CertificateMismatch, QueueClient
from simplextui.transport.errors import NetworkError
from simplextui.transport.rawstream import RawStream
from simplextui.transport.tls import fetch_certificate, pin, pinned_context


def make_certificate(directory: Path, name: str) -> tuple[Path, Path, bytes]:
    """A self-signed CA:TRUE Ed25519 certificate like the server's: (cert, key, DER)."""
    key = Ed25519PrivateKey.generate()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, None))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class TlsServer:
    """A raw TLS server: records what each connection sent, or plays ``script``."""

    def __init__(self, cert: Path, key: Path, script: Script | None = None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.received = 0
        self.connections = 0
        self.port = 0
        self._script = script
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self._script is not None:
                await self._script(reader, writer)
                return
            while data := await reader.read(65536):
                self.received += len(data)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0,
                                                  ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[TlsServer, bytes]]:
    cert, key, der = make_certificate(tmp_path, "a")
    srv = TlsServer(cert, key)
    await srv.start()
    yield srv, der
    await srv.stop()


async def test_fetch_certificate_returns_the_presented_der(tls_server: tuple[TlsServer, bytes]
                                                           ) -> None:
    srv, der = tls_server
    assert await fetch_certificate("127.0.0.1", srv.port, 2.0) == der
    await asyncio.sleep(0.05)
    assert srv.received == 0  # the probe sends nothing after the handshake


async def test_pin_accepts_the_right_fingerprint_and_refuses_another(
        tls_server: tuple[TlsServer, bytes]) -> None:
    srv, der = tls_server
    good = ServerAddress(certificate_fingerprint(der), "127.0.0.1", srv.port)
    context = await pin(good, 2.0)
    assert context.verify_mode is ssl.CERT_REQUIRED and not context.check_hostname
    bad = ServerAddress(bytes(32), "127.0.0.1", srv.port)
    with pytest.raises(CertificateMismatch):
        await pin(bad, 2.0)


async def test_pinned_context_verifies_only_the_pinned_certificate(tmp_path: Path) -> None:
    cert_a, key_a, der_a = make_certificate(tmp_path, "a")
    cert_b, key_b, _ = make_certificate(tmp_path, "b")
    for cert, key, accepted in ((cert_a, key_a, True), (cert_b, key_b, False)):
        srv = TlsServer(cert, key)
        await srv.start()
        try:
            if accepted:
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", srv.port, ssl=pinned_context(der_a))
                writer.close()
            else:
                with pytest.raises(ssl.SSLCertVerificationError):
                    await asyncio.open_connection("127.0.0.1", srv.port,
                                                  ssl=pinned_context(der_a))
        finally:
            await srv.stop()


async def test_unreachable_server_is_a_network_error() -> None:
    with pytest.raises(NetworkError):
        await fetch_certificate("127.0.0.1", 1, 1.0)


async def test_client_with_wrong_fingerprint_sends_nothing(server: EmbeddedServer) -> None:
    wrong = ServerAddress(bytes(32), server.address.host, server.address.port)
    client = QueueClient(wrong, timeout=2.0)
    try:
        with pytest.raises(CertificateMismatch):
            await client.connect()
        with pytest.raises(CertificateMismatch):
            await client.ping()
    finally:
        await client.close()
    assert server.core is not None and len(server.core.sessions) == 0


async def test_client_with_right_fingerprint_connects(server: EmbeddedServer) -> None:
    async with QueueClient(server.address, timeout=2.0) as client:
        await client.ping()
    assert server.core is not None and len(server.core.sessions) == 1


async def test_server_replaced_by_another_certificate_is_refused(
        tmp_path: Path, make_client: Callable[..., QueueClient]) -> None:
    """After pinning, a different server on the same port fails OpenSSL verification."""
    first = EmbeddedServer(ServerConfig(data_dir=tmp_path / "one"))
    await first.start()
    client = make_client(first.address, timeout=2.0)
    await client.ping()
    await first.stop()
    impostor = EmbeddedServer(ServerConfig(data_dir=tmp_path / "two", port=first.address.port))
    await impostor.start()
    try:
        assert impostor.address.fingerprint != first.address.fingerprint
        with pytest.raises(CertificateMismatch):
            await client.ping()
        assert impostor.core is not None and len(impostor.core.sessions) == 0
    finally:
        await impostor.stop()


# --------------------------------------------------------------- the stream connection

STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
               b"transfer-encoding: chunked\r\n\r\n")


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"POST /v1/stream HTTP/1.1\r\n")
    return await reader.readexactly(32)


async def scripted_stream(tmp_path: Path, script: Script) -> tuple[TlsServer, RawStream]:
    cert, key, der = make_certificate(tmp_path, "s")
    srv = TlsServer(cert, key, script)
    await srv.start()
    address = ServerAddress(certificate_fingerprint(der), "127.0.0.1", srv.port)
    return srv, RawStream(address, pinned_context(der), timeout=2.0)


async def test_stream_body_is_dechunked_until_the_end(tmp_path: Path) -> None:
    body = os.urandom(300_000)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await read_request(reader) == bytes(32)
        writer.write(STREAM_HEAD)
        for i in range(0, len(body), 70_000):
            piece = body[i : i + 70_000]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    srv, stream = await scripted_stream(tmp_path, script)
    try:
        assert await stream.open(bytes(32)) == (200, b"")
        received = b""
        while data := await stream.read():
            received += data
        assert received == body
    finally:
        stream.close()
        await srv.stop()


async def test_stream_refusal_returns_status_and_body(tmp_path: Path) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        payload = b'{"error": "SESSION", "message": "unknown"}'
        writer.write(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: %d\r\n\r\n%s"
                     % (len(payload), payload))
        await writer.drain()

    srv, stream = await scripted_stream(tmp_path, script)
    try:
        status, body = await stream.open(bytes(32))
        assert status == 401 and b"SESSION" in body
    finally:
        stream.close()
        await srv.stop()


async def test_stream_refusal_with_a_bad_length_is_a_network_error(tmp_path: Path) -> None:
    """Not a ValueError: the stream's task retries network errors, anything else ended it
    (and with it every subscription of the client)."""
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: ten\r\n\r\nnonsense")
        await writer.drain()

    srv, stream = await scripted_stream(tmp_path, script)
    try:
        with pytest.raises(NetworkError, match="content-length"):
            await stream.open(bytes(32))
    finally:
        stream.close()
        await srv.stop()


async def test_stream_cut_mid_chunk_is_a_network_error(tmp_path: Path) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(STREAM_HEAD + b"100\r\n" + b"x" * 10)
        await writer.drain()

    srv, stream = await scripted_stream(tmp_path, script)
    try:
        await stream.open(bytes(32))
        assert await stream.read() == b"x" * 10
        with pytest.raises(NetworkError):
            await stream.read()
    finally:
        stream.close()
        await srv.stop()


async def test_closing_a_silent_stream_stops_its_reader(tmp_path: Path) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(STREAM_HEAD)
        await writer.drain()
        await asyncio.sleep(5)

    srv, stream = await scripted_stream(tmp_path, script)
    try:
        await stream.open(bytes(32))
        pending = asyncio.create_task(stream.read())
        await asyncio.sleep(0.05)
        assert not pending.done()
        stream.close()
        async with asyncio.timeout(1.0):
            with pytest.raises(NetworkError):
                await pending
    finally:
        stream.close()
        await srv.stop()


async def test_stream_to_another_certificate_is_refused(tmp_path: Path) -> None:
    _, _, der_a = make_certificate(tmp_path, "a")
    cert_b, key_b, _ = make_certificate(tmp_path, "b")
    srv = TlsServer(cert_b, key_b)
    await srv.start()
    address = ServerAddress(certificate_fingerprint(der_a), "127.0.0.1", srv.port)
    stream = RawStream(address, pinned_context(der_a), timeout=2.0)
    try:
        with pytest.raises(CertificateMismatch):
            await stream.open(bytes(32))
        await asyncio.sleep(0.05)
        assert srv.received == 0
    finally:
        stream.close()
        await srv.stop()


async def test_stream_reader_stops_at_high_water(tmp_path: Path) -> None:
    sent = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await read_request(reader)
        writer.write(STREAM_HEAD)
        piece = bytes(60_000)
        with contextlib.suppress(ConnectionError):
            for _ in range(400):  # 24 MB if nobody stopped reading
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                sent += len(piece)

    cert, key, der = make_certificate(tmp_path, "s")
    srv = TlsServer(cert, key, script)
    await srv.start()
    address = ServerAddress(certificate_fingerprint(der), "127.0.0.1", srv.port)
    stream = RawStream(address, pinned_context(der), timeout=2.0, high_water=1_000_000)
    try:
        await stream.open(bytes(32))
        await asyncio.sleep(0.3)
        assert sent < 12_000_000  # the loop read nothing: the reader and TCP pushed back
        first = await stream.read()
        assert 1_000_000 <= len(first) < 1_000_000 + 400_000
    finally:
        stream.close()
        await srv.stop()
