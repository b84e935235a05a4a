"""Textual messages the app's parts exchange (background work reports through these)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from simplextui.chat.events import ChatEvent
from simplextui.chat.responses import ChatResponse

__all__ = ["BackendFailed", "BackendReady", "CommandDone", "CoreEvent", "OpenChat",
           "ProfileNeeded"]


@dataclass
class CoreEvent(Message):
    """A chat event from the chat core."""

    event: ChatEvent


@dataclass
class CommandDone(Message):
    """A command line ran (from the composer, a screen or the palette)."""

    line: str
    response: ChatResponse


class BackendReady(Message, bubble=False):
    """The chat core started (and the embedded server, if used)."""


class ProfileNeeded(Message):
    """First start: no profile yet; onboarding asks for a name."""


@dataclass
class BackendFailed(Message, bubble=False):
    error: str


@dataclass
class OpenChat(Message):
    """Open the conversation with a contact (from the palette, contacts screen...)."""

    name: str
