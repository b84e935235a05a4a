"""The error a chat command fails with; its message is shown to the user as is."""

from __future__ import annotations


class ChatError(Exception):
    """A command cannot be done (unknown contact, not connected yet, ...): nothing changed."""


class ProfileRequired(ChatError):
    """First start without a display name: the frontend must ask for one."""

    def __init__(self) -> None:
        super().__init__("no profile yet: choose a display name (headless: --name NAME)")
