"""Display names and the local names contacts are addressed by (``@alice``, ``@alice_1``)."""

from __future__ import annotations

import re
from collections.abc import Container

__all__ = ["InvalidName", "local_name_base", "unique_name", "validate_display_name"]

MAX_DISPLAY_NAME = 64
_FORBIDDEN = re.compile(r"[\s@#'\"\\/,;]")
_BAD_START = tuple("+-!>")


class InvalidName(ValueError):
    """A display name the user typed cannot be used."""


def validate_display_name(name: str) -> str:
    """Return ``name`` if it can be a display name (one word, addressable as ``@name``)."""
    if not name:
        raise InvalidName("display name is empty")
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidName(f"display name longer than {MAX_DISPLAY_NAME} characters")
    if _FORBIDDEN.search(name):
        raise InvalidName("display name cannot contain spaces or any of @ # ' \" \\ / , ;")
    if name.startswith(_BAD_START):
        raise InvalidName("display name cannot start with + - ! or >")
    return name


def local_name_base(display_name: str) -> str:
    """A peer's display name made addressable: forbidden characters become ``_``.

    Peers choose their names freely; the local name is only how this user types them.
    """
    name = _FORBIDDEN.sub("_", display_name.strip())[:MAX_DISPLAY_NAME]
    while name.startswith(_BAD_START):
        name = name[1:]
    return name or "contact"


def unique_name(base: str, taken: Container[str]) -> str:
    """``base`` if free, else ``base_1``, ``base_2``, ... (the first free one)."""
    if base not in taken:
        return base
    n = 1
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"
