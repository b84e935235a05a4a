"""Chat keys: a contact's name (``alice``) or ``#`` and a group's name (``#team``).

The chat list, the main screen and the composer name the open chat by its key; the command
language addresses it as ``@alice`` or ``#team``.
"""

from __future__ import annotations

__all__ = ["chat_ref", "is_group_key"]


def is_group_key(key: str | None) -> bool:
    return key is not None and key.startswith("#")


def chat_ref(key: str) -> str:
    """How the command language addresses the chat with ``key``: ``@alice`` or ``#team``."""
    return key if is_group_key(key) else f"@{key}"
