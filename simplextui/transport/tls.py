"""Certificate pinning.

A queue server has a self-signed certificate; its address carries the certificate's SHA-256.
Before the first request we fetch the certificate over one unverified TLS connection and
compare fingerprints; only then do we build an ``SSLContext`` that trusts exactly that
certificate, so that OpenSSL verifies every later connection against it (a server that
swaps certificates fails the handshake instead of being trusted).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from simplextui.protocol.address import ServerAddress, certificate_fingerprint
from simplextui.transport.errors import CertificateMismatch, NetworkError


def _probe_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # we only read the certificate; nothing is sent
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def fetch_certificate(host: str, port: int, timeout: float) -> bytes:
    """The DER certificate a server presents; raises :class:`NetworkError` on failure."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, ssl=_probe_context())
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise NetworkError(f"TLS probe of {host}:{port} failed: {exc!r}", sent=False) from exc
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
    if not der:
        raise NetworkError(f"{host}:{port} presented no certificate", sent=False)
    return bytes(der)


def pinned_context(der: bytes) -> ssl.SSLContext:
    """An SSLContext that trusts exactly this certificate and nothing else.

    No hostname check: the server is identified by its certificate, not by a name.
    ``VERIFY_X509_PARTIAL_CHAIN`` lets OpenSSL accept the pinned certificate as a trust
    anchor whatever its own chain.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.load_verify_locations(cadata=der)
    return ctx


async def pin(address: ServerAddress, timeout: float) -> ssl.SSLContext:
    """Check the server's certificate against the address and return a pinned context.

    Raises :class:`CertificateMismatch` (before anything is sent) when the fingerprint
    differs, :class:`NetworkError` when the server cannot be reached.
    """
    der = await fetch_certificate(address.host, address.port, timeout)
    if certificate_fingerprint(der) != address.fingerprint:
        raise CertificateMismatch(
            f"{address.short()} presented a certificate with another fingerprint"
        )
    return pinned_context(der)
