"""One server's HTTP side: the pinned connections, the protocol session, the stream.

Sessions and batches go over keep-alive HTTP/1.1 connections (:mod:`.rawhttp`, one per
request in flight); the subscription stream has a connection of its own (:mod:`.rawstream`).
Both use blocking TLS sockets in threads rather than an asyncio HTTP client: see those
modules for the measurements. Every failure is mapped to a transport error below this
module, so nothing above sees sockets or TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable

from simplextui.protocol import queue
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.transport.errors import (
    NetworkError,
    ServerError,
    SessionExpired,
)
from simplextui.transport.rawhttp import HttpsPool
from simplextui.transport.rawstream import RawStream
from simplextui.transport.tls import pin

_CONTENT_TYPE = "application/octet-stream"
SessionListener = Callable[[bytes], None]


def error_from_response(status: int, body: bytes, session_id: bytes) -> Exception:
    """A whole-request error: ``{"error": CODE, "message": TEXT}`` with a 4xx status."""
    if status >= 500:
        return NetworkError(f"server answered HTTP {status}", sent=True)
    code_text, message = "", ""
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        parsed = json.loads(body)
        code_text, message = str(parsed.get("error", "")), str(parsed.get("message", ""))
    try:
        code = ErrorCode(code_text)
    except ValueError:
        code = ErrorCode.SESSION if status == 401 else ErrorCode.SYNTAX
        message = message or f"HTTP {status}"
    if code is ErrorCode.SESSION:
        return SessionExpired(session_id)
    return ServerError(code, message)


class ServerConnection:
    """Pinned HTTP clients and the current session of one queue server."""

    def __init__(self, address: ServerAddress, *, timeout: float, max_connections: int) -> None:
        self.address = address
        self.timeout = timeout
        self._max_connections = max_connections
        self._client: HttpsPool | None = None
        self._context: ssl.SSLContext | None = None
        self._start_lock = asyncio.Lock()
        self._session_lock = asyncio.Lock()
        self._session_id: bytes | None = None
        self._version = queue.PROTOCOL_VERSION
        self._listeners: list[SessionListener] = []
        self.server_clock_offset_ms = 0
        self.sessions_opened = 0
        self.requests_sent = 0
        self._closed = False

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Pin the certificate (once) and set up the connection pool."""
        if self._client is not None:
            return
        async with self._start_lock:
            if self._closed:
                raise NetworkError("client is closed", sent=False)
            if self._client is not None:
                return
            context = await pin(self.address, self.timeout)
            self._context = context
            self._client = HttpsPool(self.address, context, timeout=self.timeout,
                                     max_connections=self._max_connections)

    @property
    def started(self) -> bool:
        return self._client is not None

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -------------------------------------------------------------------- sessions

    def add_session_listener(self, listener: SessionListener) -> None:
        """Call ``listener(session_id)`` whenever a session is opened (first or renewed)."""
        self._listeners.append(listener)

    @property
    def version(self) -> int:
        return self._version

    @property
    def current_session(self) -> bytes | None:
        return self._session_id

    async def session(self) -> bytes:
        """The current session id, opening a session first if there is none."""
        session_id = self._session_id
        if session_id is not None:
            return session_id
        async with self._session_lock:
            if self._session_id is None:
                await self._open_session()
            assert self._session_id is not None
            return self._session_id

    async def renew_session(self, stale: bytes) -> bytes:
        """Replace ``stale`` by a new session, unless another task already did."""
        async with self._session_lock:
            if self._session_id == stale or self._session_id is None:
                self._session_id = None
                await self._open_session()
            assert self._session_id is not None
            return self._session_id

    async def _open_session(self) -> None:
        await self.start()
        hello = queue.encode_session_hello(
            queue.SessionHello(queue.MIN_VERSION, queue.PROTOCOL_VERSION))
        body = await self._post("/v1/session", hello, b"")
        try:
            info = queue.decode_session_info(body)
        except ProtocolError as exc:
            raise ServerError(ErrorCode.SYNTAX, f"bad session answer: {exc}") from exc
        self._session_id = info.session_id
        self._version = info.version
        self.server_clock_offset_ms = info.server_time_ms - int(time.time() * 1000)
        self.sessions_opened += 1
        for listener in self._listeners:
            listener(info.session_id)

    # ---------------------------------------------------------------------- requests

    async def post_batch(self, session_id: bytes, body: bytes) -> bytes:
        """POST one encoded batch; raises SessionExpired, ServerError or NetworkError."""
        return await self._post("/v1/batch", body, session_id)

    async def _post(self, path: str, body: bytes, session_id: bytes) -> bytes:
        await self.start()
        client = self._client
        if client is None:
            raise NetworkError("client is closed", sent=False)
        self.requests_sent += 1
        status, answer = await client.post(path, body, _CONTENT_TYPE)
        if status != 200:
            raise error_from_response(status, answer, session_id)
        return answer

    @contextlib.asynccontextmanager
    async def open_stream(self, session_id: bytes) -> AsyncIterator[RawStream]:
        """Open ``POST /v1/stream`` for a session; yields the streaming body to read from.

        Raises SessionExpired (401), ServerError, NetworkError or CertificateMismatch.
        """
        await self.start()
        context = self._context
        if context is None or self._closed:
            raise NetworkError("client is closed", sent=False)
        stream = RawStream(self.address, context, timeout=self.timeout)
        try:
            status, body = await stream.open(session_id)
            if status != 200:
                raise error_from_response(status, body, session_id)
            yield stream
        finally:
            stream.close()
