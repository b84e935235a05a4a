"""The HTTPS surface of the queue server (Starlette): session, batch and stream endpoints.

Bad input of any kind gets a 4xx with a JSON ``{"error": CODE, "message": TEXT}``; a 5xx
means the server itself failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.server.core import QueueServerCore

log = logging.getLogger("simplextui.server")

_STATUS = {
    ErrorCode.SYNTAX: 400, ErrorCode.VERSION: 400, ErrorCode.SESSION: 401,
    ErrorCode.LARGE_BATCH: 413, ErrorCode.LARGE_MSG: 413,
}
_MAX_FRAMES_PER_CHUNK = 64
BINARY = "application/octet-stream"


class RequestRefused(Exception):
    def __init__(self, code: ErrorCode, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status or _STATUS.get(code, 400)


def error_response(code: ErrorCode, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": code.value, "message": message}, status_code=status)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    well_formed = declared is None or (declared.isascii() and declared.isdigit())
    if not well_formed or (declared is not None and int(declared) > limit):
        raise RequestRefused(ErrorCode.LARGE_BATCH, f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRefused(ErrorCode.LARGE_BATCH, f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(core: QueueServerCore) -> Starlette:
    def refuse_if_stopping() -> None:
        if core.stopping:
            raise RequestRefused(ErrorCode.INTERNAL, "the server is shutting down", 503)

    async def session_endpoint(request: Request) -> Response:
        refuse_if_stopping()
        body = await read_body(request, 64)
        info = core.open_session(q.decode_session_hello(body))
        return Response(q.encode_session_info(info), media_type=BINARY)

    async def batch_endpoint(request: Request) -> Response:
        body = await read_body(request, q.MAX_REQUEST_BYTES)
        batch = q.decode_batch_request(body)
        session = core.sessions.get(batch.session_id)
        if session is None:
            raise RequestRefused(ErrorCode.SESSION, "unknown or expired session")
        if batch.version != session.version:
            raise RequestRefused(ErrorCode.VERSION, "batch version differs from the session's")
        responses = await core.handle_batch(session, batch.transmissions)
        return Response(q.encode_batch_response(responses), media_type=BINARY)

    async def stream_endpoint(request: Request) -> Response:
        refuse_if_stopping()
        body = await read_body(request, 64)
        if len(body) != q.SESSION_ID_SIZE:
            raise RequestRefused(ErrorCode.SYNTAX, "stream body must be the session id")
        session = core.sessions.get(body)
        if session is None:
            raise RequestRefused(ErrorCode.SESSION, "unknown or expired session")
        token, frames = session.attach_stream()

        async def produce() -> AsyncIterator[bytes]:
            try:
                yield q.encode_frame(q.PingFrame())  # the stream is up
                while True:
                    try:
                        frame = await asyncio.wait_for(frames.get(), core.config.ping_interval)
                    except TimeoutError:
                        yield q.encode_frame(q.PingFrame())
                        continue
                    if frame is None:
                        return
                    parts = [q.encode_frame(frame)]
                    while len(parts) < _MAX_FRAMES_PER_CHUNK and not frames.empty():
                        more = frames.get_nowait()
                        if more is None:
                            yield b"".join(parts)
                            return
                        parts.append(q.encode_frame(more))
                    yield b"".join(parts)
            finally:
                session.detach_stream(token)

        return StreamingResponse(produce(), media_type=BINARY)

    async def health_endpoint(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": q.PROTOCOL_VERSION})

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
        Route("/v1/batch", batch_endpoint, methods=["POST"]),
        Route("/v1/stream", stream_endpoint, methods=["POST"]),
        Route("/v1/health", health_endpoint, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={
        ProtocolError: on_protocol_error, RequestRefused: on_refused,
        HTTPException: on_http_error,
    })
