"""Helpers of the transport tests: an event recorder and quickly-retrying clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from simplextui.protocol.address import ServerAddress
from simplextui.transport import QueueClient, TransportEvent

E = TypeVar("E")

FAST = {"timeout": 5.0, "backoff_base": 0.02, "backoff_cap": 0.2, "ping_timeout": 5.0}


class EventLog:
    """Records events; tests wait for the one they expect."""

    def __init__(self) -> None:
        self.events: list[TransportEvent] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: TransportEvent) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, kind: type[E], predicate: Callable[[E], bool] = lambda _: True,
                       *, count: int = 1, timeout: float = 5.0) -> list[E]:
        """Wait until ``count`` events of ``kind`` match; returns them."""
        async with asyncio.timeout(timeout), self._changed:
            while True:
                found = [e for e in self.of(kind) if predicate(e)]
                if len(found) >= count:
                    return found
                await self._changed.wait()

    async def take(self, kind: type[E], predicate: Callable[[E], bool] = lambda _: True,
                   *, timeout: float = 5.0) -> E:
        """Wait for the first matching event and remove it from the log."""
        found = (await self.wait_for(kind, predicate, timeout=timeout))[0]
        self.events.remove(found)  # type: ignore[arg-type]
        return found


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., QueueClient]]:
    """``make_client(address, on_event=..., **options)``: fast retries, closed at the end."""
    clients: list[QueueClient] = []

    def make(address: ServerAddress, **options: Any) -> QueueClient:
        client = QueueClient(address, **{**FAST, **options})
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
