"""``ClientPool``: one :class:`QueueClient` per server, created on first use.

Clients are independent (own connections, batcher, stream and timeouts), so a slow or dead
server only delays calls made to that server.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from simplextui.protocol.address import ServerAddress
from simplextui.transport.client import QueueClient
from simplextui.transport.dispatch import EventHandler


class ClientPool:
    """``client_options`` are passed to every :class:`QueueClient` the pool creates."""

    def __init__(self, *, on_event: EventHandler | None = None, **client_options: Any) -> None:
        self._on_event = on_event
        self._options = client_options
        self._clients: dict[ServerAddress, QueueClient] = {}
        self._closed = False

    def get(self, address: ServerAddress) -> QueueClient:
        """The client of ``address``, created (not yet connected) on first use."""
        if self._closed:
            raise RuntimeError("the client pool is closed")
        client = self._clients.get(address)
        if client is None:
            client = QueueClient(address, on_event=self._on_event, **self._options)
            self._clients[address] = client
        return client

    __getitem__ = get

    def __contains__(self, address: object) -> bool:
        return address in self._clients

    def __len__(self) -> int:
        return len(self._clients)

    @property
    def clients(self) -> dict[ServerAddress, QueueClient]:
        return dict(self._clients)

    async def remove(self, address: ServerAddress) -> None:
        """Close and forget the client of ``address`` (no-op if there is none)."""
        client = self._clients.pop(address, None)
        if client is not None:
            await client.close()

    async def close(self) -> None:
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()
