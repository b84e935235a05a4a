"""Clocks and id sources for the TUI: the system ones, and fixed ones for tests and screenshots.

The app reads the time only through a ``Clock`` (day separators, "today", relative times), so a
test that passes a ``FixedClock`` renders the same screen on any day in any time zone.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from simplextui.protocol.b64 import b64encode

__all__ = ["Clock", "FixedClock", "IdSource", "SystemClock", "counter_ids", "random_ids"]

IdSource = Callable[[], str]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now().astimezone()


class FixedClock:
    """Always the same instant (tests), in ``tz`` (UTC by default)."""

    def __init__(self, at: datetime, tz: tzinfo = UTC) -> None:
        self._at = at if at.tzinfo is not None else at.replace(tzinfo=tz)
        self._at = self._at.astimezone(tz)

    def now(self) -> datetime:
        return self._at

    def ms(self) -> int:
        return int(self._at.timestamp() * 1000)


def random_ids() -> str:
    """A fresh 16-character id (the shape of a shared message id)."""
    return b64encode(os.urandom(12))


def counter_ids(prefix: str = "id") -> IdSource:
    """Deterministic ids for tests: ``prefix0000000001``, ... padded to 16 characters."""
    counter = itertools.count(1)
    width = max(1, 16 - len(prefix))
    return lambda: f"{prefix}{next(counter):0{width}d}"[-16:].rjust(16, "0")
