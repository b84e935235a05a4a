"""Toasts never cover a dialog.

While a dialog (any modal screen: the app's dialogs, the command palette) is on top:

- what happens elsewhere (a message, a contact request: ``notify(..., incoming=True)``) waits
  and is shown as a toast when the last dialog closes;
- feedback on what the user does in the dialog (a failed command, "copied") is shown in the
  dialog's own notice line (``DialogNotices``), where it covers nothing;
- toasts still on screen when a dialog opens are taken down and shown again after it.

Nothing is lost: every notice is either shown in the dialog or waits for it to close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.command import CommandPalette
from textual.content import Content
from textual.markup import MarkupError
from textual.notifications import Notification, Notify, SeverityLevel
from textual.screen import ModalScreen, Screen

from simplextui.tui.widgets.dialog_notices import DialogNotices

__all__ = ["Notice", "ToastGate", "is_dialog"]


@dataclass(frozen=True, slots=True)
class Notice:
    message: str
    title: str
    severity: SeverityLevel
    timeout: float
    markup: bool

    @property
    def plain(self) -> str:
        if not self.markup:
            return self.message
        try:
            return Content.from_markup(self.message).plain
        except MarkupError:
            return self.message


def is_dialog(screen: Screen[Any]) -> bool:
    return isinstance(screen, ModalScreen)


class ToastGate:
    """The app's side: ``show`` every notice through it; tell it when the screen changes."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.held: list[Notice] = []
        self._live: list[tuple[Notice, Notification]] = []
        self._dialog_open = False

    def show(self, notice: Notice, *, incoming: bool = False) -> None:
        """Decided once the handler that raised it is done: a dialog that says something and
        closes at once (``notify(...); dismiss()``) leaves it to the screen below."""
        self.app.call_later(self._route, notice, incoming)

    def _route(self, notice: Notice, incoming: bool) -> None:
        screen = self._screen()
        if screen is None or not is_dialog(screen):
            self._toast(notice)
            return
        if incoming or isinstance(screen, CommandPalette):
            self.held.append(notice)
            return
        self._in_dialog(screen, notice)

    def screen_changed(self, screen: Screen[Any]) -> None:
        if is_dialog(screen):
            if not self._dialog_open:
                self._dialog_open = True
                self._take_down()
            return
        self._dialog_open = False
        held, self.held = self.held, []
        for notice in held:
            self._toast(notice)

    def _screen(self) -> Screen[Any] | None:
        try:
            screen: Screen[Any] = self.app.screen
        except Exception:  # no screen yet (starting up)
            return None
        return screen

    def _toast(self, notice: Notice) -> None:
        notification = Notification(notice.message, notice.title, notice.severity,
                                    notice.timeout, markup=notice.markup)
        self._live = [(n, t) for n, t in self._live if not t.has_expired]
        self._live.append((notice, notification))
        self.app.post_message(Notify(notification))

    def _take_down(self) -> None:
        """The toasts on screen as a dialog opens would cover it: show them after it."""
        live = [n for n, t in self._live if not t.has_expired]
        self._live = []
        if live:
            self.held[:0] = live
            self.app.clear_notifications()

    @staticmethod
    def _in_dialog(screen: Screen[Any], notice: Notice) -> None:
        found = screen.query(DialogNotices)
        line = found.first() if found else None
        if line is None:
            line = DialogNotices()
            screen.mount(line)
        line.add(notice.severity, notice.title, notice.plain)
