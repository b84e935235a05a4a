"""Certificate pinning: the fingerprint is checked before any request, then OpenSSL verifies
every connection against exactly the pinned certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Callable
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


class TlsServer:
    """A raw TLS server that records how many bytes each connection sent it."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.received = 0
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
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
