"""Contact info: profile, connection state, and the safety code with verification.

Verification: compare the 60-digit security code with the contact in person or on a call;
typing the code they read out marks the contact verified only if it matches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from simplextui.chat.responses import (
    CodeResponse,
    ContactInfoResponse,
    ErrorResponse,
    VerifyResponse,
)
from simplextui.tui.errors import WorkerErrors
from simplextui.tui.messages import OpenChat
from simplextui.tui.widgets.keys_footer import KeysFooter

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["ContactInfoScreen", "format_code"]

VERIFY_HELP = ("Compare this code with @{name}'s screen, in person or on a call. If they match, "
               "type the code they read out (or paste it) and press Verify.")


def format_code(code: str) -> str:
    """The 12 groups of 5 digits as three lines of four groups."""
    groups = code.split()
    return "\n".join(" ".join(groups[i:i + 4]) for i in range(0, len(groups), 4))


class ContactInfoScreen(WorkerErrors, ModalScreen[None]):
    BINDINGS: ClassVar[Any] = [Binding("escape", "close", "Close", id="info.close")]

    def __init__(self, name: str) -> None:
        super().__init__(classes="dialog")
        self.contact = name
        self.code: str | None = None

    @property
    def sapp(self) -> SimplexApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box", id="contact-info"):
            yield Label(f"@{self.contact}", classes="dialog-title", markup=False)
            yield Static("", id="info-profile", markup=False)
            yield Static("", id="info-status", markup=False)
            yield Label("Security code", classes="section")
            yield Static("…", id="info-code", markup=False)
            yield Static(VERIFY_HELP.format(name=self.contact), classes="help-text", markup=False)
            yield Input(placeholder="the code your contact reads out", id="verify-code")
            with Horizontal(classes="button-row"):
                yield Button("Verify", id="verify", variant="success")
                yield Button("Unverify", id="unverify")
                yield Button("Open chat", id="open-chat", variant="primary")
                yield Button("Delete contact", id="delete-contact", variant="error")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    def on_mount(self) -> None:
        self.query_one("#verify-code", Input).cursor_blink = self.sapp.blink
        self.load()

    @work(group="contact-info", exclusive=True, exit_on_error=False)
    async def load(self) -> None:
        info = await self.sapp.run_command(f"/i @{self.contact}", publish=False)
        if isinstance(info, ErrorResponse):
            self.query_one("#info-profile", Static).update(info.error)
            return
        assert isinstance(info, ContactInfoResponse)
        c = info.contact
        lines = [c.full_name or c.display_name, c.bio]
        self.query_one("#info-profile", Static).update("\n".join(x for x in lines if x))
        verified = "✓ verified" if c.verified else "not verified"
        self.query_one("#info-status", Static).update(f"{c.status} · {verified}")
        self.set_class(c.verified, "-verified")
        code = await self.sapp.run_command(f"/code @{self.contact}", show_errors=False,
                                           publish=False)
        if isinstance(code, CodeResponse):
            self.code = code.code
            self.query_one("#info-code", Static).update(format_code(code.code))
        else:
            error = code.error if isinstance(code, ErrorResponse) else ""
            self.query_one("#info-code", Static).update(f"not available: {error}")

    @on(Input.Submitted, "#verify-code")
    @on(Button.Pressed, "#verify")
    @work(group="contact-info-cmd", exit_on_error=False)
    async def _verify(self) -> None:
        typed = self.query_one("#verify-code", Input).value.strip()
        if not typed:
            self.notify("Type the code your contact reads out", severity="warning")
            return
        response = await self.sapp.run_command(f"/verify @{self.contact} {typed}")
        if isinstance(response, VerifyResponse) and response.verified:
            self.notify(f"@{self.contact} is verified", title="Verified", markup=False)
        self.load()

    @on(Button.Pressed, "#unverify")
    @work(group="contact-info-cmd", exit_on_error=False)
    async def _unverify(self) -> None:
        await self.sapp.run_command(f"/verify @{self.contact}")
        self.load()

    @on(Button.Pressed, "#open-chat")
    def _open(self) -> None:
        self.app.screen_stack[0].post_message(OpenChat(self.contact))
        while len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    @on(Button.Pressed, "#delete-contact")
    def _delete(self) -> None:
        from simplextui.tui.screens.dialogs import ConfirmDialog

        def done(ok: bool | None) -> None:
            if ok:
                self._delete_now()

        self.app.push_screen(ConfirmDialog(
            f"Delete @{self.contact}?",
            "The connection is closed and the conversation removed from this device.",
            "Delete"), done)

    @work(group="contact-info-cmd", exit_on_error=False)
    async def _delete_now(self) -> None:
        response = await self.sapp.run_command(f"/d @{self.contact}")
        if not isinstance(response, ErrorResponse):
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
