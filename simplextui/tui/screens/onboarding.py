"""First start: choose a display name (and, optionally, a full name). Nothing else."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from simplextui.chat.names import InvalidName, validate_display_name
from simplextui.protocol.chat_events import MAX_FULL_NAME_CHARS
from simplextui.tui.widgets.keys_footer import KeysFooter

__all__ = ["OnboardingScreen"]

INTRO = (
    "A private messenger with no user ids: you connect by sharing a link, and only the "
    "people you connect with see your name. Messages are end-to-end encrypted."
)


class OnboardingScreen(Screen[tuple[str, str] | None]):
    BINDINGS: ClassVar[Any] = [
        Binding("ctrl+q", "quit_app", "Quit", id="onboarding.quit", priority=True)]

    def __init__(self) -> None:
        super().__init__(id="onboarding")

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="onboarding-box"):
            yield Label("Welcome to simplextui", id="onboarding-title")
            yield Static(INTRO, id="onboarding-intro")
            yield Label("Display name (one word; how your contacts see you)")
            yield Input(placeholder="e.g. alice", id="display-name", max_length=64)
            yield Label("Full name (optional)")
            yield Input(placeholder="e.g. Alice Liddell", id="full-name",
                        max_length=MAX_FULL_NAME_CHARS)
            yield Static("", id="onboarding-error")
            yield Button("Start chatting", variant="primary", id="start")
        yield KeysFooter()  # Ctrl+Q quits, F1 helps (the app hides what needs a profile)

    def on_mount(self) -> None:
        blink = getattr(self.app, "blink", True)
        for box in self.query(Input):
            box.cursor_blink = blink
        self.query_one("#display-name", Input).focus()

    @on(Input.Submitted, "#display-name")
    def _next(self) -> None:
        self.query_one("#full-name", Input).focus()

    @on(Input.Submitted, "#full-name")
    @on(Button.Pressed, "#start")
    def _start(self) -> None:
        name = self.query_one("#display-name", Input).value.strip()
        full = " ".join(self.query_one("#full-name", Input).value.split())
        try:
            validate_display_name(name)
        except InvalidName as exc:
            self.query_one("#onboarding-error", Static).update(f"⚠ {exc}")
            self.call_after_refresh(self.query_one("#display-name", Input).focus)
            return
        self.dismiss((name, full))

    def action_quit_app(self) -> None:
        self.dismiss(None)
