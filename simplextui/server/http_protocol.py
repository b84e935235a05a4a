"""uvicorn's httptools protocol, without two copies of every request body.

uvicorn appends each piece of a request body to a bytearray (``cycle.body += body``) and
hands the app ``bytes(cycle.body)``: two copies of every byte, plus a copy of the whole
bytearray whenever growing it moves it. With 4 MiB batches of 16 KB SENDs that was about a
fifth of the server's CPU per message. Here a piece that arrives while the app has taken
everything before it is kept as it is, and ``bytes()`` of a bytes object is that object: in
the common case nothing is copied. A second piece before the app reads falls back to
uvicorn's bytearray.

This replaces one small method of uvicorn's protocol class; :func:`protocol_class` returns
uvicorn's own choice when the class does not have the expected shape.
"""

from __future__ import annotations

import asyncio

try:
    from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
except ImportError:  # no httptools: uvicorn uses h11
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def protocol_class() -> type[asyncio.Protocol] | str:
    """What to give ``uvicorn.Config(http=...)``."""
    if HttpToolsProtocol is None or not hasattr(RequestResponseCycle, "receive"):
        return "auto"
    return _CopyLessBodyProtocol


if HttpToolsProtocol is not None:

    class _CopyLessBodyProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        def on_body(self, body: bytes) -> None:
            cycle = self.cycle
            if ((self.parser.should_upgrade() and self._should_upgrade())
                    or cycle.response_complete):
                return
            if not cycle.body:
                cycle.body = body  # type: ignore[assignment]  # no copy (see the module doc)
            else:
                if not isinstance(cycle.body, bytearray):
                    cycle.body = bytearray(cycle.body)
                cycle.body += body
            if len(cycle.body) > HIGH_WATER_LIMIT:
                self.flow.pause_reading()
            cycle.message_event.set()
