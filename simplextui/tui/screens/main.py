"""The main screen: chat list, conversation, composer, status bar.

The open chat is a key: a contact's name (``alice``) or ``#`` and a group's name (``#team``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from simplextui.chat.events import (
    ChatEvent,
    ConnectionErrorEvent,
    GroupItemStatus,
    MessageDeleted,
    MessageReceived,
    MessageStatus,
    MessageUpdated,
    ReactionChanged,
)
from simplextui.chat.responses import (
    ChatResponse,
    CodeResponse,
    ContactInfoResponse,
    ContactsResponse,
    ErrorResponse,
    HelpResponse,
    HistoryResponse,
    LinkResponse,
    OkResponse,
    ProfileResponse,
    RequestsResponse,
    SentResponse,
    VerifyResponse,
)
from simplextui.tui import keymap
from simplextui.tui.completion import Completer
from simplextui.tui.compose import to_command
from simplextui.tui.data import ChatSummary, ItemRow, chat_ref, is_group_key
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.messages import BackendFailed, BackendReady, CommandDone, OpenChat
from simplextui.tui.widgets.chat_list import ChatList, ChatOptions
from simplextui.tui.widgets.composer import Composer, ComposerInput, Draft
from simplextui.tui.widgets.conversation import Conversation
from simplextui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["MainScreen"]

EMPTY_HINT = ("No contacts yet.\n\nPress F2 to create a one-time link (shown as a QR code too),\n"
              "or paste a link someone gave you.\n\nJust looking around? Run: simplextui demo")
REFRESH_DELAY = 0.15  # coalesce bursts of events into one chat list refresh
PROBLEM_CLEARS_AFTER = 60.0
CLOCK_TICK = 60.0
NARROW = 100  # columns; the app's "-narrow" breakpoint


class MainScreen(WorkerErrors, Screen[None]):
    BINDINGS = keymap.bindings("main")
    AUTO_FOCUS = "#composer-input"

    def __init__(self) -> None:
        super().__init__(id="main")
        self.current_chat: str | None = None
        self.rows: list[ChatSummary] = []
        self.requests: list[str] = []
        self._refresh_timer: Timer | None = None
        self._problem_timer: Timer | None = None
        self._read_pending = False
        self._opening = False

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        completer = Completer(lambda: [r.name for r in self.rows if not r.group],
                              lambda: self.requests)
        with Horizontal(id="main-body"):
            yield ChatList(id="chats")
            with Vertical(id="chat-pane"):
                yield Static("", id="chat-header")
                yield Conversation(id="conversation")
                yield Composer(completer, blink=self.sapp.blink, id="composer")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def on_mount(self) -> None:
        self.sapp.core_events.subscribe(self, self._core_event)
        self.sapp.commands_done.subscribe(self, self._command_done)
        self._header()
        self.set_interval(CLOCK_TICK, self._tick)
        if self.sapp.started:
            self.on_backend_ready(BackendReady())

    def on_resize(self) -> None:
        """Under 100 columns the footer drops its padding so that every key still fits."""
        self.query_one(Footer).compact = self.size.width < NARROW

    def _tick(self) -> None:
        """Once a minute: "Today" moves at midnight, and the chat list's times age."""
        self.conversation.set_today(self.sapp.clock.now().date())
        if self.rows:
            self.query_one(ChatList).show(self.rows, self.sapp.clock.now())

    # --- start ------------------------------------------------------------------------------

    def on_backend_ready(self, message: BackendReady) -> None:
        core = self.sapp.backend.core
        status = self.query_one(StatusBar)
        status.server = self.sapp.backend.server_label
        status.embedded = self.sapp.backend.uses_embedded
        if core is not None:
            status.user = core.user_name
        self.conversation.close("No chat open.\nPick one on the left (↑/↓, Enter), or press "
                                "F2 to add a contact.")
        self.refresh_chats()

    def on_backend_failed(self, message: BackendFailed) -> None:
        status = self.query_one(StatusBar)
        status.server = "not started"
        status.problem = message.error
        self.conversation.close(f"The chat could not start:\n{message.error}")

    # --- chat list ----------------------------------------------------------------------------

    def refresh_chats(self) -> None:
        self._load_chats()

    @work(group="chat-list", exclusive=True, exit_on_error=False)
    async def _load_chats(self) -> None:
        data = self.sapp.data
        if data is None:
            return
        rows = await data.chats()
        self.requests = [r.name for r in await data.requests()]
        self.rows = rows
        self.query_one(ChatList).show(rows, self.sapp.clock.now())
        self._header()
        if not rows and self.current_chat is None:
            self.conversation.close(EMPTY_HINT)
        elif self.current_chat is None and not self._opening:
            first = next((r for r in rows if not r.invited), None)
            if first is not None:
                self.open_chat(first.key)
        elif self.current_chat is not None and self.current_chat not in {r.key for r in rows}:
            self.current_chat = None
            self.conversation.close("That chat was deleted.")
            self._header()

    def _schedule_refresh(self) -> None:
        if self._refresh_timer is None:
            self._refresh_timer = self.set_timer(REFRESH_DELAY, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_timer = None
        self.refresh_chats()

    @on(ChatList.Opened)
    def _chat_opened(self, message: ChatList.Opened) -> None:
        self.open_chat(message.name)
        self.composer.input.focus()

    def on_open_chat(self, message: OpenChat) -> None:
        self.open_chat(message.name)
        self.composer.input.focus()

    def open_chat(self, name: str) -> None:
        """Open the chat with key ``name``; an invitation to a group asks to join first."""
        summary = next((r for r in self.rows if r.key == name), None)
        if summary is not None and summary.invited:
            self._ask_join(summary)
            return
        self._opening = True
        self._open_chat(name)

    def _ask_join(self, row: ChatSummary) -> None:
        from simplextui.tui.screens.group_dialogs import JoinDialog

        def done(answer: str | None) -> None:
            if answer == "join":
                self._join(row.name)
            elif answer == "decline":
                self._decline(row.name)

        who = f"@{row.inviter} invited you. " if row.inviter else ""
        self.app.push_screen(JoinDialog(
            row.name, f"{who}{row.full_name or row.display_name}".strip()), done)

    @work(group="composer", exit_on_error=False)
    async def _join(self, name: str) -> None:
        response = await self.sapp.run_command(f"/j {name}")
        if not isinstance(response, ErrorResponse):
            self._opening = True
            self._open_chat(f"#{name}")

    @work(group="composer", exit_on_error=False)
    async def _decline(self, name: str) -> None:
        """``/d #G`` on an invitation declines it: the inviter learns it, the row goes."""
        await self.sapp.run_command(f"/d #{name}")
        self._schedule_refresh()

    @work(group="open-chat", exclusive=True, exit_on_error=False)
    async def _open_chat(self, name: str) -> None:
        data = self.sapp.data
        core = self.sapp.backend.core
        if data is None or core is None:
            return
        key = await data.chat_key(name)
        self._opening = False
        if key is None:
            self.notify(f"no chat {chat_ref(name)}", severity="error", markup=False)
            return
        summary = next((r for r in self.rows if r.key == name), None)
        unread_from = None
        if summary is None or summary.unread:  # (the query scans the chat: skip it if none)
            unread_from = await data.first_unread_id(key)
        now = self.sapp.clock.now()
        self.current_chat = name
        title = name.removeprefix("#")
        self.conversation.open(data, key, title, core.user_name, now.tzinfo, now.date(),
                               unread_from)
        self.composer.set_chat(chat_ref(name))
        self.query_one(ChatList).set_current(name, self._drafts())
        self._header()
        if unread_from is not None:
            self._mark_read()

    def _drafts(self) -> dict[str, str]:
        """Unsent text by chat key (the composer keeps it by chat reference)."""
        return {ref.removeprefix("@"): text for ref, text in self.composer.unsent.items()}

    def _header(self) -> None:
        header = self.query_one("#chat-header", Static)
        row = next((r for r in self.rows if r.key == self.current_chat), None)
        if self.current_chat is None or row is None:
            header.update(Text(" simplextui", "bold"))
            return
        if row.group:
            header.update(_group_header(row))
            return
        text = Text(f" @{row.name}", "bold")
        if row.full_name:
            text.append(f"  {row.full_name}")
        if row.verified:
            text.append("  ✓ verified", "bold")
        elif row.status == "connected":
            text.append("  not verified (F4)", "dim")
        else:
            text.append(f"  {row.status}", "italic")
        header.update(text)

    def _mark_read(self) -> None:
        if not self.sapp.settings.chat.mark_read or self.current_chat is None:
            return
        if self._read_pending:
            return
        self._read_pending = True
        self.set_timer(0.3, self._send_read)

    @work(group="mark-read", exit_on_error=False)
    async def _send_read(self) -> None:
        self._read_pending = False
        if self.current_chat is not None:
            await self.sapp.run_command(f"/read {chat_ref(self.current_chat)}",
                                        show_errors=False)

    # --- events ---------------------------------------------------------------------------

    def _core_event(self, event: ChatEvent) -> None:
        chat = getattr(event, "chat", None)
        open_chat = chat_ref(self.current_chat) if self.current_chat else None
        group = getattr(event, "group", None)
        if group is not None and open_chat == f"#{group}":
            self.conversation.new_messages()  # notices (joined, left...) are items too
            self._header()
        if isinstance(event, MessageReceived) and chat == open_chat:
            self.conversation.new_messages()
            if self.app.screen is self:
                self._mark_read()
        elif isinstance(event, MessageUpdated | MessageDeleted | ReactionChanged | MessageStatus
                        ) and chat == open_chat:
            self.conversation.changed({event.msg_id})
        elif isinstance(event, GroupItemStatus) and open_chat == f"#{event.group}":
            self.conversation.changed({event.msg_id})  # sent / delivered to all
        if isinstance(event, ConnectionErrorEvent):
            self._problem(event.error)
        self._schedule_refresh()
        if self.current_chat is not None and getattr(event, "contact", None) == \
                self.current_chat:
            self._header()

    def _problem(self, text: str) -> None:
        status = self.query_one(StatusBar)
        status.problem = text
        if self._problem_timer is not None:
            self._problem_timer.stop()
        self._problem_timer = self.set_timer(PROBLEM_CLEARS_AFTER,
                                             lambda: setattr(status, "problem", ""))

    def _command_done(self, done: CommandDone) -> None:
        response = done.response
        if self.current_chat is not None and isinstance(response, SentResponse) and \
                response.chat == chat_ref(self.current_chat):
            self.conversation.new_messages()
            self.conversation.changed({response.msg_id})
        if not isinstance(response, ErrorResponse):
            self._schedule_refresh()
            if is_group_key(self.current_chat):
                self.conversation.new_messages()  # notices of our own changes (removed...)

    # --- composer -------------------------------------------------------------------------

    @on(ComposerInput.Submitted)
    def _submitted(self, message: ComposerInput.Submitted) -> None:
        message.stop()
        composer = self.composer
        text = message.text
        draft = composer.draft
        line: str | None
        if draft is not None and self.current_chat is not None and text.strip():
            verb = "/reply" if draft.kind == "reply" else "/edit"
            line = f"{verb} {chat_ref(self.current_chat)} {draft.row.msg_id} {text.strip()}"
        else:
            line = to_command(text, self.current_chat)
        if line is None:
            self.notify("Open a chat first, or address someone: @name message "
                        "(/help lists the commands)", severity="warning")
            return
        composer.clear()
        self._run(line)

    @work(group="composer", exit_on_error=False)
    async def _run(self, line: str) -> None:
        response = await self.sapp.run_command(line)
        self._show_response(response)

    def _show_response(self, response: ChatResponse) -> None:
        from simplextui.tui.screens.dialogs import TextDialog

        match response:
            case HelpResponse():
                self.app.action_help()  # type: ignore[attr-defined]
            case LinkResponse(kind="group"):
                self._show_group_link(response)
            case LinkResponse():
                kind = "invite" if response.kind == "invitation" else "address"
                self.sapp.action_contacts(kind)
                self.sapp.call_after_refresh(self._show_link_on_contacts, response)
            case OkResponse(message=text) if text:
                self.notify(text, markup=False)
                if self.sapp.backend.core is not None and \
                        self.sapp.backend.core.quit_requested.is_set():
                    self.app.exit(0)
            case ContactsResponse() | RequestsResponse() | HistoryResponse() | \
                    ProfileResponse() | ContactInfoResponse() | CodeResponse() | \
                    VerifyResponse():
                self.app.push_screen(TextDialog(response.TYPE.capitalize(),
                                                _describe(response)))
            case _:
                pass

    def _show_group_link(self, response: LinkResponse) -> None:
        """``/create link #G`` or ``/show link #G`` typed: the group info shows it as QR."""
        from simplextui.tui.screens.group_info import GroupInfoScreen

        key = self.current_chat
        group = response.group or (key[1:] if key is not None and is_group_key(key) else None)
        if group is None:
            from simplextui.tui.screens.dialogs import TextDialog

            self.app.push_screen(TextDialog("Group link", response.link))
            return
        screen = GroupInfoScreen(group)
        self.app.push_screen(screen)
        self.sapp.call_after_refresh(screen.show_link, response)

    def _show_link_on_contacts(self, response: LinkResponse) -> None:
        from simplextui.tui.screens.contacts import ContactsScreen

        screen = self.app.screen
        if isinstance(screen, ContactsScreen):
            screen.show_link(response)

    @on(ComposerInput.Page)
    def _composer_page(self, message: ComposerInput.Page) -> None:
        if message.direction < 0:
            self.conversation.action_page_up()
        else:
            self.conversation.action_page_down()

    @on(ComposerInput.Escape)
    def _composer_escape(self) -> None:
        if self.composer.cancel_draft():
            return
        if self.conversation.items:
            self.conversation.focus()

    @on(Conversation.Compose)
    @on(ChatOptions.Compose)
    def _to_composer(self) -> None:
        self.composer.input.focus()

    @on(Conversation.Action)
    def _message_action(self, message: Conversation.Action) -> None:
        row, name = message.row, self.current_chat
        if name is None:
            return
        author = self._author(row)
        name = chat_ref(name)
        if message.action == "reply":
            self.composer.start_draft(Draft("reply", row, author))
        elif message.action == "edit":
            if not row.mine or row.deleted:
                self.notify("You can only edit your own messages", severity="warning")
                return
            self.composer.start_draft(Draft("edit", row, author))
        elif message.action == "delete":
            self._delete(row, name)
        elif message.action == "react":
            self._react(row, name)
        elif message.action == "copy":
            self.app.copy_to_clipboard(row.text)
            self.notify("Copied the message to the clipboard")

    def _author(self, row: ItemRow) -> str:
        core = self.sapp.backend.core
        if row.mine:
            return core.user_name if core else "you"
        if is_group_key(self.current_chat):
            return row.sender or "?"
        return self.current_chat or ""

    def _delete(self, row: ItemRow, name: str) -> None:
        from simplextui.tui.screens.dialogs import ConfirmDialog

        group = is_group_key(self.current_chat)
        if row.deleted or row.event or not (row.mine or group):
            self.notify("You can only delete your own messages", severity="warning")
            return

        def done(ok: bool | None) -> None:
            if ok:
                self._run(f"/delete {name} {row.msg_id}")

        # in a group, admins and owners may delete others' messages (the core says if not)
        title = ("Delete this message for everyone?" if row.mine
                 else f"Delete {row.sender or 'this member'}'s message for everyone?")
        self.app.push_screen(ConfirmDialog(title, row.text, "Delete"), done)

    def _react(self, row: ItemRow, name: str) -> None:
        from simplextui.tui.screens.dialogs import ReactionDialog

        mine = {r for r, is_mine in row.reactions if is_mine}

        def done(reaction: str | None) -> None:
            if reaction:
                verb = "/unreact" if reaction in mine else "/react"
                self._run(f"{verb} {name} {row.msg_id} {reaction}")

        self.app.push_screen(ReactionDialog(mine), done)

    # --- actions ----------------------------------------------------------------------------

    def action_next_chat(self) -> None:
        name = self.query_one(ChatList).neighbour(1)
        if name:
            self.open_chat(name)

    def action_prev_chat(self) -> None:
        name = self.query_one(ChatList).neighbour(-1)
        if name:
            self.open_chat(name)

    def action_find_chat(self) -> None:
        self.query_one("#chat-filter", Input).focus()

    def action_contact_info(self) -> None:
        from simplextui.tui.screens.contact_info import ContactInfoScreen
        from simplextui.tui.screens.group_info import GroupInfoScreen

        if self.current_chat is None:
            self.notify("Open a chat first", severity="warning")
            return
        if is_group_key(self.current_chat):
            self.app.push_screen(GroupInfoScreen(self.current_chat[1:]))
        else:
            self.app.push_screen(ContactInfoScreen(self.current_chat))

    def action_new_link(self) -> None:
        self.sapp.action_contacts("invite")

    def action_new_group(self) -> None:
        self.sapp.action_new_group()


def _group_header(row: ChatSummary) -> Text:
    text = Text(f" #{row.name}", "bold")
    if row.display_name and row.display_name != row.name:
        text.append(f"  {row.display_name}")
    if row.full_name:
        text.append(f"  {row.full_name}", "dim")
    if row.status == "connected":
        text.append("  members: F4", "dim")
    else:
        text.append(f"  {row.status}", "italic")
    return text


def _describe(response: Any) -> str:
    """A plain-text rendering of list-like responses for the text dialog."""
    match response:
        case ContactsResponse():
            return "\n".join(f"@{c.name}  {c.full_name}  [{c.status}]"
                             f"{'  verified' if c.verified else ''}"
                             for c in response.contacts) or "no contacts"
        case RequestsResponse():
            return "\n".join(f"{r.name}  {r.full_name}" for r in response.requests) or \
                "no pending requests"
        case HistoryResponse():
            return "\n".join(f"{m.chat} {m.from_}: {m.text}" for m in response.messages) or \
                "no messages"
        case ProfileResponse():
            return (f"display name: {response.display_name}\nfull name: {response.full_name}\n"
                    f"bio: {response.bio}\nauto-accept: {'on' if response.auto_accept else 'off'}")
        case ContactInfoResponse():
            c = response.contact
            return (f"@{c.name}\n{c.full_name}\n{c.bio}\nstatus: {c.status}\n"
                    f"verified: {'yes' if c.verified else 'no'}")
        case CodeResponse():
            return f"security code with @{response.contact}:\n\n{response.code}"
        case VerifyResponse():
            return f"@{response.contact} is {'verified' if response.verified else 'not verified'}"
    return str(response)
