"""Collects chat events from a core and waits, bounded, for the ones a test expects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from simplextui.chat.events import ChatEvent

E = TypeVar("E")


class Recorder:
    def __init__(self) -> None:
        self.events: list[ChatEvent] = []  # not yet taken by `wait`
        self.all: list[ChatEvent] = []
        self._changed = asyncio.Event()

    async def __call__(self, event: ChatEvent) -> None:
        self.events.append(event)
        self.all.append(event)
        self._changed.set()

    async def wait(self, kind: type[E], timeout: float = 5.0,
                   where: Callable[[E], bool] | None = None, **fields: Any) -> E:
        """Take the first recorded event of ``kind`` matching ``fields`` (and ``where``)."""

        def match(event: ChatEvent) -> bool:
            if not isinstance(event, kind):
                return False
            if any(getattr(event, k) != v for k, v in fields.items()):
                return False
            return where is None or where(event)

        async def find() -> E:
            while True:
                for i, event in enumerate(self.events):
                    if match(event):
                        del self.events[i]
                        return event  # type: ignore[return-value]
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {kind.__name__} {fields} within {timeout}s; "
                                 f"pending: {self.events}") from None

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.all if isinstance(e, kind)]
