"""What runs under the app: the chat core and, with no server configured, the embedded server.

No Textual here, so the demo, the benchmarks and tests can use it as well. The embedded server
is started by the headless mode's helper (same data layout, same remembered port), so a data dir
works the same from ``simplextui headless`` and from the app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from simplextui.chat import datalock
from simplextui.chat.agent_api import AgentFactory
from simplextui.chat.core import DB_FILE, ChatCore
from simplextui.chat.errors import ProfileRequired
from simplextui.chat.profiles import load_user
from simplextui.headless import start_embedded_server
from simplextui.protocol.address import ServerAddress
from simplextui.server.runner import EmbeddedServer
from simplextui.store.db import open_database
from simplextui.transport import QueueClient, TransportError

__all__ = ["Backend", "CoreHook", "ping_server"]

log = logging.getLogger("simplextui.tui")
CoreHook = Callable[["Backend"], Awaitable[None]]
SERVER_TEST_TIMEOUT = 5.0


class Backend:
    """Owns the embedded server (if any) and the chat core; ``stop`` ends both."""

    def __init__(self, data_dir: Path, servers: list[ServerAddress], *,
                 agent_factory: AgentFactory | None = None,
                 on_started: list[CoreHook] | None = None) -> None:
        self.data_dir = data_dir
        self.servers = list(servers)
        self.agent_factory = agent_factory
        self.on_started = list(on_started or [])
        self.embedded: EmbeddedServer | None = None
        self.core: ChatCore | None = None
        self.hook_tasks: list[asyncio.Task[None]] = []

    @property
    def uses_embedded(self) -> bool:
        return self.embedded is not None

    @property
    def server_label(self) -> str:
        if self.embedded is not None and self.embedded.running:
            return f"embedded server {self.embedded.address.host}:{self.embedded.address.port}"
        if not self.servers:
            return "no server"
        first = self.servers[0]
        more = f" +{len(self.servers) - 1}" if len(self.servers) > 1 else ""
        return f"server {first.host}:{first.port}{more}"

    async def start_server(self) -> None:
        """Start the embedded server when no server is configured."""
        if self.servers or self.embedded is not None:
            return
        # another client on this data dir would have its embedded server's port changed under
        # it: refuse (DataDirBusy) before touching the server's files, as headless does
        datalock.acquire(self.data_dir)
        try:
            self.embedded = await start_embedded_server(self.data_dir / "server")
        except BaseException:
            datalock.release(self.data_dir)
            raise
        self.servers = [self.embedded.address]

    async def has_profile(self) -> bool:
        """Whether the data dir has a user profile yet (a first start has none)."""
        path = self.data_dir / DB_FILE
        if not path.exists():
            return False
        db = await open_database(path)
        try:
            async with db.session() as s:
                return await load_user(s) is not None
        finally:
            await db.close()

    async def start_core(self, display_name: str | None = None) -> ChatCore:
        """Start the chat core; raises ``ProfileRequired`` on a first start without a name
        (before starting anything else, so that onboarding shows at once)."""
        if display_name is None and not await self.has_profile():
            raise ProfileRequired()
        await self.start_server()
        core = ChatCore(self.data_dir, self.servers, display_name=display_name,
                        agent_factory=self.agent_factory)
        await core.start()
        self.core = core
        for hook in self.on_started:
            self.hook_tasks.append(asyncio.create_task(self._run_hook(hook)))
        return core

    async def _run_hook(self, hook: CoreHook) -> None:
        try:
            await hook(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("start-up hook failed")

    async def stop(self) -> None:
        for task in self.hook_tasks:
            task.cancel()
        await asyncio.gather(*self.hook_tasks, return_exceptions=True)
        self.hook_tasks.clear()
        if self.core is not None:
            await self.core.stop()
            self.core = None
        if self.embedded is not None:
            await self.embedded.stop()
            self.embedded = None
            datalock.release(self.data_dir)


async def ping_server(address: ServerAddress, timeout: float = SERVER_TEST_TIMEOUT) -> str | None:
    """Ping a queue server; None if it answered, else why not (for the settings screen)."""
    client = QueueClient(address, timeout=timeout)
    try:
        await asyncio.wait_for(client.ping(), timeout + 1)
        return None
    except TransportError as exc:
        return str(exc) or type(exc).__name__
    except TimeoutError:
        return f"no answer within {timeout:.0f} s"
    except Exception as exc:  # a server that answers garbage must not crash the settings
        return f"{type(exc).__name__}: {exc}"
    finally:
        await client.close()
