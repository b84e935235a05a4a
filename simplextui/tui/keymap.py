"""Every key binding of the app, with a stable id users can rebind in settings.

    [keymap]
    "chat.reply" = "r,ctrl+r"
    "composer.newline" = "ctrl+j"

Ids are ``scope.name``; the help screen (F1) lists them with their current keys. Widgets take
their ``BINDINGS`` from here, and the app applies the user's keymap with ``App.set_keymap``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType

__all__ = ["BY_ID", "KEYS", "SCOPES", "KeyAction", "bindings", "effective_keys", "keys_of",
           "quiet", "unknown_ids"]


@dataclass(frozen=True, slots=True)
class KeyAction:
    id: str
    keys: str
    action: str
    description: str
    show: bool = False
    priority: bool = False
    label: str = ""  # shorter words for the footer (the help screen shows ``description``)

    @property
    def scope(self) -> str:
        return self.id.split(".", 1)[0]


SCOPES = {
    "app": "Everywhere",
    "main": "Main screen",
    "chats": "Chat list",
    "chat": "Conversation (Esc from the composer to select messages)",
    "composer": "Composer",
    "screen": "Contacts, settings and help screens",
    "requests": "Contacts screen (F2): Requests, Pending and Contacts tabs",
    "group": "Group info (F4 in a group)",
}

KEYS: tuple[KeyAction, ...] = (
    KeyAction("app.help", "f1", "help", "Help", show=True),
    KeyAction("app.contacts", "f2,ctrl+o", "contacts", "Contacts", show=True),  # again: next tab
    KeyAction("app.settings", "f3", "settings", "Settings", show=True),
    KeyAction("app.quit", "ctrl+q", "quit", "Quit", show=True, priority=True),
    KeyAction("main.next_chat", "alt+down,ctrl+n", "next_chat", "Next chat"),
    KeyAction("main.prev_chat", "alt+up", "prev_chat", "Previous chat"),
    KeyAction("main.find_chat", "ctrl+f", "find_chat", "Find a chat", show=True),
    KeyAction("main.info", "f4", "contact_info", "Chat info", show=True),
    KeyAction("main.new_link", "ctrl+t", "new_link", "New one-time link"),
    KeyAction("main.new_group", "ctrl+g", "new_group", "New group"),
    KeyAction("chats.open", "enter", "open", "Open the chat"),
    KeyAction("chats.compose", "escape", "compose", "Back to the composer"),
    KeyAction("chats.filter_close", "escape", "close_filter",
              "In the filter: clear it, back to the composer"),
    KeyAction("chats.filter_list", "down", "to_list", "In the filter: into the list"),
    KeyAction("chat.up", "up,k", "select_previous", "Previous message"),
    KeyAction("chat.down", "down,j", "select_next", "Next message"),
    KeyAction("chat.page_up", "pageup", "page_up", "Page up"),
    KeyAction("chat.page_down", "pagedown", "page_down", "Page down"),
    KeyAction("chat.top", "home,g", "scroll_top_loaded", "Oldest loaded message"),
    KeyAction("chat.bottom", "end,G", "jump_bottom", "Newest message"),
    KeyAction("chat.reply", "r", "reply", "Reply", show=True),
    KeyAction("chat.edit", "e", "edit", "Edit", show=True),
    KeyAction("chat.delete", "d,delete", "delete", "Delete", show=True),
    KeyAction("chat.react", "plus,a", "react", "React", show=True),
    KeyAction("chat.copy", "y,c", "copy", "Copy", show=True),
    KeyAction("chat.compose", "escape,i", "compose", "Back to the composer", show=True,
              label="Write"),
    KeyAction("composer.send", "enter", "send", "Send"),
    KeyAction("composer.newline", "shift+enter,ctrl+j,alt+enter", "newline", "New line"),
    KeyAction("composer.complete", "tab", "complete", "Complete a command or name"),
    KeyAction("composer.history_prev", "up", "history_previous", "Previous input (first line)"),
    KeyAction("composer.history_next", "down", "history_next", "Next input (last line)"),
    KeyAction("composer.page_up", "pageup", "page_conversation(-1)",
              "Scroll the conversation up a page"),
    KeyAction("composer.page_down", "pagedown", "page_conversation(1)",
              "Scroll the conversation down a page"),
    KeyAction("composer.select", "escape", "select_messages", "Cancel reply/edit, or select "
              "messages"),
    KeyAction("screen.back", "escape", "back", "Back", show=True),
    KeyAction("requests.accept", "a", "accept_request", "Accept", show=True),
    KeyAction("requests.reject", "r", "reject_request", "Reject", show=True),
    KeyAction("requests.open_chat", "o", "open_chat", "Open the chat", show=True),
    KeyAction("requests.cancel_pending", "x,delete", "cancel_pending", "Delete", show=True),
    KeyAction("group.close", "escape", "close", "Back", show=True),
    KeyAction("group.invite", "i,plus", "invite", "Invite", show=True),
    KeyAction("group.role", "o", "role", "Role", show=True),
    KeyAction("group.remove", "x,delete", "remove", "Remove", show=True),
    KeyAction("group.link", "l", "link", "Group link", show=True),
)

BY_ID = {k.id: k for k in KEYS}


def bindings(scope: str) -> list[BindingType]:
    """The Textual bindings of one scope (each with its stable id)."""
    return [Binding(k.keys, k.action, k.label or k.description, show=k.show,
                    priority=k.priority, id=k.id)
            for k in KEYS if k.scope == scope]


def quiet(*ids: str) -> list[BindingType]:
    """App (or main screen) keys a screen or widget keeps working but leaves out of its footer
    (so that its own keys fit in 80 columns): the same ids, so a user's keymap moves them too."""
    def target(k: KeyAction) -> str:
        return f"{'app' if k.scope == 'app' else 'screen'}.{k.action}"

    return [Binding(BY_ID[i].keys, target(BY_ID[i]), BY_ID[i].description, show=False, id=i)
            for i in ids]


def effective_keys(action: KeyAction, keymap: Mapping[str, str]) -> str:
    """The keys of ``action`` after the user's keymap, for display."""
    return keymap.get(action.id, action.keys)


def unknown_ids(keymap: Mapping[str, str]) -> list[str]:
    return sorted(k for k in keymap if k not in BY_ID)


def keys_of(binding_id: str, keymap: Mapping[str, str]) -> frozenset[str]:
    """The key names bound to ``binding_id`` after the user's keymap."""
    return frozenset(k.strip() for k in effective_keys(BY_ID[binding_id], keymap).split(","))
