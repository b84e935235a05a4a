"""Contacts: one-time links (text and QR), connecting by a link, the contact address, pending
requests, your own invitations and requests still waiting (cancel them), and the list of
contacts (Enter for contact info)."""

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
    Static,
    Switch,
    Tab,
    TabbedContent,
    TabPane,
)

from simplextui.chat.events import ChatEvent
from simplextui.chat.responses import (
    ErrorResponse,
    LinkResponse,
    PendingResponse,
    ProfileResponse,
)
from simplextui.chat.view import PendingView
from simplextui.tui import keymap
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.format import short_time
from simplextui.tui.messages import CommandDone, OpenChat
from simplextui.tui.widgets.keys_footer import KeysFooter
from simplextui.tui.widgets.qr_code import QRCode
from simplextui.tui.widgets.tables import fill_table

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["ContactsScreen"]

INVITE_HELP = ("Create a link and give it to one person (show them the QR code, or send the "
               "text any way you like). It works once: whoever uses it first becomes your "
               "contact.")
ADDRESS_HELP = ("Your address is a long-term link: anyone who has it can ask to connect, and "
                "you accept or reject each request (or accept all automatically). Delete it "
                "to stop new requests; existing contacts stay connected.")

REQUESTS_HELP = ("People who asked to connect through your address. a: accept, r: reject the "
                 "selected one.")
PENDING_HELP = ("Links you made that nobody has used yet, and requests you sent that are not "
                "accepted yet. x: delete the selected one (its link stops working).")
NO_PENDING = ("Nothing waiting. One-time links you create (Add contact tab) wait here until "
              "someone uses them; delete one you gave to the wrong person.")
PENDING_KINDS = {"invitation": "one-time link", "request": "request sent"}
NO_REQUESTS = ("No pending requests. People who have your contact address (Address tab) can "
               "ask to connect; their requests wait here.")


class ContactsScreen(WorkerErrors, Screen[None]):
    BINDINGS = (keymap.bindings("screen") + keymap.bindings("requests") +
                keymap.quiet("app.contacts", "app.settings"))

    def __init__(self, tab: str | None = None) -> None:
        super().__init__(id="contacts")
        self._initial_tab = tab or "invite"
        self._link: str | None = None
        self._address: str | None = None

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(" Contacts", classes="screen-title")
        with TabbedContent(initial=self._initial_tab, id="contact-tabs"):
            with TabPane("Add contact", id="invite"), Horizontal(classes="link-pane"):
                with VerticalScroll(classes="link-text"):
                    yield Label("One-time invitation link", classes="section")
                    yield Static(INVITE_HELP, classes="help-text")
                    yield Button("Create a one-time link", id="create-link",
                                 variant="primary")
                    yield Static("", id="link-text", classes="link", markup=False)
                    yield Button("Copy link", id="copy-link", disabled=True)
                    yield Label("Connect with a link someone gave you", classes="section")
                    with Horizontal(classes="input-row"):
                        yield Input(placeholder="simplextui://…", id="paste-link")
                        yield Button("Connect", id="connect", variant="success")
                yield QRCode(id="link-qr")
            with TabPane("Address", id="address"), Horizontal(classes="link-pane"):
                with VerticalScroll(classes="link-text"):
                    yield Label("Your contact address", classes="section")
                    yield Static(ADDRESS_HELP, classes="help-text")
                    yield Static("", id="address-text", classes="link", markup=False)
                    with Horizontal(classes="button-row"):
                        yield Button("Create address", id="create-address", variant="primary")
                        yield Button("Copy", id="copy-address", disabled=True)
                        yield Button("Delete address", id="delete-address", variant="error",
                                     disabled=True)
                    with Horizontal(classes="switch-row"):
                        yield Switch(id="auto-accept")
                        yield Label("Accept every request automatically")
                yield QRCode(id="address-qr")
            with TabPane("Requests", id="requests"), Vertical():
                yield Static(REQUESTS_HELP, classes="help-text", id="requests-help")
                yield DataTable(id="request-table", cursor_type="row")
                with Horizontal(classes="button-row"):
                    yield Button("Accept", id="accept", variant="success")
                    yield Button("Reject", id="reject", variant="error")
            with TabPane("Pending", id="pending"), Vertical():
                yield Static(NO_PENDING, classes="help-text", id="pending-help")
                yield DataTable(id="pending-table", cursor_type="row")
                with Horizontal(classes="button-row"):
                    yield Button("Delete", id="cancel-pending", variant="error")
            with TabPane("Contacts", id="contacts"), Vertical():
                yield Static("Enter: contact info and safety code.  o: open the chat.",
                             classes="help-text")
                yield DataTable(id="contact-table", cursor_type="row")
        yield KeysFooter()

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = self.sapp.blink
        self.query_one("#copy-link", Button).display = False  # until there is a link to copy
        self.query_one("#request-table", DataTable).add_columns("name", "full name", "bio")
        self.query_one("#contact-table", DataTable).add_columns(
            "contact", "full name", "status", "verified")
        self.query_one("#pending-table", DataTable).add_columns("", "made", "link")
        self.sapp.core_events.subscribe(self, self._core_event)
        self.sapp.commands_done.subscribe(self, self._command_done)
        self.refresh_data()
        self._focus_tab(self._initial_tab)

    def next_tab(self) -> str:
        """The tab after the one shown (after the last: the first)."""
        tabs = [pane.id for pane in self.query(TabPane) if pane.id]
        current = self._active_tab()
        return tabs[(tabs.index(current) + 1) % len(tabs)] if current in tabs else tabs[0]

    def show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        """Focus what the user came for: the link button, the address, the lists."""
        target = {"invite": "#create-link", "address": "#create-address",
                  "requests": "#request-table", "pending": "#pending-table",
                  "contacts": "#contact-table"}.get(tab)
        if target:
            widget = self.query_one(target)
            if widget.focusable:
                self.call_after_refresh(widget.focus)
        self.refresh_bindings()

    def action_back(self) -> None:
        self.dismiss(None)

    # --- data -------------------------------------------------------------------------------

    def _core_event(self, event: ChatEvent) -> None:
        self.refresh_data()

    def _command_done(self, done: CommandDone) -> None:
        if not isinstance(done.response, ErrorResponse):
            self.refresh_data()

    @work(group="contacts-data", exclusive=True, exit_on_error=False)
    async def refresh_data(self) -> None:
        data = self.sapp.data
        if data is None:
            return
        requests = await data.requests()
        fill_table(self.query_one("#request-table", DataTable),
                   [(r.name, (r.name, r.full_name, r.bio)) for r in requests])
        self.query_one("#requests-help", Static).update(REQUESTS_HELP if requests
                                                        else NO_REQUESTS)
        self._label_requests_tab(f"Requests ({len(requests)})" if requests else "Requests")
        contacts = await data.chats()
        fill_table(self.query_one("#contact-table", DataTable),
                   [(c.name, (f"@{c.name}", c.full_name, c.status, "✓" if c.verified else ""))
                    for c in sorted((c for c in contacts if not c.group), key=lambda c: c.name)])
        pending = await self.sapp.run_command("/invitations", show_errors=False,
                                              publish=False)
        if isinstance(pending, PendingResponse):
            self._show_pending(pending.invitations)
        address = await self.sapp.run_command("/sa", show_errors=False,
                                               publish=False)
        self._set_address(address.link if isinstance(address, LinkResponse) else None)
        profile = await self.sapp.run_command("/p", show_errors=False, publish=False)
        if isinstance(profile, ProfileResponse):
            switch = self.query_one("#auto-accept", Switch)
            with switch.prevent(Switch.Changed):
                switch.value = profile.auto_accept

    def _show_pending(self, pending: list[PendingView]) -> None:
        now = self.sapp.clock.now()
        fill_table(self.query_one("#pending-table", DataTable),
                   [(str(p.id), (PENDING_KINDS.get(p.kind, p.kind),
                                 short_time(p.created_at, now), p.link))
                    for p in sorted(pending, key=lambda p: -p.created_at)])
        self.query_one("#pending-help", Static).update(PENDING_HELP if pending else NO_PENDING)
        self.query_one("#cancel-pending", Button).disabled = not pending
        self._label_tab("pending", f"Pending ({len(pending)})" if pending else "Pending")

    def _label_requests_tab(self, label: str) -> None:
        self._label_tab("requests", label)

    def _label_tab(self, tab_id: str, label: str) -> None:
        """Relabel (when it changed), and move the underline once the tab has its new width:
        Textual re-measures the underline before the relabelled tab is laid out."""
        tab = self.query_one(TabbedContent).get_tab(tab_id)
        if tab.label_text == label:
            return
        tab.label = label
        self.call_after_refresh(lambda: tab.post_message(Tab.Relabelled(tab)))

    def _set_address(self, link: str | None) -> None:
        self._address = link
        text = link or "You have no contact address."
        self.query_one("#address-text", Static).update(text)
        self.query_one("#address-qr", QRCode).show(link or "")
        self.query_one("#create-address", Button).disabled = link is not None
        self.query_one("#delete-address", Button).disabled = link is None
        self.query_one("#copy-address", Button).disabled = link is None

    def show_link(self, response: LinkResponse) -> None:
        if response.kind == "invitation":
            self._link = response.link
            self.query_one("#link-text", Static).update(response.link)
            self.query_one("#link-qr", QRCode).show(response.link)
            copy = self.query_one("#copy-link", Button)
            copy.disabled, copy.display = False, True
            # focus Copy (not Create): Enter copies, and a small terminal scrolls to the link
            self.query_one(TabbedContent).active = "invite"
            self.refresh_bindings()
            self.call_after_refresh(self._focus_copy)
        else:
            self._set_address(response.link)
            self.show_tab("address")

    def _focus_copy(self, attempt: int = 0) -> None:
        """Focus Copy and scroll it into view (with the link just above it) once the new link
        is laid out: checked again after each refresh, because on a busy machine the layout
        can take more than one (a scroll made before it lands in the wrong place)."""
        copy = self.query_one("#copy-link", Button)
        if attempt == 0:
            copy.focus(scroll_visible=False)
        scroller = self.query_one("#invite VerticalScroll")
        if copy.region.height and scroller.region.contains_region(copy.region):
            return
        if copy.region.height:
            scroller.scroll_to_widget(copy, animate=False, immediate=True)
        if attempt < 40:  # at most 2 s
            self.set_timer(0.05, lambda: self._focus_copy(attempt + 1))

    # --- invitation links -------------------------------------------------------------------

    @on(Button.Pressed, "#create-link")
    @work(group="contacts-cmd", exit_on_error=False)
    async def _create_link(self) -> None:
        self.query_one("#link-text", Static).update("creating…")
        response = await self.sapp.run_command("/c")
        if isinstance(response, LinkResponse):
            self.show_link(response)
        else:
            self.query_one("#link-text", Static).update("")

    @on(Button.Pressed, "#copy-link")
    def _copy_link(self) -> None:
        if self._link:
            self.app.copy_to_clipboard(self._link)
            self.notify("Link copied to the clipboard")

    @on(Input.Submitted, "#paste-link")
    @on(Button.Pressed, "#connect")
    @work(group="contacts-cmd", exit_on_error=False)
    async def _connect(self) -> None:
        box = self.query_one("#paste-link", Input)
        link = box.value.strip()
        if not link:
            self.notify("Paste a link first", severity="warning")
            return
        response = await self.sapp.run_command(f"/c {link}")
        if not isinstance(response, ErrorResponse):
            box.value = ""
            self.notify(getattr(response, "message", None) or "connecting…",
                        title="Connecting", markup=False)

    # --- address ----------------------------------------------------------------------------

    @on(Button.Pressed, "#create-address")
    @work(group="contacts-cmd", exit_on_error=False)
    async def _create_address(self) -> None:
        response = await self.sapp.run_command("/ad")
        if isinstance(response, LinkResponse):
            self._set_address(response.link)

    @on(Button.Pressed, "#copy-address")
    def _copy_address(self) -> None:
        if self._address:
            self.app.copy_to_clipboard(self._address)
            self.notify("Address copied to the clipboard")

    @on(Button.Pressed, "#delete-address")
    def _delete_address(self) -> None:
        from simplextui.tui.screens.dialogs import ConfirmDialog

        def done(ok: bool | None) -> None:
            if ok:
                self._run("/da")

        self.app.push_screen(ConfirmDialog(
            "Delete your contact address?",
            "Nobody will be able to use it to send you requests. Contacts stay connected.",
            "Delete"), done)

    @on(Switch.Changed, "#auto-accept")
    def _auto_accept(self, event: Switch.Changed) -> None:
        self._run(f"/auto_accept {'on' if event.value else 'off'}")

    @work(group="contacts-cmd", exit_on_error=False)
    async def _run(self, line: str) -> None:
        response = await self.sapp.run_command(line)
        message = getattr(response, "message", None)
        if message:
            self.notify(message, markup=False)

    # --- requests and contacts --------------------------------------------------------------

    def _selected_request(self) -> str | None:
        table = self.query_one("#request-table", DataTable)
        if not table.row_count:
            self.notify("No pending requests", severity="warning")
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(Button.Pressed, "#accept")
    def action_accept_request(self) -> None:
        name = self._selected_request()
        if name:
            self._run(f"/ac {name}")

    @on(Button.Pressed, "#reject")
    def action_reject_request(self) -> None:
        name = self._selected_request()
        if name:
            self._run(f"/rc {name}")

    @on(Button.Pressed, "#cancel-pending")
    def action_cancel_pending(self) -> None:
        from simplextui.tui.screens.dialogs import ConfirmDialog

        table = self.query_one("#pending-table", DataTable)
        if not table.row_count:
            self.notify("Nothing is waiting", severity="warning")
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        kind, made, _ = (str(c) for c in table.get_row(key))
        question, verb = (("Withdraw your contact request?", "Withdraw")
                          if kind == PENDING_KINDS["request"] else
                          ("Delete this one-time link?", "Delete"))

        def done(ok: bool | None) -> None:
            if ok:
                self._run(f"/cancel {key}")

        self.app.push_screen(ConfirmDialog(
            question, f"Made {made}. It stops working: whoever has it can no longer connect "
            "with it.", verb), done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Each tab's keys only on that tab (so the footer shows them there, and only there)."""
        if action in ("accept_request", "reject_request"):
            return self._active_tab() == "requests"
        if action == "cancel_pending":
            return self._active_tab() == "pending"
        if action == "open_chat":
            return self._active_tab() == "contacts"
        return True

    def _active_tab(self) -> str:
        """The tab shown (the one asked for while the tabs are still being set up)."""
        return self.query_one(TabbedContent).active or self._initial_tab

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#contact-table")
    def _contact_info(self, event: DataTable.RowSelected) -> None:
        from simplextui.tui.screens.contact_info import ContactInfoScreen

        self.app.push_screen(ContactInfoScreen(str(event.row_key.value)))

    def action_open_chat(self) -> None:
        table = self.query_one("#contact-table", DataTable)
        if table.row_count:
            name = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
            self.app.screen_stack[0].post_message(OpenChat(name))
            self.dismiss(None)
