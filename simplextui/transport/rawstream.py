"""The subscription stream's HTTP/1.1 response, read by a thread from a blocking TLS socket.

Why not httpx here: every delivered message is a 16 KiB block, and reading it through
httpx (httpcore, anyio's TLS wrapper, h11) costs about 120 µs of CPU per block on these
machines, asyncio's own SSL about 50 µs; a blocking socket in a thread, read in bulk through
memory BIOs (:mod:`.tlsio`), about 20 µs, partly outside the GIL. At 10,000 messages/s
that is the difference between more than a core and a fifth of one. (Batches go over
blocking sockets too: see :mod:`.rawhttp`.)

The thread only moves bytes: it de-chunks the body and hands it to the event loop in
coalesced pieces (one wake-up per burst, not per TLS record), and stops reading while more
than ``high_water`` bytes wait for the loop, so TCP flow control reaches the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading

from simplextui.protocol.address import ServerAddress
from simplextui.transport.errors import CertificateMismatch, NetworkError
from simplextui.transport.tlsio import TlsSocket

_MAX_HEAD = 64 * 1024
_MAX_ERROR_BODY = 64 * 1024
_READ_SIZE = 256 * 1024  # at most this much decrypted data per hand-over


class HttpSyntaxError(NetworkError):
    def __init__(self, message: str) -> None:
        super().__init__(f"malformed HTTP from the server: {message}", sent=True)


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of an HTTP/1.1 response head (without CRLFCRLF)."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HttpSyntaxError("bad status line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise HttpSyntaxError("bad header line")
        headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
    return int(parts[1]), headers


class ChunkedDecoder:
    """Incremental decoder of ``Transfer-Encoding: chunked``; ``done`` after the last chunk
    and the (ignored) trailer section, with any bytes that followed the body in ``rest``.

    Bytes inside a chunk pass through without copying when they arrive whole.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._remaining = 0  # bytes left in the current chunk
        self._need_crlf = False  # the CRLF that closes a chunk's data
        self._trailers = False  # after the last chunk: header lines up to an empty one
        self.done = False
        self.rest = b""

    def feed(self, data: bytes) -> list[bytes]:
        if self.done or not data:
            return []
        if self._remaining >= len(data) and not self._buffer:
            self._remaining -= len(data)  # fast path: the middle of a chunk
            if self._remaining == 0:
                self._need_crlf = True
            return [data]
        self._buffer += data
        out: list[bytes] = []
        buf = self._buffer
        while True:
            if self._remaining:
                take = min(self._remaining, len(buf))
                if not take:
                    break
                out.append(bytes(buf[:take]))
                del buf[:take]
                self._remaining -= take
                if not self._remaining:
                    self._need_crlf = True
                continue
            if self._trailers:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > 8192:
                        raise HttpSyntaxError("trailer line too long")
                    break
                line_empty = end == 0
                del buf[: end + 2]
                if line_empty:
                    self.done = True
                    self.rest = bytes(buf)
                    buf.clear()
                    break
                continue
            if self._need_crlf:
                if len(buf) < 2:
                    break
                if buf[:2] != b"\r\n":
                    raise HttpSyntaxError("chunk not followed by CRLF")
                del buf[:2]
                self._need_crlf = False
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > 1024:
                    raise HttpSyntaxError("chunk size line too long")
                break
            size_text = bytes(buf[:end]).split(b";", 1)[0].strip()
            del buf[: end + 2]
            try:
                size = int(size_text, 16)
            except ValueError as exc:
                raise HttpSyntaxError("bad chunk size") from exc
            if size < 0:
                raise HttpSyntaxError("bad chunk size")
            if size == 0:
                self._trailers = True
                continue
            self._remaining = size
        return out


def network_error(exc: BaseException, address: ServerAddress, *, sent: bool) -> Exception:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return CertificateMismatch(f"{address.short()} failed pinned certificate verification")
    if isinstance(exc, NetworkError | CertificateMismatch):
        return exc
    return NetworkError(f"{address.short()} stream: {type(exc).__name__}: {exc}", sent=sent)


class RawStream:
    """One ``POST /v1/stream`` on its own TLS connection; body bytes come from :meth:`read`.

    :meth:`open` returns once the response head arrived with status 200, or raises the
    error the server answered with (``error_for_status(status, body)``).
    """

    def __init__(self, address: ServerAddress, context: ssl.SSLContext, *,
                 timeout: float, high_water: int = 8 * 1024 * 1024) -> None:
        self._address = address
        self._context = context
        self._timeout = timeout
        self._high_water = high_water
        self._sock: socket.socket | None = None  # the TCP socket under ``_tls``
        self._tls: TlsSocket | None = None
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._signalled = False
        self._finished: BaseException | None = None  # EOF (None stays None) or error
        self._eof = False
        self._drained = threading.Event()
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    # --------------------------------------------------------------------- opening

    async def open(self, session_id: bytes) -> tuple[int, bytes]:
        """Connect and send the request. Returns ``(200, b"")`` once streaming, or the
        status and body of a refusal (the connection is then closed)."""
        self._loop = asyncio.get_running_loop()
        try:
            status, head_rest, headers = await asyncio.to_thread(self._open_blocking,
                                                                 session_id)
        except BaseException:
            self.close()
            raise
        if status != 200:
            try:
                body = await asyncio.to_thread(self._read_error_body, head_rest, headers)
            finally:
                self.close()
            return status, body
        if headers.get("transfer-encoding", "").lower() != "chunked":
            self.close()
            raise HttpSyntaxError("the stream response is not chunked")
        self._thread = threading.Thread(target=self._reader, args=(head_rest,),
                                        name=f"stream {self._address.short()}", daemon=True)
        self._thread.start()
        return 200, b""

    def _open_blocking(self, session_id: bytes) -> tuple[int, bytes, dict[str, str]]:
        address = self._address
        try:
            raw = socket.create_connection((address.host, address.port), self._timeout)
        except OSError as exc:
            raise network_error(exc, address, sent=False) from exc
        self._sock = raw
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = TlsSocket(raw, self._context)
            sock.handshake()
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise network_error(exc, address, sent=False) from exc
        self._tls = sock
        self._sock = sock.sock
        if self._closed:  # closed while connecting: close() may have run before _sock was set
            sock.close()
            raise NetworkError("stream closed", sent=False)
        host = f"[{address.host}]" if ":" in address.host else address.host
        request = (f"POST /v1/stream HTTP/1.1\r\nHost: {host}:{address.port}\r\n"
                   f"Content-Type: application/octet-stream\r\n"
                   f"Content-Length: {len(session_id)}\r\nConnection: close\r\n\r\n"
                   ).encode("ascii") + session_id
        try:
            sock.sendall(request)
            data = b""
            while (end := data.find(b"\r\n\r\n")) < 0:
                if len(data) > _MAX_HEAD:
                    raise HttpSyntaxError("response head too long")
                chunk = sock.recv(_READ_SIZE)
                if not chunk:
                    raise NetworkError(f"{address.short()} closed the stream at once", sent=True)
                data += chunk
        except (OSError, ssl.SSLError) as exc:
            raise network_error(exc, address, sent=True) from exc
        status, headers = parse_head(data[:end])
        sock.sock.settimeout(None)  # from now on the loop's ping watchdog decides
        return status, data[end + 4 :], headers

    def _read_error_body(self, data: bytes, headers: dict[str, str]) -> bytes:
        length_text = headers.get("content-length", "0") or "0"
        if not length_text.isdigit():  # a ValueError here would end the stream's task
            raise HttpSyntaxError("bad content-length")
        sock = self._tls
        if sock is None or self._sock is None:
            return data
        length = min(int(length_text), _MAX_ERROR_BODY)
        self._sock.settimeout(self._timeout)
        with contextlib.suppress(OSError, ssl.SSLError):
            while len(data) < length:
                chunk = sock.recv(length - len(data))
                if not chunk:
                    break
                data += chunk
        return data[:length]

    # --------------------------------------------------------------------- reading

    def _reader(self, initial: bytes) -> None:
        """Thread: read, de-chunk, hand over; ends at EOF, on error or when closed."""
        sock = self._tls
        assert sock is not None
        decoder = ChunkedDecoder()
        error: BaseException | None = None
        try:
            data = initial
            while True:
                if data:
                    pieces = decoder.feed(data)
                    if pieces:
                        self._hand_over(pieces)
                    if decoder.done:
                        break
                if self._pending_size > self._high_water:
                    self._drained.clear()
                    while self._pending_size > self._high_water and not self._closed:
                        self._drained.wait(0.5)
                if self._closed:
                    break
                data = sock.recv(_READ_SIZE)
                if not data:
                    if not decoder.done:
                        error = NetworkError(f"{self._address.short()} stream cut", sent=True)
                    break
        except (OSError, ssl.SSLError, ValueError) as exc:
            if not self._closed:
                error = network_error(exc, self._address, sent=True)
        except NetworkError as exc:
            error = exc
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            self._finish(error)

    def _hand_over(self, pieces: list[bytes]) -> None:
        with self._lock:
            self._pending.extend(pieces)
            self._pending_size += sum(len(p) for p in pieces)
            wake = not self._signalled
            self._signalled = True
        if wake:
            self._wake()

    def _finish(self, error: BaseException | None) -> None:
        with self._lock:
            self._eof = True
            self._finished = error
            self._signalled = True
        self._wake()

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._ready.set)

    async def read(self) -> bytes:
        """The next piece of the response body; ``b""`` when the server ended it.

        Raises NetworkError (or CertificateMismatch) when the connection failed.
        """
        while True:
            with self._lock:
                if self._pending:
                    pieces, self._pending = self._pending, []
                    self._pending_size = 0
                    self._signalled = False
                    self._ready.clear()
                    self._drained.set()
                    return pieces[0] if len(pieces) == 1 else b"".join(pieces)
                if self._eof:
                    if self._finished is not None:
                        raise self._finished
                    return b""
                self._signalled = False
                self._ready.clear()
            await self._ready.wait()

    # --------------------------------------------------------------------- closing

    def close(self) -> None:
        """Stop reading and close the connection (from any thread; idempotent)."""
        self._closed = True
        self._drained.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            if self._thread is None:
                with contextlib.suppress(OSError):
                    sock.close()
