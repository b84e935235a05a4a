"""``ChatCore``: one user's chat client without a user interface.

Frontends (headless, TUI) create it, ``await start()``, subscribe to its events and call
``await execute(line)`` with lines of the command language; every call returns exactly one
response and never raises for a bad command or a failed operation.

    core = ChatCore(data_dir, [server], display_name="alice")
    core.subscribe(on_event)            # async callable, or an asyncio.Queue
    await core.start()                  # opens the database, starts the agent, emits Ready
    response = await core.execute("/c")
    await core.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from simplextui.agent.errors import AgentError
from simplextui.agent.events import AgentEvent
from simplextui.chat import datalock
from simplextui.chat.actions import Actions
from simplextui.chat.agent_api import AgentAPI, AgentFactory
from simplextui.chat.commands import Command, CommandError, parse_command
from simplextui.chat.context import ChatContext
from simplextui.chat.errors import ChatError, ProfileRequired
from simplextui.chat.events import ChatEvent, Ready
from simplextui.chat.groups.resend import resend_unsent_group_items
from simplextui.chat.inbound import Inbound
from simplextui.chat.names import InvalidName, validate_display_name
from simplextui.chat.profiles import create_user, load_user
from simplextui.chat.resend import resend_unsent
from simplextui.chat.responses import ChatResponse, ErrorResponse
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ProtocolError
from simplextui.store.chat_models import ChatUser
from simplextui.store.db import Database, open_database

__all__ = ["DB_FILE", "ChatCore", "Listener"]

log = logging.getLogger("simplextui.chat")
DB_FILE = "simplextui.db"
Listener = Callable[[ChatEvent], Awaitable[None]]


def _default_agent(db: Database, servers: list[ServerAddress],
                   on_event: Callable[[AgentEvent], Awaitable[None]]) -> AgentAPI:
    from simplextui.agent import Agent

    agent: AgentAPI = Agent(db, servers, on_event=on_event)
    return agent


class ChatCore:
    def __init__(self, data_dir: Path, servers: list[ServerAddress], *,
                 display_name: str | None = None,
                 agent_factory: AgentFactory | None = None) -> None:
        self.data_dir = data_dir
        self.servers = list(servers)
        self.display_name = display_name
        self._agent_factory = agent_factory or _default_agent
        self._listeners: list[Listener] = []
        self._db: Database | None = None
        self._agent: AgentAPI | None = None
        self._ctx: ChatContext | None = None
        self._actions: Actions | None = None
        self._inbound: Inbound | None = None
        self._ready = False
        self._locked = False  # holds the data directory's lock (one client per directory)
        self._held: list[ChatEvent] = []  # events raised during start, emitted after Ready
        self.quit_requested = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def user_name(self) -> str:
        if self._ctx is None:
            raise RuntimeError("chat core not started")
        return self._ctx.user.display_name

    @property
    def agent(self) -> AgentAPI:
        """The running agent (for diagnostics and tests; frontends use commands)."""
        if self._agent is None:
            raise RuntimeError("chat core not started")
        return self._agent

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("chat core not started")
        return self._db

    async def start(self) -> None:
        """Open the database, load or create the profile, start the agent, emit ``Ready``.

        Raises ``ProfileRequired`` on a first start without a display name, ``ChatError``
        for an invalid one.
        """
        if self.display_name is not None:
            try:
                validate_display_name(self.display_name)
            except InvalidName as exc:
                raise ChatError(str(exc)) from None
        datalock.acquire(self.data_dir)  # DataDirBusy if another process runs on it
        self._locked = True
        try:
            db = self._db = await open_database(self.data_dir / DB_FILE)
        except BaseException:
            self._unlock()
            raise
        try:
            user, renamed = await self._load_profile(db)
            agent = self._agent = self._agent_factory(db, self.servers, self._on_agent_event)
            ctx = self._ctx = ChatContext(db, agent, user, self._emit)
            actions = self._actions = Actions(ctx)
            self._inbound = Inbound(ctx)
            try:
                await agent.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await agent.stop()
                raise
        except BaseException:
            self._agent = None
            await db.close()
            self._db = None
            self._unlock()
            raise
        try:
            await resend_unsent(ctx)  # what a crash left between commit and outbox
            await resend_unsent_group_items(ctx)  # the same for group messages
        except Exception:
            log.exception("sending the messages left unsent failed")
        self._ready = True
        await self._emit(Ready(user.display_name))
        held, self._held = self._held, []
        for event in held:
            await self._emit(event)
        if renamed:
            await actions.broadcast_profile()

    async def _load_profile(self, db: Database) -> tuple[ChatUser, bool]:
        """The stored profile (created on the first start); True if the name changed."""
        async with db.session() as s, s.begin():
            user = await load_user(s)
            if user is None:
                if self.display_name is None:
                    raise ProfileRequired()
                return await create_user(s, self.display_name), False
            if self.display_name is None or user.display_name == self.display_name:
                return user, False
            user.display_name = self.display_name  # contacts are told once started
        return user, True

    async def stop(self) -> None:
        self._ready = False
        if self._inbound is not None:
            self._inbound.groups.close()  # messages waiting to be handled again stay unprocessed
        if self._agent is not None:
            try:
                await self._agent.stop()
            except Exception:
                log.exception("agent stop failed")
            self._agent = None
        if self._db is not None:
            await self._db.close()
            self._db = None
        self._unlock()

    def _unlock(self) -> None:
        if self._locked:
            self._locked = False
            datalock.release(self.data_dir)

    # --- events ---------------------------------------------------------------------------------

    def subscribe(self, listener: Listener | asyncio.Queue[ChatEvent]) -> Callable[[], None]:
        """Receive chat events, in order; returns a function that unsubscribes."""
        if isinstance(listener, asyncio.Queue):
            queue = listener

            async def put(event: ChatEvent) -> None:
                queue.put_nowait(event)

            fn: Listener = put
        else:
            fn = listener
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    async def _emit(self, event: ChatEvent) -> None:
        if not self._ready:
            self._held.append(event)
            return
        for listener in list(self._listeners):
            try:
                await listener(event)
            except Exception:
                log.exception("chat event listener failed on %s", type(event).__name__)

    async def _on_agent_event(self, event: AgentEvent) -> None:
        if self._inbound is None:
            raise RuntimeError("agent event before the chat core was set up")
        await self._inbound.handle(event)

    # --- commands -------------------------------------------------------------------------------

    async def execute(self, line: str) -> ChatResponse:
        """Parse and run one command line; a failure is an ``ErrorResponse``, never raised."""
        try:
            command = parse_command(line)
        except CommandError as exc:
            return ErrorResponse(str(exc))
        return await self.run(command)

    async def run(self, command: Command) -> ChatResponse:
        if self._actions is None or not self._ready:
            return ErrorResponse("the chat is not started")
        try:
            response = await self._actions.run(command)
        except (ChatError, AgentError) as exc:
            return ErrorResponse(str(exc))
        except ProtocolError as exc:
            return ErrorResponse(str(exc.detail or exc))
        except Exception as exc:
            log.exception("command %s failed", type(command).__name__)
            return ErrorResponse(f"internal error: {type(exc).__name__}: {exc}")
        if self._actions.quit_requested.is_set():
            self.quit_requested.set()
        return response
