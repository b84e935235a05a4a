"""Handling a group message again later when it failed for a reason that passes.

Joining a member's invitation (an introduction) or creating one needs a queue server; if that
server is unreachable at that moment, acknowledging the message would lose the introduction
for good (that pair of members would never connect). Instead the message is left unprocessed
in the agent, which delivers it again after a restart, and is handled again here with backoff
while the process runs. Handlers are idempotent (the agent delivers at least once), so a
second run completes what the first one started.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from simplextui.agent import events as ae
from simplextui.protocol.errors import ErrorCode
from simplextui.transport.errors import ServerError, TransportError

__all__ = ["Redelivery", "is_transient"]

log = logging.getLogger("simplextui.chat.groups")

# Server answers that may well differ next time; every other refusal (AUTH: an invitation
# already used or gone...) stays what it is.
_PASSING_CODES = frozenset({ErrorCode.INTERNAL, ErrorCode.QUOTA})

Key = tuple[str, int]  # (connection id, agent message id)


def is_transient(exc: BaseException) -> bool:
    """Did ``exc`` (an agent error) come from a server that was unreachable or busy?"""
    cause = exc.__cause__
    if isinstance(cause, ServerError):
        return cause.code in _PASSING_CODES
    return isinstance(cause, TransportError)  # unreachable, connection lost, session gone


class Redelivery:
    """Runs ``handle`` again for messages whose handling failed transiently: after ``first``
    seconds, doubling up to ``cap``, with jitter, until it succeeds or :meth:`close`."""

    def __init__(self, handle: Callable[[ae.MessageReceived], Awaitable[object]], *,
                 first: float = 1.0, cap: float = 300.0,
                 rng: Callable[[], float] = random.random) -> None:
        self._handle = handle
        self._first, self._cap, self._rng = first, cap, rng
        self._attempts: dict[Key, int] = {}
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        self._closed = False

    def schedule(self, event: ae.MessageReceived) -> float:
        """Handle ``event`` again later; returns the delay in seconds."""
        key = (event.conn_id, event.agent_msg_id)
        attempt = self._attempts.get(key, 0) + 1
        self._attempts[key] = attempt
        delay = min(self._cap, self._first * 2 ** (attempt - 1)) * (0.75 + self._rng() / 2)
        if self._closed or key in self._timers:
            return delay
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, self._fire, key, event)
        return delay

    def done(self, event: ae.MessageReceived) -> None:
        """``event`` was handled (or given up on): forget its attempts."""
        self._attempts.pop((event.conn_id, event.agent_msg_id), None)

    def pending(self) -> int:
        """Messages waiting for another attempt."""
        return len(self._timers)

    def close(self) -> None:
        """Stop retrying (the messages stay unprocessed: the agent delivers them again on
        the next start)."""
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()

    def _fire(self, key: Key, event: ae.MessageReceived) -> None:
        self._timers.pop(key, None)
        if self._closed:
            return
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(
            self._run(event), name=f"group message {key[0]}/{key[1]} again")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, event: ae.MessageReceived) -> object:
        try:
            return await self._handle(event)
        except asyncio.CancelledError:
            raise
        except Exception:  # the handler logs its own failures; this is a safety net
            log.exception("handling a group message again failed")
            return None
