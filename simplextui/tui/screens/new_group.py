"""New group: a name, a description, the symmetric option, and contacts to invite, each with
a role. Creating runs ``/g``, then ``/set symmetric`` (if chosen), then one ``/a`` per contact,
and opens the new group's chat.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from simplextui.chat.responses import ErrorResponse, OkResponse
from simplextui.tui import keymap
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.messages import OpenChat
from simplextui.tui.screens.group_dialogs import ROLES
from simplextui.tui.widgets.keys_footer import KeysFooter
from simplextui.tui.widgets.tickbox import TickBox

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["NewGroupScreen", "created_name"]

SYMMETRIC_HELP = ("Symmetric: all members are equal — any member may add and remove members "
                  "(observers only read).")
_CREATED = re.compile(r"#(\S+?)[;,.]?(?:\s|$)")


def created_name(response: OkResponse, asked: str) -> str:
    """The group's local name from ``/g``'s answer (``team_1`` if ``team`` was taken)."""
    named = getattr(response, "group", None)
    if named:
        return str(named)
    found = _CREATED.search(response.message or "")
    return found.group(1) if found else asked


class NewGroupScreen(WorkerErrors, ModalScreen[str | None]):
    """Dismisses with the new group's name, or None."""

    BINDINGS: ClassVar[Any] = [b for b in keymap.bindings("group") if b.id == "group.close"]  # type: ignore[union-attr]

    def __init__(self) -> None:
        super().__init__(classes="dialog")
        self.contacts: list[str] = []

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="new-group"):
            yield Label("New group", classes="dialog-title")
            yield Label("Name", classes="field-label")
            yield Input(placeholder="one word, e.g. team", id="group-name", compact=True)
            yield Label("Description", classes="field-label")
            yield Input(placeholder="optional", id="group-description", compact=True)
            yield TickBox("Symmetric group", id="group-symmetric", compact=True)
            yield Static(SYMMETRIC_HELP, classes="dialog-detail")
            yield Label("Invite contacts (tick, then pick a role)", classes="section")
            yield VerticalScroll(id="pick-contacts", can_focus=False)  # Tab: the rows
            yield Static("", id="new-group-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create", variant="primary", id="create-group")
                yield Button("Cancel", id="cancel")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = self.sapp.blink
        self.query_one("#group-name", Input).focus()
        self._load_contacts()

    @work(group="new-group-data", exclusive=True, exit_on_error=False)
    async def _load_contacts(self) -> None:
        data = self.sapp.data
        if data is None:
            return
        self.contacts = [c.name for c in await data.contacts()]
        pick = self.query_one("#pick-contacts", VerticalScroll)
        if not self.contacts:
            await pick.mount(Static("No connected contacts yet: you can invite them later "
                                    "from the group info (F4).", classes="help-text"))
            return
        for i, name in enumerate(self.contacts):
            await pick.mount(Horizontal(
                TickBox(Text(f"@{name}"), id=f"pick-{i}", classes="pick", compact=True),
                Select([(r, r) for r in ROLES], value="member", allow_blank=False,
                       id=f"role-{i}", classes="pick-role", compact=True),
                classes="pick-row"))

    def picked(self) -> list[tuple[str, str]]:
        """(contact, role) of each ticked contact."""
        chosen = []
        for i, name in enumerate(self.contacts):
            if self.query_one(f"#pick-{i}", Checkbox).value:
                chosen.append((name, str(self.query_one(f"#role-{i}", Select).value)))
        return chosen

    @on(Input.Submitted, "#group-name")
    def _name_done(self) -> None:
        self.query_one("#group-description", Input).focus()

    @on(Input.Submitted, "#group-description")
    def _description_done(self) -> None:
        """Enter goes on to the next field, as in the name (Create is a button away)."""
        self.focus_next()

    @on(Button.Pressed, "#create-group")
    @work(group="new-group", exclusive=True, exit_on_error=False)
    async def _create(self) -> None:
        name = self.query_one("#group-name", Input).value.strip().lstrip("#")
        description = self.query_one("#group-description", Input).value.strip()
        error = self.query_one("#new-group-error", Static)
        if not name or " " in name:
            error.update("The name is one word (it is how you address the group: #name).")
            self.query_one("#group-name", Input).focus()
            return
        error.update("")
        # a refusal is shown in the dialog, beside the name (not also as a notice)
        response = await self.sapp.run_command(f"/g {name} {description}".strip(),
                                               show_errors=False)
        if not isinstance(response, OkResponse):
            if isinstance(response, ErrorResponse):
                error.update(response.error)
            return
        group = created_name(response, name)
        if self.query_one("#group-symmetric", Checkbox).value:
            await self.sapp.run_command(f"/set symmetric #{group} on")
        failed = []
        for contact, role in self.picked():
            added = await self.sapp.run_command(f"/a {group} {contact} {role}")
            if isinstance(added, ErrorResponse):
                failed.append(contact)
        if failed:
            self.notify("Not invited: " + ", ".join(f"@{c}" for c in failed),
                        severity="warning")
        self.app.screen_stack[0].post_message(OpenChat(f"#{group}"))
        self.dismiss(group)

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        self.dismiss(None)
