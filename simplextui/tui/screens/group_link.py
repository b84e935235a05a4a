"""The group link dialog: create (with the role it grants), show as text and QR code, copy,
delete. ``/create link #G ROLE``, ``/show link #G``, ``/delete link #G``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Select, Static

from simplextui.chat.responses import ErrorResponse, LinkResponse
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.screens.group_dialogs import ROLES
from simplextui.tui.widgets.qr_code import QRCode

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["GroupLinkDialog"]

LINK_HELP = ("Anyone with this link can join, with the role you pick. You host it: keep the "
             "app running for people to join. Delete it to stop new joins.")


class GroupLinkDialog(WorkerErrors, ModalScreen[None]):
    BINDINGS: ClassVar[Any] = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self, group: str, link: str | None) -> None:
        super().__init__(classes="dialog")
        self.group = group
        self.link = link

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="dialog-box", id="group-link-box"):
            with Vertical(id="group-link-side"):
                yield Label(f"Group link of #{self.group}", classes="dialog-title",
                            markup=False)
                yield Static(LINK_HELP, classes="dialog-detail")
                yield Static("", id="group-link-text", classes="link")
                yield Select([(f"joins as {r}", r) for r in ROLES], value="member",
                             allow_blank=False, id="link-role")
                yield Button("Create link", id="create-group-link", variant="primary")
                yield Button("Copy link", id="copy-group-link")
                yield Button("Delete link", id="delete-group-link", variant="error")
                yield Button("Close", id="close-link")
            yield QRCode(id="group-qr")
        yield Footer()  # this dialog's keys (not the screen's below)

    def on_mount(self) -> None:
        self._show(self.link)
        self.query_one("#create-group-link" if self.link is None else "#copy-group-link",
                       Button).focus()

    def _show(self, link: str | None) -> None:
        self.link = link
        self.query_one("#group-link-text", Static).update(
            link or "No group link yet: pick the role it grants and create one.")
        self.query_one("#group-qr", QRCode).show(link or "")
        self.query_one("#create-group-link", Button).display = link is None
        self.query_one("#link-role", Select).display = link is None
        self.query_one("#copy-group-link", Button).display = link is not None
        self.query_one("#delete-group-link", Button).display = link is not None

    @on(Button.Pressed, "#create-group-link")
    @work(group="group-link", exclusive=True, exit_on_error=False)
    async def _create(self) -> None:
        role = self.query_one("#link-role", Select).value
        response = await self.sapp.run_command(f"/create link #{self.group} {role}")
        if isinstance(response, LinkResponse):
            self._show(response.link)

    @on(Button.Pressed, "#copy-group-link")
    def _copy(self) -> None:
        if self.link:
            self.app.copy_to_clipboard(self.link)
            self.notify("Copied the group link to the clipboard")

    @on(Button.Pressed, "#delete-group-link")
    @work(group="group-link", exclusive=True, exit_on_error=False)
    async def _delete(self) -> None:
        response = await self.sapp.run_command(f"/delete link #{self.group}")
        if not isinstance(response, ErrorResponse):
            self._show(None)

    @on(Button.Pressed, "#close-link")
    def action_close(self) -> None:
        self.dismiss(None)
