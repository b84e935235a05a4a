"""The group link dialog: create (with the role it grants), show as text and QR code with the
role it grants, change that role, copy, delete. ``/create link #G ROLE``, ``/show link #G``,
``/set link role #G ROLE``, ``/delete link #G``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from simplextui.chat.responses import ErrorResponse, LinkResponse
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.widgets.keys_footer import KeysFooter
from simplextui.tui.widgets.qr_code import QRCode

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["GroupLinkDialog"]

LINK_HELP = ("Anyone with this link can join, with the role you pick. You host it: keep the "
             "app running for people to join. Delete it to stop new joins.")
LINK_ROLES = ("member", "observer")  # what a group link may grant
ROLE_LABELS = {"member": "joins as member: reads, sends", "observer": "joins as observer: reads"}
HOSTED_HELP = ("Anyone with this link joins, with the role below (change it there), while your "
               "app runs. Delete it to stop joins.")


class GroupLinkDialog(WorkerErrors, ModalScreen[None]):
    BINDINGS: ClassVar[Any] = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self, group: str, link: str | None, role: str | None = None) -> None:
        """``role``: what ``link`` grants (read from the database when not given)."""
        super().__init__(classes="dialog")
        self.group = group
        self.link = link
        self.role = role

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(classes="dialog-box", id="group-link-box"):
            with Vertical(id="group-link-side"):
                yield Label(f"Group link of #{self.group}", classes="dialog-title",
                            markup=False)
                yield Static(LINK_HELP, classes="dialog-detail", id="group-link-help")
                yield Static("", id="group-link-text", classes="link")
                yield Select([(ROLE_LABELS[r], r) for r in LINK_ROLES], value="member",
                             allow_blank=False, id="link-role", compact=True)
                yield Button("Create link", id="create-group-link", variant="primary")
                yield Button("Copy link", id="copy-group-link")
                yield Button("Delete link", id="delete-group-link", variant="error")
                yield Button("Close", id="close-link")
            yield QRCode(id="group-qr")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    def on_mount(self) -> None:
        self._show(self.link, self.role)
        self.query_one("#create-group-link" if self.link is None else "#copy-group-link",
                       Button).focus()
        if self.link is not None and self.role is None:
            self._read_role()

    @work(group="group-link-role", exit_on_error=False)
    async def _read_role(self) -> None:
        data = self.sapp.data
        if data is not None:
            self._show(self.link, await data.group_link_role(self.group))

    def _show(self, link: str | None, role: str | None = None) -> None:
        self.link = link
        self.role = role if link is not None else None
        self.query_one("#group-link-help", Static).update(LINK_HELP if link is None
                                                          else HOSTED_HELP)
        if self.role in LINK_ROLES:
            select = self.query_one("#link-role", Select)
            with select.prevent(Select.Changed):
                select.value = self.role
        self.query_one("#group-link-text", Static).update(
            link or "No group link yet: pick the role it grants and create one.")
        self.query_one("#group-qr", QRCode).show(link or "")
        self.query_one("#create-group-link", Button).display = link is None
        self.query_one("#copy-group-link", Button).display = link is not None
        self.query_one("#delete-group-link", Button).display = link is not None

    @on(Button.Pressed, "#create-group-link")
    @work(group="group-link", exclusive=True, exit_on_error=False)
    async def _create(self) -> None:
        role = self.query_one("#link-role", Select).value
        response = await self.sapp.run_command(f"/create link #{self.group} {role}")
        if isinstance(response, LinkResponse):
            self._show(response.link, response.role or str(role))

    @on(Select.Changed, "#link-role")
    @work(group="group-link", exclusive=True, exit_on_error=False)
    async def _set_role(self, event: Select.Changed) -> None:
        """With a link: the role picked is the role it grants from now on."""
        role = str(event.value)
        if self.link is None or self.role is None or role == self.role \
                or event.value != event.select.value:
            # no link yet, its role not read yet (the picker's first value is not a choice),
            # no change, or a stale event (the value set on mount)
            return
        response = await self.sapp.run_command(f"/set link role #{self.group} {role}")
        if isinstance(response, ErrorResponse):
            self._show(self.link, self.role)  # back to what it grants
            return
        self._show(self.link, role)
        self.notify(f"The group link now grants {role}", markup=False)

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

