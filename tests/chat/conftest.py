"""Fixtures for chat core tests: cores with the REAL agent on a real queue server over TLS on
127.0.0.1, each user with its own real SQLite file.

``make_user("alice")`` starts a user; ``pair`` gives alice and bob already connected;
``restart(user)`` stops a user's core and starts a new one on the same files (a process
restart), keeping its recorder so that tests can count events across restarts;
``Crash(user)`` copies a user's database at the moment the chat shows an event, which
``restart(user, crash=...)`` then starts from: the state a crash right there would leave.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so that `tests.chat.*` helpers import under pytest
    sys.path.insert(0, _ROOT)

from simplextui.chat.core import DB_FILE, ChatCore  # noqa: E402
from simplextui.chat.events import ChatEvent  # noqa: E402
from simplextui.protocol.address import ServerAddress  # noqa: E402
from simplextui.server.runner import EmbeddedServer  # noqa: E402
from tests.chat.helpers import Pair, connect  # noqa: E402
from tests.chat.recorder import Recorder  # noqa: E402

T = 10.0  # bound of every start, stop and wait in these fixtures

MakeUser = Callable[..., Awaitable[Pair]]
Restart = Callable[..., Awaitable[Pair]]


class Crash:
    """Copies ``user``'s database (a consistent SQLite backup) when its chat core emits the
    first event for which ``when`` holds. The listener runs inside the agent's delivery of
    the event that caused it, after the chat committed it and before the agent forgets the
    event: so the copy is what a crash at that instant leaves on disk."""

    def __init__(self, user: Pair, when: Callable[[ChatEvent], bool]) -> None:
        core = user[0]
        self.source = core.data_dir / DB_FILE
        self.copy = core.data_dir.with_name(f"{core.data_dir.name}-crash-{id(self):x}.db")
        self.when = when
        self.taken = asyncio.Event()
        self._unsubscribe = core.subscribe(self)

    async def __call__(self, event: ChatEvent) -> None:
        if self.taken.is_set() or not self.when(event):
            return
        with sqlite3.connect(self.source) as src, sqlite3.connect(self.copy) as dst:
            src.backup(dst)
        src.close()
        dst.close()
        self.taken.set()
        self._unsubscribe()

    async def wait(self) -> None:
        await asyncio.wait_for(self.taken.wait(), T)

    def pending_agent_events(self) -> list[str]:
        """Kinds of the agent events journaled in the copy but not yet forgotten."""
        with sqlite3.connect(self.copy) as db:
            rows = db.execute("SELECT kind FROM agent_pending_events ORDER BY id").fetchall()
        db.close()
        return [kind for (kind,) in rows]

    def restore(self) -> None:
        """Put the copy in place of the (stopped) user's database."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.source}{suffix}").unlink(missing_ok=True)
        with sqlite3.connect(self.copy) as src, sqlite3.connect(self.source) as dst:
            src.backup(dst)
        src.close()
        dst.close()


@pytest.fixture
async def make_user(tmp_path: Path, server: EmbeddedServer) -> AsyncIterator[MakeUser]:
    """``await make_user("alice")``: a started core with the REAL agent on the test server
    (or on ``servers=[...]``); ``data_dir=`` reuses a stopped user's files (a restart),
    ``recorder=`` keeps recording into an existing recorder."""
    cores: list[ChatCore] = []

    async def make(name: str, display_name: str | None = None, data_dir: Path | None = None,
                   servers: list[ServerAddress] | None = None,
                   recorder: Recorder | None = None) -> Pair:
        core = ChatCore(data_dir or tmp_path / name, servers or [server.address],
                        display_name=display_name or name)
        recorder = recorder or Recorder()
        core.subscribe(recorder)
        cores.append(core)
        await asyncio.wait_for(core.start(), T)
        return core, recorder

    yield make
    for core in cores:
        await asyncio.wait_for(core.stop(), T)


@pytest.fixture
async def restart(make_user: MakeUser) -> Restart:
    """``await restart(user)``: stop the user's core and start a new one on the same files,
    recording into the same recorder; ``display_name=`` renames at start, ``crash=`` starts
    from a :class:`Crash` copy instead of the state the clean stop left."""

    async def again(user: Pair, display_name: str | None = None,
                    crash: Crash | None = None) -> Pair:
        core, recorder = user
        name = core.user_name
        await asyncio.wait_for(core.stop(), T)
        if crash is not None:
            crash.restore()
        return await make_user(core.data_dir.name, display_name=display_name or name,
                               data_dir=core.data_dir, servers=core.servers, recorder=recorder)

    return again


@pytest.fixture
async def pair(make_user: MakeUser) -> tuple[Pair, Pair]:
    """Alice and bob on one server, already connected (each knows the other by name)."""
    alice = await make_user("alice")
    bob = await make_user("bob")
    assert await connect(alice, bob, T) == ("bob", "alice")
    return alice, bob
