"""Settings: profile, servers (list, add, test, remove), theme, notifications."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    Select,
    Static,
    Switch,
    TabbedContent,
    TabPane,
)

from simplextui.chat.responses import ErrorResponse, ProfileResponse
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ProtocolError
from simplextui.tui import keymap
from simplextui.tui.backend import ping_server
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.widgets.keys_footer import KeysFooter

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["SettingsScreen"]

OUR_THEMES = ("simplex-dark", "simplex-light")
EMBEDDED_ROW = "embedded"


class SettingsScreen(WorkerErrors, Screen[None]):
    BINDINGS = keymap.bindings("screen") + keymap.quiet("app.contacts", "app.settings")

    def __init__(self) -> None:
        super().__init__(id="settings")
        self._profile: ProfileResponse | None = None

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        settings = self.sapp.settings
        yield Static(" Settings", classes="screen-title")
        with TabbedContent(id="settings-tabs"):
            with TabPane("Profile", id="profile"), VerticalScroll():
                yield Static("Your contacts see this profile; changes are sent to them.",
                             classes="help-text")
                yield Label("Display name")
                yield Input(id="profile-name", max_length=64)
                yield Label("Full name")
                yield Input(id="profile-full", max_length=128)
                yield Label("Bio")
                yield Input(id="profile-bio", max_length=500)
                yield Button("Save profile", id="save-profile", variant="primary")
            with TabPane("Servers", id="servers"), Vertical():
                yield Static("", id="server-now", classes="help-text")
                yield DataTable(id="server-table", cursor_type="row")
                with Horizontal(classes="input-row"):
                    yield Input(placeholder="smp://FINGERPRINT@host:port", id="server-add")
                    yield Button("Add", id="add-server", variant="primary")
                with Horizontal(classes="button-row"):
                    yield Button("Test", id="test-server")
                    yield Button("Remove", id="remove-server", variant="error")
                yield Static("New queues are made on these servers from the next start "
                             "(unless --server is given). With none, the embedded server is "
                             "used.", classes="help-text")
            with TabPane("Appearance", id="appearance"), Vertical():
                yield Label("Theme")
                yield Select(self._theme_options(), value=self.app.theme, allow_blank=False,
                             id="theme-select")
                yield Static(self._themes_help(), classes="help-text", markup=False)
            with TabPane("Notifications", id="notifications"), Vertical():
                with Horizontal(classes="switch-row"):
                    yield Switch(settings.notifications.toasts, id="toasts")
                    yield Label("Toast for messages and events in other chats")
                with Horizontal(classes="switch-row"):
                    yield Switch(settings.notifications.bell, id="bell")
                    yield Label("Ring the terminal bell for new messages in other chats")
                with Horizontal(classes="switch-row"):
                    yield Switch(settings.chat.mark_read, id="mark-read")
                    yield Label("Opening a chat marks it read (sends read receipts)")
        yield KeysFooter()

    def _themes_help(self) -> str:
        """Where the user's own theme files go: the real folder, not a placeholder."""
        path = self.sapp.settings_path
        where = str(path.parent / "themes") if path is not None else \
            "a themes folder next to settings.toml"
        return (f"Own themes: TOML files in {where} (the bundled ones in simplextui/tui/themes "
                "show the format). They load at start.")

    def _theme_options(self) -> list[tuple[str, str]]:
        names = sorted(self.app.available_themes)
        ordered = [n for n in OUR_THEMES if n in names] + [n for n in names
                                                          if n not in OUR_THEMES]
        return [(n, n) for n in ordered]

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = self.sapp.blink
        table = self.query_one("#server-table", DataTable)
        table.add_column("server", width=60)
        table.add_column("test", width=40)
        self._show_servers()
        self.load_profile()

    def action_back(self) -> None:
        self.dismiss(None)

    # --- profile ----------------------------------------------------------------------------

    @work(group="settings-profile", exclusive=True, exit_on_error=False)
    async def load_profile(self) -> None:
        response = await self.sapp.run_command("/p", show_errors=False, publish=False)
        if isinstance(response, ProfileResponse):
            self._profile = response
            self.query_one("#profile-name", Input).value = response.display_name
            self.query_one("#profile-full", Input).value = response.full_name
            self.query_one("#profile-bio", Input).value = response.bio

    @on(Button.Pressed, "#save-profile")
    @work(group="settings-profile-save", exit_on_error=False)
    async def _save_profile(self) -> None:
        name = self.query_one("#profile-name", Input).value.strip()
        full = " ".join(self.query_one("#profile-full", Input).value.split())
        bio = self.query_one("#profile-bio", Input).value.strip()
        old = self._profile
        if old is None or (name, full) != (old.display_name, old.full_name):
            response = await self.sapp.run_command(f"/p {name} {full}".rstrip())
            if isinstance(response, ErrorResponse):
                return
        if (old is None or bio != old.bio) and isinstance(
                await self.sapp.run_command(f"/bio {bio}".rstrip()), ErrorResponse):
            return
        self.notify("Profile saved")
        self.load_profile()

    # --- servers ----------------------------------------------------------------------------

    def _show_servers(self) -> None:
        backend = self.sapp.backend
        self.query_one("#server-now", Static).update(f"In use now: {backend.server_label}")
        table = self.query_one("#server-table", DataTable)
        table.clear()
        for text in self.sapp.settings.servers:
            table.add_row(text, "", key=text)
        if not self.sapp.settings.servers:
            label = "embedded server (no server configured)"
            table.add_row(label, "", key=EMBEDDED_ROW)

    @on(Input.Submitted, "#server-add")
    @on(Button.Pressed, "#add-server")
    def _add_server(self) -> None:
        box = self.query_one("#server-add", Input)
        text = box.value.strip()
        try:
            address = ServerAddress.parse(text)
        except ProtocolError as exc:
            self.notify(f"not a server address: {exc.detail or exc}", severity="error",
                        markup=False)
            return
        canonical = str(address)
        if canonical in self.sapp.settings.servers:
            self.notify("That server is already in the list", severity="warning")
            return
        self.sapp.settings.servers.append(canonical)
        self.sapp.save_settings()
        box.value = ""
        self._show_servers()
        self.notify("Server added; it is used from the next start", markup=False)

    def _selected_server(self) -> str | None:
        table = self.query_one("#server-table", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(Button.Pressed, "#remove-server")
    def _remove_server(self) -> None:
        key = self._selected_server()
        if key is None or key == EMBEDDED_ROW:
            self.notify("Select a server you added", severity="warning")
            return
        self.sapp.settings.servers.remove(key)
        self.sapp.save_settings()
        self._show_servers()

    @on(Button.Pressed, "#test-server")
    @work(group="settings-test", exclusive=True, exit_on_error=False)
    async def _test_server(self) -> None:
        key = self._selected_server()
        if key is None:
            return
        table = self.query_one("#server-table", DataTable)
        if key == EMBEDDED_ROW:
            backend = self.sapp.backend
            if backend.embedded is None:
                table.update_cell(key, table.ordered_columns[1].key, "not running")
                return
            address = backend.embedded.address
        else:
            address = ServerAddress.parse(key)
        table.update_cell(key, table.ordered_columns[1].key, "testing…")
        problem = await ping_server(address)
        table.update_cell(key, table.ordered_columns[1].key,
                          "✓ reachable" if problem is None else f"✗ {problem}")
        if problem is not None:
            self.notify(f"{address.short()}: {problem}", title="Server unreachable",
                        severity="error", markup=False)

    # --- appearance and notifications -------------------------------------------------------

    @on(Select.Changed, "#theme-select")
    def _theme(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.app.theme:
            self.app.theme = event.value

    @on(Switch.Changed)
    def _switch(self, event: Switch.Changed) -> None:
        settings = self.sapp.settings
        if event.switch.id == "toasts":
            settings.notifications.toasts = event.value
        elif event.switch.id == "bell":
            settings.notifications.bell = event.value
        elif event.switch.id == "mark-read":
            settings.chat.mark_read = event.value
        else:
            return
        self.sapp.save_settings()
