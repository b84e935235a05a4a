"""Small group dialogs: invite a contact with a role, pick a new role for a member, answer an
invitation."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from simplextui.tui.widgets.keys_footer import KeysFooter

__all__ = ["ROLES", "InviteDialog", "JoinDialog", "RoleDialog"]

ROLES = ("member", "admin", "observer", "owner")  # the usual one first
ROLE_HELP = ("owner: everything · admin: add and remove members · member: send · "
             "observer: read only")


def _role_select(value: str, id: str) -> Select[str]:
    return Select([(r, r) for r in ROLES], value=value, allow_blank=False, id=id, compact=True)


class InviteDialog(ModalScreen[tuple[str, str] | None]):
    """Pick a contact and the role to invite them with; dismisses with (contact, role)."""

    BINDINGS: ClassVar[Any] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, group: str, contacts: list[str]) -> None:
        super().__init__(classes="dialog")
        self.group = group
        self.contacts = contacts

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="invite-dialog"):
            yield Label(f"Invite a contact to #{self.group}", classes="dialog-title", markup=False)
            if not self.contacts:
                yield Static("Every connected contact is already in the group (or invited).",
                             classes="dialog-detail")
            else:
                yield Select([(Text(f"@{c}"), c) for c in self.contacts], value=self.contacts[0],
                             allow_blank=False, id="invite-contact", compact=True)
                yield _role_select("member", "invite-role")
                yield Static(ROLE_HELP, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Invite", variant="primary", id="invite",
                             disabled=not self.contacts)
                yield Button("Cancel", id="cancel")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    @on(Button.Pressed, "#invite")
    def _invite(self) -> None:
        contact = self.query_one("#invite-contact", Select).value
        role = self.query_one("#invite-role", Select).value
        self.dismiss((str(contact), str(role)))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class RoleDialog(ModalScreen[str | None]):
    """Pick a member's new role; dismisses with the role."""

    BINDINGS: ClassVar[Any] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, member: str, role: str) -> None:
        super().__init__(classes="dialog")
        self.member = member
        self.role = role if role in ROLES else "member"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="role-dialog"):
            yield Label(f"Role of {self.member}", classes="dialog-title", markup=False)
            yield _role_select(self.role, "new-role")
            yield Static(ROLE_HELP, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Change", variant="primary", id="change")
                yield Button("Cancel", id="cancel")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    @on(Button.Pressed, "#change")
    def _change(self) -> None:
        self.dismiss(str(self.query_one("#new-role", Select).value))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class JoinDialog(ModalScreen[str | None]):
    """An invitation: join it, decline it (the inviter learns it), or decide later.
    Dismisses with "join", "decline" or None."""

    BINDINGS: ClassVar[Any] = [Binding("escape", "later", "Later", id="dialog.cancel")]

    def __init__(self, group: str, detail: str) -> None:
        super().__init__(classes="dialog")
        self.group = group
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="join-dialog"):
            yield Label(f"Join #{self.group}?", classes="dialog-title", markup=False)
            if self.detail:
                yield Static(self.detail, markup=False, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Join", variant="primary", id="join")
                yield Button("Decline", variant="error", id="decline")
                yield Button("Later", id="later")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    def on_mount(self) -> None:
        self.query_one("#later", Button).focus()

    @on(Button.Pressed, "#join")
    def _join(self) -> None:
        self.dismiss("join")

    @on(Button.Pressed, "#decline")
    def _decline(self) -> None:
        self.dismiss("decline")

    @on(Button.Pressed, "#later")
    def action_later(self) -> None:
        self.dismiss(None)
