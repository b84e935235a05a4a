"""Group info: the profile, the member list with each member's role and connection state, and
the actions — invite, change a role, remove, leave, delete — and the group link (its own dialog,
with the QR code).

Every change is a line of the command language (``/a``, ``/mr``, ``/rm``, ``/l``, ``/d``,
``/create link``...); the list is read again with ``/ms`` after each change and each event about
this group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Label, Static

from simplextui.chat.events import ChatEvent
from simplextui.chat.responses import (
    ErrorResponse,
    GroupMembersResponse,
    LinkResponse,
    MemberView,
)
from simplextui.tui import keymap
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.messages import CommandDone, OpenChat
from simplextui.tui.screens.group_dialogs import InviteDialog, RoleDialog
from simplextui.tui.widgets.keys_footer import KeysFooter
from simplextui.tui.widgets.tables import fill_table

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["GroupInfoScreen", "connection_label"]

STATE_LABELS = {
    "invited": "invited, not joined yet",
    "introduced": "introduced, connecting",
    "connected": "connected",
    "accepted": "joining",
    "pending_approval": "waiting for your approval",
    "rejected": "rejected",
    "left": "left",
    "removed": "removed",
    "deleted": "group deleted",
}


def connection_label(member: MemberView) -> str:
    """Where this user's connection with ``member`` stands, in words."""
    if member.me:
        return f"you · {STATE_LABELS.get(member.status, member.status)}"
    label = STATE_LABELS.get(member.status, member.status)
    if member.via:
        label += f" · forwarded via {member.via}"
    return label


class GroupInfoScreen(WorkerErrors, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = (
        keymap.bindings("group") + keymap.quiet("app.contacts", "app.settings"))

    def __init__(self, group: str) -> None:
        super().__init__(id="group-info")
        self.group = group
        self.members: list[MemberView] = []
        self.link: str | None = None
        self.link_role: str | None = None
        self.my_role = ""

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(f" #{self.group}", classes="screen-title", id="group-title", markup=False)
        with VerticalScroll(id="group-main"):
            yield Static("", id="group-profile")
            yield Static("", id="group-status")
            yield Label("Members", classes="section", id="members-label")
            yield DataTable(id="member-table", cursor_type="row")
            with Horizontal(classes="button-row"):
                yield Button("Invite", id="invite", variant="primary")
                yield Button("Change role", id="change-role")
                yield Button("Remove", id="remove-member", variant="warning")
                yield Button("Group link", id="group-link")
                yield Button("Open chat", id="open-group")
            with Horizontal(classes="button-row", id="approval-row"):
                yield Button("Approve", id="approve-member", variant="success")
                yield Button("Reject", id="reject-member", variant="error")
                yield Static("Symmetric group: the selected member waits for your approval.",
                             classes="help-text")
            with Horizontal(classes="button-row"):
                yield Button("Leave group", id="leave-group", variant="warning")
                yield Button("Delete group", id="delete-group", variant="error")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#member-table", DataTable).add_columns("member", "role", "connection")
        self.sapp.core_events.subscribe(self, self._core_event)
        self.sapp.commands_done.subscribe(self, self._command_done)
        self.load()
        self.query_one("#member-table", DataTable).focus()

    # --- data -------------------------------------------------------------------------------

    def _core_event(self, event: ChatEvent) -> None:
        if getattr(event, "group", None) == self.group:
            self.load()

    def _command_done(self, done: CommandDone) -> None:
        if not isinstance(done.response, ErrorResponse) and self.group in done.line:
            self.load()

    @work(group="group-info", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        data = self.sapp.data
        if data is None:
            return
        group = await data.group(self.group)
        if group is None:
            self.query_one("#group-profile", Static).update(Text(f"#{self.group} is gone."))
            return
        self.my_role = group.role
        profile = Text(group.display_name, "bold")
        if group.description:
            profile.append(f"\n{group.description}")
        self.query_one("#group-profile", Static).update(profile)
        active = group.status == "connected"
        for button_id in ("#invite", "#change-role", "#remove-member", "#group-link",
                          "#leave-group"):
            self.query_one(button_id, Button).disabled = not active
        response = await self.sapp.run_command(f"/ms {self.group}", show_errors=False,
                                               publish=False)
        if isinstance(response, GroupMembersResponse):
            self._show_members(response.members)
        self.link = self.link_role = None
        if active:
            shown = await self.sapp.run_command(f"/show link #{self.group}", show_errors=False,
                                                publish=False)
            if isinstance(shown, LinkResponse):
                self.link, self.link_role = shown.link, shown.role
        state = f"you are {group.role} · {group.status}"
        if group.symmetric:
            state += " · symmetric: every member may add and remove"
        if self.link:
            grants = f": joins as {self.link_role}" if self.link_role else ""
            state += f" · has a group link{grants} (l)"
        self.query_one("#group-status", Static).update(Text(state))

    def _show_members(self, members: list[MemberView]) -> None:
        self.members = members
        rows = []
        for m in members:
            name = Text(m.name, "bold" if m.me else "")
            if m.display_name and m.display_name != m.name:
                name.append(f" ({m.display_name})", "dim")
            rows.append((m.name, (name, m.role, connection_label(m))))
        fill_table(self.query_one("#member-table", DataTable), rows)
        waiting = any(m.status == "pending_approval" for m in members)
        self.query_one("#approval-row").display = waiting
        present = sum(1 for m in members if m.status not in ("left", "removed", "rejected"))
        self.query_one("#members-label", Label).update(f"Members ({present})")

    def show_link(self, response: LinkResponse) -> None:
        """A link made elsewhere (``/create link`` typed in the composer): show its QR code."""
        self.link = response.link
        self.link_role = response.role
        self.action_link()

    def _selected(self) -> MemberView | None:
        table = self.query_one("#member-table", DataTable)
        if not self.members or table.cursor_row is None:
            return None
        member = self.members[min(table.cursor_row, len(self.members) - 1)]
        if member.me:
            self.notify("Select another member (↑/↓)", severity="warning")
            return None
        return member

    # --- actions ----------------------------------------------------------------------------

    @work(group="group-cmd", exit_on_error=False)
    async def _run(self, line: str) -> None:
        await self.sapp.run_command(line)
        self.load()

    @on(Button.Pressed, "#invite")
    @work(group="group-cmd", exit_on_error=False)
    async def action_invite(self) -> None:
        data = self.sapp.data
        if data is None:
            return
        taken = {m.name for m in self.members if m.status not in ("left", "removed")}
        contacts = [c.name for c in await data.contacts() if c.name not in taken]

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                contact, role = result
                self._run(f"/a {self.group} {contact} {role}")

        self.app.push_screen(InviteDialog(self.group, contacts), done)

    @on(Button.Pressed, "#change-role")
    def action_role(self) -> None:
        member = self._selected()
        if member is None:
            return

        def done(role: str | None) -> None:
            if role and role != member.role:
                self._run(f"/mr {self.group} {member.name} {role}")

        self.app.push_screen(RoleDialog(member.name, member.role), done)

    @on(Button.Pressed, "#remove-member")
    def action_remove(self) -> None:
        member = self._selected()
        if member is None:
            return
        self._confirm(f"Remove {member.name} from #{self.group}?",
                      "Every member drops the connection with them; they are told.",
                      "Remove", f"/rm {self.group} {member.name}")

    @on(Button.Pressed, "#approve-member")
    def _approve(self) -> None:
        member = self._selected()
        if member is not None:
            self._run(f"/approve #{self.group} {member.name}")

    @on(Button.Pressed, "#reject-member")
    def _reject(self) -> None:
        member = self._selected()
        if member is not None:
            self._run(f"/reject #{self.group} {member.name}")

    @on(Button.Pressed, "#leave-group")
    def _leave(self) -> None:
        self._confirm(f"Leave #{self.group}?",
                      "The other members are told; the conversation stays on this device.",
                      "Leave", f"/l {self.group}")

    @on(Button.Pressed, "#delete-group")
    def _delete(self) -> None:
        detail = ("The group is deleted for every member." if self.my_role == "owner"
                  else "The group and its conversation are removed from this device.")
        self._confirm(f"Delete #{self.group}?", detail, "Delete", f"/d #{self.group}")

    def _confirm(self, question: str, detail: str, verb: str, line: str) -> None:
        from simplextui.tui.screens.dialogs import ConfirmDialog

        def done(ok: bool | None) -> None:
            if ok:
                self._run(line)

        self.app.push_screen(ConfirmDialog(question, detail, verb), done)

    @on(Button.Pressed, "#group-link")
    def action_link(self) -> None:
        from simplextui.tui.screens.group_link import GroupLinkDialog

        def done(_: None) -> None:
            self.load()

        self.app.push_screen(GroupLinkDialog(self.group, self.link, self.link_role), done)

    @on(Button.Pressed, "#open-group")
    def _open(self) -> None:
        self.app.screen_stack[0].post_message(OpenChat(f"#{self.group}"))
        while len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_close(self) -> None:
        self.dismiss(None)
