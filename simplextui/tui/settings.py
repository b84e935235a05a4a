"""User settings of the TUI: one TOML file under the user's config dir.

    theme = "simplex-dark"
    servers = ["smp://FINGERPRINT@host:5223"]   # empty: the embedded server
    [notifications]
    toasts = true          # a toast for messages and events in other chats
    bell = false           # ring the terminal bell too
    [chat]
    mark_read = true       # opening a chat marks it read and sends read receipts
    [keymap]
    "chat.reply" = "r"     # binding id = keys (see the help screen, F1)

A file that cannot be read or has wrong types does not stop the app: the defaults are used and
``load_settings`` reports the problems (the app shows them in one toast).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

__all__ = [
    "DEFAULT_THEME",
    "SETTINGS_ENV",
    "ChatSettings",
    "NotificationSettings",
    "Settings",
    "default_settings_path",
    "load_settings",
    "save_settings",
]

DEFAULT_THEME = "simplex-dark"
SETTINGS_ENV = "SIMPLEXTUI_SETTINGS"  # an alternative settings file (tests, several profiles)


@dataclass
class NotificationSettings:
    toasts: bool = True
    """Show a toast for messages and events from chats other than the open one."""
    bell: bool = False
    """Ring the terminal bell for new messages in other chats."""


@dataclass
class ChatSettings:
    mark_read: bool = True
    """Opening a chat marks its messages read (and sends read receipts)."""


@dataclass
class Settings:
    theme: str = DEFAULT_THEME
    servers: list[str] = field(default_factory=list)
    """Queue server addresses; empty means the embedded server (used when no --server)."""
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id → keys, e.g. ``{"chat.reply": "r"}``."""

    def to_toml(self) -> dict[str, Any]:
        return asdict(self)


def default_settings_path() -> Path:
    env = os.environ.get(SETTINGS_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("simplextui", appauthor=False)) / "settings.toml"


def _section(raw: dict[str, Any], name: str, kind: type[Any], problems: list[str]) -> Any:
    value = raw.get(name, {})
    defaults = kind()
    if not isinstance(value, dict):
        problems.append(f"[{name}] must be a table")
        return defaults
    for key, item in value.items():
        if not hasattr(defaults, key):
            problems.append(f"unknown setting {name}.{key}")
        elif not isinstance(item, type(getattr(defaults, key))):
            problems.append(f"{name}.{key} must be {type(getattr(defaults, key)).__name__}")
        else:
            setattr(defaults, key, item)
    return defaults


def load_settings(path: Path) -> tuple[Settings, list[str]]:
    """The settings in ``path`` (defaults if it does not exist) and the problems found."""
    problems: list[str] = []
    settings = Settings()
    if not path.exists():
        return settings, problems
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return settings, [f"{path}: {exc}; using the default settings"]
    theme = raw.get("theme", DEFAULT_THEME)
    if isinstance(theme, str):
        settings.theme = theme
    else:
        problems.append("theme must be a string")
    servers = raw.get("servers", [])
    if isinstance(servers, list) and all(isinstance(s, str) for s in servers):
        settings.servers = list(servers)
    else:
        problems.append("servers must be a list of strings")
    settings.notifications = _section(raw, "notifications", NotificationSettings, problems)
    settings.chat = _section(raw, "chat", ChatSettings, problems)
    keymap = raw.get("keymap", {})
    if isinstance(keymap, dict) and all(isinstance(v, str) for v in keymap.values()):
        settings.keymap = {str(k): v for k, v in keymap.items()}
    else:
        problems.append("[keymap] must map binding ids to key strings")
    known = {"theme", "servers", "notifications", "chat", "keymap"}
    problems += [f"unknown setting {key}" for key in raw if key not in known]
    return settings, [f"{path.name}: {p}" for p in problems]


def save_settings(settings: Settings, path: Path) -> None:
    """Write ``settings`` atomically (a temporary file renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(settings.to_toml()), encoding="utf-8")
    tmp.replace(path)
