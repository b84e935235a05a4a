"""The HTTPS surface of the queue server: session, batch and stream endpoints.

Bad input of any kind gets a 4xx with a JSON ``{"error": CODE, "message": TEXT}``; a 5xx
means the server itself failed.

The two endpoints that carry the traffic, ``POST /v1/batch`` and ``POST /v1/stream``, are
plain ASGI (:class:`QueueServerApp`); everything else (sessions, health, 404/405) goes to a
Starlette app. Starlette's request, routing and middleware layers and its
``StreamingResponse`` cost more per message than the command engine itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simplextui.protocol import queue as q
from simplextui.protocol import queue_hot as hot
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.server.core import QueueServerCore
from simplextui.server.sessions import FrameBuffer, Session

log = logging.getLogger("simplextui.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_STATUS = {
    ErrorCode.SYNTAX: 400, ErrorCode.VERSION: 400, ErrorCode.SESSION: 401,
    ErrorCode.LARGE_BATCH: 413, ErrorCode.LARGE_MSG: 413,
}
_STREAM_CHUNK = 1024 * 1024  # bytes of frames per write to the stream
BINARY = "application/octet-stream"
_BINARY_HEADERS = [(b"content-type", BINARY.encode())]
_PING = q.encode_frame(q.PingFrame())


class RequestRefused(Exception):
    def __init__(self, code: ErrorCode, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status or _STATUS.get(code, 400)


class ClientGone(Exception):
    """The client disconnected before its request body arrived: nothing to answer."""


def error_response(code: ErrorCode, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": code.value, "message": message}, status_code=status)


def _check_declared_length(headers: list[tuple[bytes, bytes]], limit: int) -> None:
    for name, value in headers:  # names are lower case in ASGI
        if name == b"content-length" and not (value.isascii() and value.isdigit()
                                              and int(value) <= limit):
            raise RequestRefused(ErrorCode.LARGE_BATCH, f"request body over {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    _check_declared_length(request.headers.raw, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRefused(ErrorCode.LARGE_BATCH, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_asgi_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """:func:`read_body` on plain ASGI."""
    _check_declared_length(scope["headers"], limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise RequestRefused(ErrorCode.LARGE_BATCH, f"request body over {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send_bytes(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class QueueServerApp:
    """The ASGI application: hot endpoints here, the rest in ``fallback`` (Starlette)."""

    def __init__(self, core: QueueServerCore, fallback: Starlette) -> None:
        self.core = core
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path = scope["path"]
            handler = (self._batch if path == "/v1/batch"
                       else self._stream if path == "/v1/stream" else None)
            if handler is not None:
                try:
                    await handler(scope, receive, send)
                except ClientGone:
                    pass
                except ProtocolError as exc:
                    await self._refuse(send, exc.code, exc.detail or exc.code.value,
                                       _STATUS.get(exc.code, 400))
                except RequestRefused as exc:
                    await self._refuse(send, exc.code, str(exc), exc.status)
                return
        await self.fallback(scope, receive, send)

    async def _refuse(self, send: Send, code: ErrorCode, message: str, status: int) -> None:
        self.core.errors.note(f"http-{code.value}")
        body = json.dumps({"error": code.value, "message": message}, ensure_ascii=False,
                          separators=(",", ":")).encode()
        await _send_bytes(send, status, b"application/json", body)

    def _session(self, session_id: bytes) -> Session:
        session = self.core.sessions.get(session_id)
        if session is None:
            raise RequestRefused(ErrorCode.SESSION, "unknown or expired session")
        return session

    async def _batch(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_asgi_body(scope, receive, q.MAX_REQUEST_BYTES)
        version, session_id, spans = hot.split_batch_request(body)
        session = self._session(session_id)
        if version != session.version:
            raise RequestRefused(ErrorCode.VERSION, "batch version differs from the session's")
        answer = await self.core.handle_batch(session, body, spans)
        await _send_bytes(send, 200, BINARY.encode(), answer)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.core.stopping:
            raise RequestRefused(ErrorCode.INTERNAL, "the server is shutting down", 503)
        body = await _read_asgi_body(scope, receive, 64)
        if len(body) != q.SESSION_ID_SIZE:
            raise RequestRefused(ErrorCode.SYNTAX, "stream body must be the session id")
        session = self._session(body)
        token, frames = session.attach_stream()
        stream = _StreamState(frames)
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": _BINARY_HEADERS})
            watcher = asyncio.get_running_loop().create_task(stream.watch(receive))
            try:
                await self._write_frames(send, stream)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            session.detach_stream(token)

    async def _write_frames(self, send: Send, stream: _StreamState) -> None:
        """Write frames as they come, many per write; a ping when idle. Ends when the buffer
        does (another stream took over, the session closed) or the client goes away."""
        frames = stream.frames
        ping_interval = self.core.config.ping_interval
        chunk: bytes = _PING  # the stream is up
        while True:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await frames.wait(ping_interval)
            if stream.client_gone:  # what is left waits for the session's next stream
                return
            batch = frames.take(_STREAM_CHUNK)
            if batch:
                chunk = b"".join(batch)
            elif frames.ended:
                return
            else:
                chunk = _PING


class _StreamState:
    def __init__(self, frames: FrameBuffer) -> None:
        self.frames = frames
        self.client_gone = False

    async def watch(self, receive: Receive) -> None:
        """Wait for the client to disconnect, then stop the stream's writer."""
        while (await receive())["type"] != "http.disconnect":
            pass
        self.client_gone = True
        self.frames.wake()


def create_app(core: QueueServerCore) -> QueueServerApp:
    def refuse_if_stopping() -> None:
        if core.stopping:
            raise RequestRefused(ErrorCode.INTERNAL, "the server is shutting down", 503)

    async def session_endpoint(request: Request) -> Response:
        refuse_if_stopping()
        body = await read_body(request, 64)
        info = core.open_session(q.decode_session_hello(body))
        return Response(q.encode_session_info(info), media_type=BINARY)

    async def health_endpoint(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": q.PROTOCOL_VERSION})

    async def post_only(_request: Request) -> Response:
        raise AssertionError("POST is served by QueueServerApp")  # routes give 405 otherwise

    async def on_protocol_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProtocolError)
        core.errors.note(f"http-{exc.code.value}")
        return error_response(exc.code, exc.detail or exc.code.value,
                              _STATUS.get(exc.code, 400))

    async def on_refused(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestRefused)
        core.errors.note(f"http-{exc.code.value}")
        return error_response(exc.code, str(exc), exc.status)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        core.errors.note(f"http-{exc.status_code}")
        return error_response(ErrorCode.SYNTAX, str(exc.detail), exc.status_code)

    routes = [
        Route("/v1/session", session_endpoint, methods=["POST"]),
        Route("/v1/batch", post_only, methods=["POST"]),
        Route("/v1/stream", post_only, methods=["POST"]),
        Route("/v1/health", health_endpoint, methods=["GET"]),
    ]
    fallback = Starlette(routes=routes, exception_handlers={
        ProtocolError: on_protocol_error, RequestRefused: on_refused,
        HTTPException: on_http_error,
    })
    return QueueServerApp(core, fallback)
