"""Requests (sessions, batches) over blocking TLS sockets, each request run by a thread.

Why not httpx: a batch of SENDs is up to 4 MiB (every SEND is padded to 16 KB), and httpx
(httpcore and anyio's TLS over an asyncio transport, all holding the GIL) copied such a body
about four times on its way to the socket: about 50 µs of CPU per message on these machines,
more than the rest of the client. A thread encrypts and sends the body in bulk (see
:mod:`.tlsio`), largely with the GIL released; the event loop only waits for its answer.

HTTP/1.1 with keep-alive: a connection carries one request at a time, and up to
``max_connections`` exist (one per request in flight). An idle connection is reused unless
it idled longer than ``idle_timeout`` (below the server's keep-alive timeout) or the server
has closed it.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from simplextui.protocol.address import ServerAddress
from simplextui.transport.errors import NetworkError
from simplextui.transport.rawstream import (
    ChunkedDecoder,
    HttpSyntaxError,
    network_error,
    parse_head,
)
from simplextui.transport.tlsio import TlsSocket

_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024
_READ_SIZE = 256 * 1024
_JOIN_BODY = 64 * 1024  # smaller bodies are sent with the head, in one write


class _Connection:
    """One keep-alive connection; used by one thread at a time."""

    def __init__(self, tls: TlsSocket) -> None:
        self.tls = tls
        self.sock = tls.sock
        self.idle_since = time.monotonic()

    def usable(self, idle_timeout: float) -> bool:
        """Not idle too long, and nothing to read: readable means the server closed it."""
        if time.monotonic() - self.idle_since > idle_timeout:
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        self.tls.close()


class HttpsPool:
    """POST requests to one server over pinned TLS connections (see the module doc)."""

    def __init__(self, address: ServerAddress, context: ssl.SSLContext, *, timeout: float,
                 max_connections: int, idle_timeout: float = 15.0) -> None:
        self.address = address
        self._context = context
        self._timeout = timeout
        self._idle_timeout = idle_timeout
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max(1, max_connections))
        self._executor = ThreadPoolExecutor(max_workers=max(1, max_connections),
                                            thread_name_prefix=f"https {address.short()}")
        host = f"[{address.host}]" if ":" in address.host else address.host
        self._host = f"{host}:{address.port}"
        self._closed = False

    async def post(self, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        """Status and body of the answer; raises NetworkError or CertificateMismatch."""
        if self._closed:
            raise NetworkError("client is closed", sent=False)
        head = (f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode("ascii")
        async with self._slots:
            conn = self._take_idle()
            loop = asyncio.get_running_loop()
            try:
                future = loop.run_in_executor(self._executor, self._exchange, conn, head, body)
            except RuntimeError as exc:  # closed meanwhile: the executor takes no more work
                if conn is not None:
                    conn.close()
                raise NetworkError("client is closed", sent=False) from exc
            try:
                used, status, answer, keep = await asyncio.shield(future)
            except asyncio.CancelledError:
                future.add_done_callback(_close_when_done)  # the thread finishes on its own
                raise
            if keep and not self._closed:
                used.idle_since = time.monotonic()
                self._idle.append(used)
            else:
                used.close()
            return status, answer

    def close(self) -> None:
        """Close idle connections now, busy ones when their request ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        self._executor.shutdown(wait=False)

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable(self._idle_timeout):
                return conn
            conn.close()
        return None

    # ------------------------------------------------------------- in the thread

    def _connect(self) -> _Connection:
        address = self.address
        try:
            raw = socket.create_connection((address.host, address.port), self._timeout)
        except OSError as exc:
            raise network_error(exc, address, sent=False) from exc
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = TlsSocket(raw, self._context)
            tls.handshake()
            return _Connection(tls)
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise network_error(exc, address, sent=False) from exc

    def _exchange(self, conn: _Connection | None, head: bytes,
                  body: bytes) -> tuple[_Connection, int, bytes, bool]:
        if conn is None:
            conn = self._connect()
        try:
            conn.sock.settimeout(self._timeout)
            tls = conn.tls
            if len(body) <= _JOIN_BODY:  # one write (a system call costs tens of µs here)
                tls.sendall(head + body)
            else:
                tls.sendall(head)
                tls.sendall(body)
            status, answer, keep = self._read_response(tls)
        except (OSError, ssl.SSLError, ValueError, NetworkError) as exc:
            conn.close()
            raise network_error(exc, self.address, sent=True) from exc
        return conn, status, answer, keep

    def _read_response(self, sock: TlsSocket) -> tuple[int, bytes, bool]:
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            if len(data) > _MAX_HEAD:
                raise HttpSyntaxError("response head too long")
            data += self._recv(sock)
        status, headers = parse_head(data[:end])
        rest = data[end + 4 :]
        keep = "close" not in headers.get("connection", "").lower()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            answer, leftover = self._read_chunked(sock, rest)
            return status, answer, keep and not leftover
        length_text = headers.get("content-length")
        if length_text is None:  # delimited by the end of the connection
            chunks = [rest]
            while chunk := sock.recv(_READ_SIZE):
                chunks.append(chunk)
            return status, b"".join(chunks), False
        if not length_text.isdigit() or int(length_text) > _MAX_BODY:
            raise HttpSyntaxError("bad content-length")
        length = int(length_text)
        chunks, size = [rest], len(rest)
        while size < length:
            chunk = self._recv(sock, min(_READ_SIZE, length - size))
            chunks.append(chunk)
            size += len(chunk)
        answer = b"".join(chunks)
        if len(answer) != length:
            raise HttpSyntaxError("more bytes than the content-length")
        return status, answer, keep

    def _read_chunked(self, sock: TlsSocket, rest: bytes) -> tuple[bytes, bytes]:
        """The body, and whatever followed it (nothing should: no pipelining here)."""
        decoder = ChunkedDecoder()
        pieces = decoder.feed(rest)
        size = sum(len(p) for p in pieces)
        while not decoder.done:
            more = decoder.feed(self._recv(sock))
            pieces += more
            size += sum(len(p) for p in more)
            if size > _MAX_BODY:
                raise HttpSyntaxError("response body too long")
        return b"".join(pieces), decoder.rest

    def _recv(self, sock: TlsSocket, n: int = _READ_SIZE) -> bytes:
        chunk = sock.recv(n)
        if not chunk:
            raise NetworkError(f"{self.address.short()} closed the connection", sent=True)
        return chunk


def _close_when_done(future: asyncio.Future[tuple[_Connection, int, bytes, bool]]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result()[0].close()
