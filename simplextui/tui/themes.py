"""Themes as data: TOML files turned into Textual themes.

    name = "simplex-dark"
    dark = true
    primary = "#4C9EEB"          # required; the other colours are optional
    background = "#0F1419"
    [variables]                  # the app's own colours (see CHAT_VARIABLES)
    chat-me = "#F5A97F"

The app's themes ship in the package (``simplextui/tui/themes``, which is also ``themes/`` at
the top of the repository); users add their own in ``<config dir>/themes``. A file that does not
parse is reported, never fatal.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

__all__ = ["BUNDLED_THEMES_DIR", "CHAT_VARIABLES", "ThemeError", "ThemeLoad", "load_themes",
           "theme_from_toml"]

BUNDLED_THEMES_DIR = Path(__file__).with_name("themes")
COLOR_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
                "background", "surface", "panel", "boost")
# The app's own variables and the Textual colour each defaults to in themes without them.
CHAT_VARIABLES = {
    "chat-me": "accent",
    "chat-peer": "primary",
    "chat-read": "success",
    "chat-badge": "accent",
    "chat-selected": "boost",
    "chat-day": "secondary",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


class ThemeError(ValueError):
    pass


@dataclass
class ThemeLoad:
    themes: list[Theme] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _color(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{what} must be a colour string like \"#4C9EEB\"")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{what}: {value!r} is not a colour") from None
    return value


def theme_from_toml(data: dict[str, Any]) -> Theme:
    """A Textual theme from parsed TOML; raises ``ThemeError`` saying what is wrong."""
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ThemeError("name must be lowercase letters, digits and dashes")
    if "primary" not in data:
        raise ThemeError("primary colour is missing")
    known = {"name", "dark", "variables", "luminosity_spread", "text_alpha", *COLOR_FIELDS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ThemeError(f"unknown key(s): {', '.join(unknown)}")
    colors = {key: _color(data[key], key) for key in COLOR_FIELDS if key in data}
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError("dark must be true or false")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeError("[variables] must be a table")
    checked = {str(k): _color(v, f"variables.{k}") for k, v in variables.items()}
    extra: dict[str, Any] = {**colors}
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            if not isinstance(data[key], int | float):
                raise ThemeError(f"{key} must be a number")
            extra[key] = float(data[key])
    return Theme(name=name, dark=dark, variables=checked, **extra)


def load_themes(directories: Iterable[Path]) -> ThemeLoad:
    """Every ``*.toml`` theme in ``directories`` (later ones override earlier names)."""
    result = ThemeLoad()
    by_name: dict[str, Theme] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = theme_from_toml(tomllib.loads(path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ThemeError) as exc:
                result.errors.append(f"{path.name}: {exc}")
                continue
            by_name[theme.name] = theme
    result.themes = list(by_name.values())
    return result
