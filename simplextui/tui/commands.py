"""Our command palette provider (Ctrl+P): chats, contacts, links, screens, chat actions.

It sits beside Textual's system commands (theme, keys, screenshot, quit), which the app keeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from simplextui.tui.chatkeys import chat_ref, is_group_key

if TYPE_CHECKING:
    from simplextui.tui.app import SimplexApp

__all__ = ["ChatCommands"]


class ChatCommands(Provider):
    async def _commands(self) -> AsyncIterator[tuple[str, Callable[[], Any], str]]:
        app: SimplexApp = self.app  # type: ignore[assignment]
        yield ("New one-time link", partial(app.action_contacts, "invite"),
               "Create an invitation link and its QR code")
        yield ("Connect with a link", partial(app.action_contacts, "invite"),
               "Paste a link someone gave you")
        yield ("My contact address", partial(app.action_contacts, "address"),
               "Create, show or delete your long-term address")
        yield ("Contact requests", partial(app.action_contacts, "requests"),
               "Accept or reject people who used your address")
        yield ("Contacts", partial(app.action_contacts, "contacts"), "All contacts (F2)")
        yield ("Settings", app.action_settings, "Profile, servers, theme, notifications (F3)")
        yield ("Help", app.action_help, "Every key and every command (F1)")
        chat = app.open_chat
        if chat and is_group_key(chat):
            yield (f"Group info: {chat}", self._contact_info,
                   "Members, invite, remove, roles, group link")
        elif chat:
            yield (f"Contact info: @{chat}", self._contact_info, "Safety code, verification")
            yield (f"Mark @{chat} read", partial(app.run_command, f"/read @{chat}"),
                   "Send read receipts")
        if app.data is not None:
            for row in await app.data.chats():
                yield (f"Open chat {chat_ref(row.key)}", partial(self._open, row.key),
                       row.full_name or row.display_name or row.status)

    def _contact_info(self) -> None:
        from simplextui.tui.screens.main import MainScreen

        main = self.app.screen_stack[0]
        if isinstance(main, MainScreen):
            main.action_contact_info()

    def _open(self, name: str) -> None:
        from simplextui.tui.messages import OpenChat

        self.app.screen_stack[0].post_message(OpenChat(name))
        while len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    async def discover(self) -> Hits:
        async for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        async for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
