"""Exponential backoff with full jitter.

Full jitter (a uniform delay in ``[0, min(cap, base * 2**attempt)]``) spreads the clients
of a restarted server over time instead of letting them all reconnect in the same instant.
A floor of ``base / 2`` keeps a retry loop from spinning when the draw is near zero.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The largest delay of the ``attempt``-th retry (0-based)."""
    if attempt >= 64:  # far past any cap; avoids computing huge powers
        return cap
    return min(cap, base * (2**attempt))


def jittered_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """A delay in ``[min(base / 2, ceiling), ceiling]`` for the ``attempt``-th retry."""
    ceiling = backoff_ceiling(attempt, base, cap)
    return max(min(base / 2, ceiling), rng.uniform(0.0, ceiling))


@dataclass(slots=True)
class Backoff:
    """Successive delays of one retry loop; ``reset`` after a success."""

    base: float = 0.1
    cap: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        delay = jittered_delay(self.attempt, self.base, self.cap, self.rng)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
