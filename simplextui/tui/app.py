"""The Textual app: starts the chat core (and the embedded server), routes its events, runs
commands, and owns settings, themes and the keymap.

    app = create_app(data_dir=Path("~/.local/share/simplextui/client"))
    app.run()

``create_app`` takes everything that would make a screen differ between runs (clock, id
source, settings file, agent) so that tests and screenshots are deterministic.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePath
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal

from simplextui.chat.agent_api import AgentFactory
from simplextui.chat.errors import ChatError, ProfileRequired
from simplextui.chat.events import (
    ChatEvent,
    ConnectionErrorEvent,
    ContactConnected,
    ContactDeleted,
    ContactRequestReceived,
    GroupDeleted,
    IntegrityError,
    MemberRemoved,
    MessageReceived,
)
from simplextui.chat.responses import ChatResponse, ErrorResponse
from simplextui.protocol.address import ServerAddress
from simplextui.tui import keymap
from simplextui.tui.backend import Backend, CoreHook
from simplextui.tui.chatkeys import chat_ref
from simplextui.tui.clock import Clock, IdSource, SystemClock, random_ids
from simplextui.tui.commands import ChatCommands
from simplextui.tui.data import ChatData
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.format import preview
from simplextui.tui.messages import BackendFailed, BackendReady, CommandDone, CoreEvent
from simplextui.tui.settings import (
    DEFAULT_THEME,
    Settings,
    default_settings_path,
    load_settings,
    save_settings,
)
from simplextui.tui.themes import BUNDLED_THEMES_DIR, CHAT_VARIABLES, load_themes
from simplextui.tui.toasts import Notice, ToastGate

__all__ = ["SimplexApp", "create_app"]

log = logging.getLogger("simplextui.tui")
STYLES = Path(__file__).with_name("styles")
NOTICES_KEPT = 50
NEEDS_PROFILE = frozenset({"contacts", "settings", "new_group", "command_palette"})


class SimplexApp(WorkerErrors, App[int]):
    TITLE = "simplextui"
    CSS_PATH: ClassVar[list[str | PurePath]] = [
        STYLES / "app.tcss", STYLES / "main.tcss", STYLES / "screens.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = keymap.bindings("app")
    COMMANDS = App.COMMANDS | {ChatCommands}
    NOTIFICATION_TIMEOUT = 6
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 - as App declares it

    def __init__(self, backend: Backend, *, settings: Settings, settings_path: Path | None,
                 clock: Clock, ids: IdSource, display_name: str | None = None,
                 blink: bool = True, settings_problems: list[str] | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.settings = settings
        self.settings_path = settings_path
        self.clock = clock
        self.ids = ids
        self.display_name = display_name
        self.blink = blink
        self.data: ChatData | None = None
        self.started = False
        self._settings_problems = list(settings_problems or [])
        self._themes_ready = False
        self.notices: deque[tuple[str, str, str]] = deque(maxlen=NOTICES_KEPT)
        self.core_events: Signal[ChatEvent] = Signal(self, "core-events")
        self.commands_done: Signal[CommandDone] = Signal(self, "commands-done")
        self.toasts = ToastGate(self)

    # --- start and stop -----------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        from simplextui.tui.screens.main import MainScreen

        return MainScreen()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        generated = self.current_theme.to_color_system().generate()
        return {name: generated[source] for name, source in CHAT_VARIABLES.items()}

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self.toasts.screen_changed, immediate=True)
        self._load_themes()
        problems = self._settings_problems + [
            f"keymap: unknown binding id {i!r}" for i in keymap.unknown_ids(self.settings.keymap)]
        if problems:
            self.notify("\n".join(problems), title="Settings", severity="warning", timeout=10)
        self.set_keymap(self.settings.keymap)
        self.run_worker(self._start(self.display_name), group="backend", exit_on_error=False)

    def _load_themes(self) -> None:
        dirs = [BUNDLED_THEMES_DIR]
        if self.settings_path is not None:
            dirs.append(self.settings_path.parent / "themes")
        loaded = load_themes(dirs)
        for theme in loaded.themes:
            self.register_theme(theme)
        wanted = self.settings.theme
        if wanted not in self.available_themes:
            loaded.errors.append(f"theme {wanted!r} is not available; using {DEFAULT_THEME}")
            wanted = DEFAULT_THEME
        self.theme = wanted
        self._themes_ready = True
        if loaded.errors:
            self.notify("\n".join(loaded.errors), title="Theme files not loaded",
                        severity="error", timeout=12)

    async def _start(self, display_name: str | None) -> None:
        try:
            core = await self.backend.start_core(display_name)
        except ProfileRequired:
            from simplextui.tui.screens.onboarding import OnboardingScreen

            self.push_screen(OnboardingScreen(), self._onboarded)
            return
        except (ChatError, OSError) as exc:
            self.post_message(BackendFailed(str(exc)))
            return
        except Exception as exc:
            log.exception("start failed")
            self.post_message(BackendFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.data = ChatData(core.db)
        core.subscribe(self._core_listener)
        self.started = True
        self.post_message(BackendReady())

    def _onboarded(self, result: tuple[str, str] | None) -> None:
        if result is None:
            self.exit(0)
            return
        name, full_name = result
        self.run_worker(self._start_new(name, full_name), group="backend", exit_on_error=False)

    async def _start_new(self, name: str, full_name: str) -> None:
        await self._start(name)
        if self.started and full_name:
            await self.run_command(f"/p {name} {full_name}")

    def on_backend_ready(self, message: BackendReady) -> None:
        for screen in self.screen_stack:
            screen.post_message(BackendReady())

    def on_backend_failed(self, message: BackendFailed) -> None:
        self.notify(message.error, title="Could not start", severity="error", timeout=30)
        for screen in self.screen_stack:
            screen.post_message(BackendFailed(message.error))

    async def on_unmount(self) -> None:
        await self.backend.stop()

    # --- events and commands --------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True,
               incoming: bool = False) -> None:
        """A toast, never over a dialog (``tui.toasts``); also kept in ``notices`` (severity,
        title, message), newest last. ``incoming``: news from elsewhere (a message, a
        request), which waits for an open dialog to close instead of showing in it."""
        self.notices.append((severity, title, message))
        notice = Notice(message, title, severity,
                        self.NOTIFICATION_TIMEOUT if timeout is None else timeout, markup)
        self.toasts.show(notice, incoming=incoming)

    async def _core_listener(self, event: ChatEvent) -> None:
        self.post_message(CoreEvent(event))

    def on_core_event(self, message: CoreEvent) -> None:
        event = message.event
        self._toast(event)
        self.core_events.publish(event)

    @property
    def open_chat(self) -> str | None:
        """The chat open on the main screen (whatever screen is on top of it)."""
        from simplextui.tui.screens.main import MainScreen

        main = self.screen_stack[0] if self.screen_stack else None
        return main.current_chat if isinstance(main, MainScreen) else None

    @property
    def visible_chat(self) -> str | None:
        """The open chat if the user is looking at it (the main screen is on top)."""
        from simplextui.tui.screens.main import MainScreen

        return self.open_chat if isinstance(self.screen, MainScreen) else None

    def _toast(self, event: ChatEvent) -> None:
        prefs = self.settings.notifications
        say = partial(self.notify, incoming=True)
        match event:
            case MessageReceived() if self.visible_chat is None or \
                    event.chat != chat_ref(self.visible_chat):
                title = f"@{event.from_}" if event.chat.startswith("@") else \
                    f"{event.chat} · {event.from_}"
                if prefs.toasts:
                    say(preview(event.text, 120), title=title, markup=False)
                if prefs.bell:
                    self.bell()
            case ContactRequestReceived():
                say(f"{event.display_name} wants to connect. F2 → Requests to accept.",
                    title="Contact request", markup=False)
            case ContactConnected():
                say(f"@{event.contact} is connected", title="New contact", markup=False)
            case ContactDeleted():
                say(f"@{event.contact} deleted the connection", severity="warning",
                    markup=False)
            case IntegrityError():
                say(event.error, title=f"@{event.contact}: message integrity",
                    severity="warning", markup=False)
            case _ if event.TYPE == "group_invitation":
                group, who = getattr(event, "group", ""), getattr(event, "from_", "")
                say(f"@{who} invited you to #{group}: open it in the chat list to join",
                    title="Group invitation", markup=False)
            case GroupDeleted():
                by = f" by {event.by}" if event.by else ""
                say(f"#{event.group} was deleted{by}", title="Group deleted",
                    severity="warning", markup=False)
            case MemberRemoved() if self.backend.core is not None and \
                    event.member == self.backend.core.user_name:
                by = f" by {event.by}" if event.by else ""
                say(f"You were removed from #{event.group}{by}", title="Removed",
                    severity="warning", markup=False)
            case ConnectionErrorEvent():
                where = f"@{event.contact}: " if event.contact else ""
                say(where + event.error, title="Connection problem", severity="warning",
                    markup=False)

    async def run_command(self, line: str, *, show_errors: bool = True,
                          publish: bool = True) -> ChatResponse:
        """Run one line of the command language; errors become a toast, never an exception.

        ``publish`` tells the screens (which refresh on it); queries that only read pass False.
        """
        core = self.backend.core
        if core is None:
            response: ChatResponse = ErrorResponse("the chat has not started yet")
        else:
            try:
                response = await core.execute(line)
            except Exception as exc:  # the core promises not to raise; be safe anyway
                log.exception("command failed")
                response = ErrorResponse(f"{type(exc).__name__}: {exc}")
        if isinstance(response, ErrorResponse) and show_errors:
            self.notify(response.error, title="Command failed", severity="error", markup=False)
        if publish:
            self.commands_done.publish(CommandDone(line, response))
        return response

    def save_settings(self) -> None:
        if self.settings_path is None:
            return
        try:
            save_settings(self.settings, self.settings_path)
        except OSError as exc:
            self.notify(f"could not save settings: {exc}", severity="error", markup=False)

    def watch_theme(self, theme: str) -> None:
        if self._themes_ready and self.settings.theme != theme:
            self.settings.theme = theme
            self.save_settings()

    # --- navigation ---------------------------------------------------------------------------

    def action_help(self) -> None:
        from simplextui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen) and not self._back_to(HelpScreen):
            self.push_screen(HelpScreen())

    def action_contacts(self, tab: str = "") -> None:
        from simplextui.tui.screens.contacts import ContactsScreen

        if isinstance(self.screen, ContactsScreen):
            self.screen.show_tab(tab or self.screen.next_tab())  # F2 again: the next tab
            return
        if self._back_to(ContactsScreen):
            if tab and isinstance(self.screen, ContactsScreen):
                self.screen.show_tab(tab)
            return
        if not self.started:
            self.notify("Still starting…", severity="warning")
            return
        self.push_screen(ContactsScreen(tab or None))

    def action_new_group(self) -> None:
        from simplextui.tui.screens.new_group import NewGroupScreen

        if isinstance(self.screen, NewGroupScreen):
            return
        if not self.started:
            self.notify("Still starting…", severity="warning")
            return
        self.push_screen(NewGroupScreen())

    def action_settings(self) -> None:
        from simplextui.tui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen) and not self._back_to(SettingsScreen):
            self.push_screen(SettingsScreen())

    def _back_to(self, kind: type[Screen[Any]]) -> bool:
        """A screen of ``kind`` open under the top one (F2 in settings opened from contacts):
        go back to it, closing those above, rather than open a second one (their ids clash)."""
        for screen in self.screen_stack[1:-1]:
            if isinstance(screen, kind):
                while self.screen is not screen:
                    self.pop_screen()
                return True
        return False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Before the first profile exists (onboarding) there are no contacts, settings or
        groups to show: their keys are hidden and do nothing."""
        if action in NEEDS_PROFILE and self._onboarding():
            return False
        return super().check_action(action, parameters)

    def _onboarding(self) -> bool:
        return any(screen.id == "onboarding" for screen in self.screen_stack)

    def get_system_commands(self, screen: Screen[Any]) -> Any:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Every key and command (F1)", self.action_help)
        yield SystemCommand("New group", "Name it, pick contacts and their roles (Ctrl+G)",
                            self.action_new_group)
        yield SystemCommand("Settings", "Profile, servers, theme, notifications (F3)",
                            self.action_settings)


def create_app(data_dir: Path, servers: list[ServerAddress] | None = None, *,
               clock: Clock | None = None, ids: IdSource | None = None,
               settings_path: Path | None = None, settings: Settings | None = None,
               display_name: str | None = None, agent_factory: AgentFactory | None = None,
               on_started: list[CoreHook] | None = None, blink: bool = True,
               settings_servers: bool = True) -> SimplexApp:
    """The app for ``data_dir``; servers from the arguments, else settings, else embedded.

    ``settings_path`` None means the user's settings file; pass ``settings`` to use fixed
    settings (nothing is read, and nothing saved unless ``settings_path`` is also given).
    ``settings_servers=False`` ignores the servers in the settings (the demo: embedded only).
    """
    problems: list[str] = []
    if settings is None:
        settings_path = settings_path or default_settings_path()
        settings, problems = load_settings(settings_path)
    chosen = list(servers or [])
    if not chosen and settings_servers:
        for text in settings.servers:
            try:
                chosen.append(ServerAddress.parse(text))
            except Exception as exc:
                problems.append(f"server {text!r} ignored: {exc}")
    backend = Backend(data_dir, chosen, agent_factory=agent_factory, on_started=on_started)
    return SimplexApp(backend, settings=settings, settings_path=settings_path,
                      clock=clock or SystemClock(), ids=ids or random_ids,
                      display_name=display_name, blink=blink, settings_problems=problems)


Factory = Callable[..., SimplexApp]
