"""What the composer sends: a line of the command language, or text for the open chat.

Text that starts like a command (``/c``, ``@bob hi``, ``#team hi``, ``> @bob (hi) yes``, ``+1 @bob
hi``...) is
run as is, so everything headless mode can do can be typed here. Anything else is a message to
the open chat; ``//text`` sends ``/text`` literally.
"""

from __future__ import annotations

import re

from simplextui.tui.chatkeys import chat_ref

__all__ = ["is_command", "to_command"]

_COMMAND = re.compile(r"^(?:/[^/\s]|[@#]\S|[>!\\]\s*[@#]|[+-]\S+\s+[@#])")


def is_command(text: str) -> bool:
    return bool(_COMMAND.match(text.lstrip()))


def to_command(text: str, chat: str | None) -> str | None:
    """The command line for composer ``text`` with ``chat`` open (a contact's name, or ``#``
    and a group's name).

    None when ``text`` is a plain message and no chat is open.
    """
    body = text.strip()
    if not body:
        return None
    if is_command(body):
        return body
    if body.startswith("//"):
        body = body[1:]
    if chat is None:
        return None
    return f"{chat_ref(chat)} {body}"
