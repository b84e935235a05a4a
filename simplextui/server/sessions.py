"""Client sessions: replay protection, the subscription stream and its subscriptions.

Sessions live in memory only. After a restart every session is unknown, and clients open
a new one and resubscribe; nothing a client relies on across restarts is kept here.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

from simplextui.protocol.queue import SESSION_ID_SIZE, Frame


@dataclass(slots=True)
class Subscription:
    session: Session
    queue_pk: int
    in_flight_seq: int | None = None  # the delivered, not yet acknowledged message
    in_flight_msg_id: bytes | None = None
    in_flight_kind: str | None = None


@dataclass(eq=False, slots=True)
class Session:
    session_id: bytes
    version: int
    last_used: float = field(default_factory=time.monotonic)
    seen: set[bytes] = field(default_factory=set)  # correlation ids already processed
    frames: asyncio.Queue[Frame | None] = field(default_factory=asyncio.Queue)
    stream_token: object | None = None  # identifies the one open stream of this session
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    closed: bool = False

    def push(self, frame: Frame) -> None:
        if not self.closed:
            self.frames.put_nowait(frame)

    def attach_stream(self) -> tuple[object, asyncio.Queue[Frame | None]]:
        """Open the session's stream, ending any earlier one; pending frames move over."""
        old = self.frames
        fresh: asyncio.Queue[Frame | None] = asyncio.Queue()
        while not old.empty():
            frame = old.get_nowait()
            if frame is not None:
                fresh.put_nowait(frame)
        old.put_nowait(None)  # wakes the earlier stream, which then ends
        self.frames = fresh
        token = object()
        self.stream_token = token
        return token, fresh

    def detach_stream(self, token: object) -> None:
        if self.stream_token is token:
            self.stream_token = None
            self.last_used = time.monotonic()


class SessionRegistry:
    def __init__(self) -> None:
        self._sessions: dict[bytes, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def open(self, version: int) -> Session:
        session = Session(os.urandom(SESSION_ID_SIZE), version)
        self._sessions[session.session_id] = session
        return session

    def get(self, session_id: bytes) -> Session | None:
        session = self._sessions.get(session_id)
        if session is not None:
            session.last_used = time.monotonic()
        return session

    def close(self, session: Session) -> None:
        session.closed = True
        self._sessions.pop(session.session_id, None)
        session.frames.put_nowait(None)

    def idle(self, idle_ttl: float) -> list[Session]:
        cutoff = time.monotonic() - idle_ttl
        return [s for s in self._sessions.values()
                if s.stream_token is None and s.last_used < cutoff]

    def all(self) -> list[Session]:
        return list(self._sessions.values())
