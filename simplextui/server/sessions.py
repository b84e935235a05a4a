"""Client sessions: replay protection, the subscription stream and its subscriptions.

Sessions live in memory only. After a restart every session is unknown, and clients open
a new one and resubscribe; nothing a client relies on across restarts is kept here.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

from simplextui.protocol import queue as q
from simplextui.protocol.queue import SESSION_ID_SIZE, Frame

EncodedFrame = bytes | bytearray


class FrameBuffer:
    """Encoded frames waiting for one stream.

    Deliveries append ready-to-send frames; the stream takes whatever has collected in one
    go, so a batch that delivers a hundred messages costs the stream one wake-up and one
    write (an ``asyncio.Queue`` would cost a put, a get and a wake-up per frame).
    """

    __slots__ = ("_frames", "_waiter", "ended")

    def __init__(self) -> None:
        self._frames: list[EncodedFrame] = []
        self._waiter: asyncio.Future[None] | None = None
        self.ended = False  # no more frames: the stream this buffer feeds is to end

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, frame: EncodedFrame) -> None:
        self._frames.append(frame)
        self.wake()

    def end(self) -> None:
        self.ended = True
        self.wake()

    def take(self, max_bytes: int) -> list[EncodedFrame]:
        """Frames from the front, at least one (if any), at most about ``max_bytes``."""
        frames = self._frames
        if not frames:
            return []
        size, n = 0, 0
        for frame in frames:
            size += len(frame)
            n += 1
            if size >= max_bytes:
                break
        if n == len(frames):
            self._frames = []
            return frames
        taken = frames[:n]
        del frames[:n]
        return taken

    def take_all(self) -> list[EncodedFrame]:
        frames, self._frames = self._frames, []
        return frames

    async def wait(self, timeout: float) -> None:
        """Return when frames are waiting, the buffer ended, or after ``timeout`` seconds."""
        if self._frames or self.ended:
            return
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, self.wake)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def wake(self) -> None:
        """Let :meth:`wait` return now."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


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
    frames: FrameBuffer = field(default_factory=FrameBuffer)
    stream_token: object | None = None  # identifies the one open stream of this session
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    closed: bool = False

    def push(self, frame: Frame) -> None:
        if not self.closed:
            self.frames.push(q.encode_frame(frame))

    def push_encoded(self, frame: EncodedFrame) -> None:
        if not self.closed:
            self.frames.push(frame)

    def attach_stream(self) -> tuple[object, FrameBuffer]:
        """Open the session's stream, ending any earlier one; pending frames move over."""
        old = self.frames
        fresh = FrameBuffer()
        for frame in old.take_all():
            fresh.push(frame)
        old.end()  # wakes the earlier stream, which then ends
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
        session.frames.end()

    def idle(self, idle_ttl: float) -> list[Session]:
        cutoff = time.monotonic() - idle_ttl
        return [s for s in self._sessions.values()
                if s.stream_token is None and s.last_used < cutoff]

    def all(self) -> list[Session]:
        return list(self._sessions.values())
