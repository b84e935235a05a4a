"""Rate-limited logging of error classes: one line per class per interval, never content."""

from __future__ import annotations

import logging
import time
from collections import Counter

log = logging.getLogger("simplextui.server")


class ErrorClassLog:
    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._counts: Counter[str] = Counter()
        self._last_logged: dict[str, float] = {}
        self.totals: Counter[str] = Counter()

    def note(self, error_class: str, n: int = 1) -> None:
        self._counts[error_class] += n
        self.totals[error_class] += n
        now = time.monotonic()
        last = self._last_logged.get(error_class)
        if last is None or now - last >= self.interval:
            log.warning("error class %s: %d since last report", error_class,
                        self._counts.pop(error_class))
            self._last_logged[error_class] = now
