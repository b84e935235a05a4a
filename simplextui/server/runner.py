"""Running a queue server: in-process (tests, embedded default) or as `simplextui server`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Iterator
from types import TracebackType

import uvicorn

from simplextui.protocol.address import ServerAddress
from simplextui.server.app import create_app
from simplextui.server.config import ServerConfig
from simplextui.server.core import QueueServerCore
from simplextui.server.http_protocol import protocol_class
from simplextui.server.store import ServerStore
from simplextui.server.tls_identity import load_or_create

__all__ = ["EmbeddedServer", "ServerConfig"]

log = logging.getLogger("simplextui.server")


class _QuietUvicorn(uvicorn.Server):
    """Uvicorn without its signal handlers: the host program owns signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class EmbeddedServer:
    """A queue server on the running event loop. ``start``/``stop`` may repeat (restarts)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.core: QueueServerCore | None = None
        self._store: ServerStore | None = None
        self._uvicorn: _QuietUvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._address: ServerAddress | None = None

    @property
    def address(self) -> ServerAddress:
        if self._address is None:
            raise RuntimeError("server not started")
        return self._address

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> ServerAddress:
        cfg = self.config
        identity = load_or_create(cfg.data_dir)
        self._store = ServerStore(cfg.database_url())
        await self._store.open()
        self.core = QueueServerCore(self._store, cfg)
        await self.core.start()
        sock = _bind(cfg.host, cfg.port)
        cfg.port = sock.getsockname()[1]  # a restart reuses the port picked the first time
        uv_config = uvicorn.Config(
            create_app(self.core), http=protocol_class(), ssl_certfile=str(identity.cert_path),
            ssl_keyfile=str(identity.key_path), log_level=logging.WARNING, access_log=False,
            lifespan="off", timeout_graceful_shutdown=1, timeout_keep_alive=30,
            server_header=False, date_header=False)
        uv_config.load()
        assert uv_config.ssl is not None
        uv_config.ssl.minimum_version = ssl.TLSVersion.TLSv1_3
        self._uvicorn = _QuietUvicorn(uv_config)
        self._task = asyncio.create_task(self._uvicorn.serve(sockets=[sock]),
                                         name="queue-server")
        while not self._uvicorn.started:
            if self._task.done():
                await self._task  # raises the start-up error
                raise RuntimeError("queue server stopped during start-up")
            await asyncio.sleep(0.005)
        self._address = ServerAddress(identity.fingerprint, cfg.host, cfg.port)
        log.info("queue server started at %s", self._address.short())
        return self._address

    async def stop(self) -> None:
        if self._uvicorn is None or self._task is None:
            return
        assert self.core is not None and self._store is not None
        # Refuse new sessions and streams first, so clients reconnecting in the gap do not
        # attach to a server that is going away; then stop accepting and end the streams.
        self.core.stopping = True
        self._uvicorn.should_exit = True
        self.core.close_streams()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self.core.stop()
        await self._store.close()
        self._uvicorn = self._task = None
        log.info("queue server stopped")

    async def __aenter__(self) -> EmbeddedServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when the
    # protocol is IPPROTO_TCP; with proto 0, Nagle holds every response body for ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
