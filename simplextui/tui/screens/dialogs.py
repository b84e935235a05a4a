"""Small modal dialogs: a text panel, a yes/no question, a reaction picker."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from simplextui.protocol.chat_events import ALLOWED_REACTIONS
from simplextui.tui.format import preview
from simplextui.tui.widgets.keys_footer import KeysFooter

__all__ = ["ConfirmDialog", "ReactionDialog", "TextDialog"]


class TextDialog(ModalScreen[None]):
    BINDINGS: ClassVar[Any] = [Binding("escape,enter,q", "dismiss", "Close", id="dialog.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__(classes="dialog")
        self._title = title
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._title, classes="dialog-title", markup=False)
            with VerticalScroll():
                yield Static(self._text, markup=False)
            yield Button("Close", variant="primary", id="close")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    BINDINGS: ClassVar[Any] = [Binding("escape,n", "cancel", "Cancel", id="dialog.cancel"),
                Binding("y", "confirm", "Yes", id="dialog.confirm")]

    def __init__(self, question: str, detail: str = "", confirm: str = "OK", *,
                 primary: bool = False) -> None:
        super().__init__(classes="dialog")
        self._question = question
        self._detail = detail
        self._confirm = confirm
        self._variant: Any = "primary" if primary else "error"  # not destructive: primary

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Label(self._question, classes="dialog-title", markup=False)
            if self._detail:
                yield Static(preview(self._detail, 200), markup=False, classes="dialog-detail")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._confirm, variant=self._variant, id="confirm")
                yield Button("Cancel", id="cancel")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


class ReactionDialog(ModalScreen[str | None]):
    """Pick a reaction with 1–8 or a click; one you already gave is taken back."""

    BINDINGS: ClassVar[Any] = [Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
                *[Binding(str(i + 1), f"pick({i})", show=False) for i in
                  range(len(ALLOWED_REACTIONS))]]

    def __init__(self, mine: set[str]) -> None:
        super().__init__(classes="dialog")
        self._mine = mine

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box reactions"):
            yield Label("React (1–8, Esc to cancel; a reaction you gave is taken back)",
                        classes="dialog-title")
            with Horizontal(classes="reaction-row"):
                for i, reaction in enumerate(ALLOWED_REACTIONS):
                    label = f"{i + 1} {reaction}"
                    yield Button(label, id=f"reaction-{i}",
                                 classes="reaction -mine" if reaction in self._mine
                                 else "reaction")
        yield KeysFooter()  # this dialog's keys (not the screen's below)

    def action_pick(self, index: int) -> None:
        self.dismiss(ALLOWED_REACTIONS[index])

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, ".reaction")
    def _pressed(self, event: Button.Pressed) -> None:
        assert event.button.id is not None
        self.dismiss(ALLOWED_REACTIONS[int(event.button.id.rsplit("-", 1)[1])])
