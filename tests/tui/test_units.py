"""The TUI's plain parts: composer lines, completion, settings, themes, keymap, QR, formats."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from simplextui.chat.commands import CommandError, parse_command
from simplextui.tui import keymap
from simplextui.tui.completion import COMMAND_NAMES, Completer
from simplextui.tui.compose import is_command, to_command
from simplextui.tui.format import day_label, preview, short_time, status_mark
from simplextui.tui.qr import qr_lines
from simplextui.tui.settings import Settings, load_settings, save_settings
from simplextui.tui.themes import BUNDLED_THEMES_DIR, ThemeError, load_themes, theme_from_toml


@pytest.mark.parametrize(("text", "chat", "line"), [
    ("hello", "bob", "@bob hello"),
    ("  hello  ", "bob", "@bob hello"),
    ("line one\nline two", "bob", "@bob line one\nline two"),
    ("/c", "bob", "/c"),
    ("@carol hi", "bob", "@carol hi"),
    ("#team hi all", "bob", "#team hi all"),
    ("#1", "bob", "#1"),
    ("> @bob (hi) yes", None, "> @bob (hi) yes"),
    ("+1 @bob hi", "bob", "+1 @bob hi"),
    ("+1", "bob", "@bob +1"),  # not a reaction command: plain text
    ("!!!", "bob", "@bob !!!"),
    (">quoted", "bob", "@bob >quoted"),
    ("//slash", "bob", "@bob /slash"),
    ("hello", None, None),
    ("   ", "bob", None),
])
def test_composer_lines(text: str, chat: str | None, line: str | None) -> None:
    assert to_command(text, chat) == line


def test_every_composer_line_parses() -> None:
    for text in ("hello", "+1", "!!!", ">quoted", "//slash"):
        line = to_command(text, "bob")
        assert line is not None
        parse_command(line)  # plain text always becomes a valid SendText
    assert is_command("/help") and not is_command("hello")
    with pytest.raises(CommandError):
        parse_command(to_command("/frobnicate", "bob") or "")


def test_completion_of_commands_and_names() -> None:
    assert {"/c", "/connect", "/reply", "/unreact", "/verify"} <= set(COMMAND_NAMES)
    completer = Completer(lambda: ["alice", "albert", "bob"], lambda: ["carol"])
    first = completer.complete("hi @al")
    assert first is not None and first.text == "hi @albert "
    second = completer.complete(first.text)
    assert second is not None and second.text == "hi @alice "
    assert completer.complete("/ac c") is not None
    assert completer.complete("/ac c").text == "/ac carol "  # type: ignore[union-attr]
    only = completer.complete("/unr")
    assert only is not None and only.text == "/unreact "
    assert completer.complete("plain words") is None


def test_settings_round_trip_and_problems(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    settings, problems = load_settings(path)
    assert settings == Settings() and problems == []
    settings.theme = "simplex-light"
    settings.servers = ["smp://x@y:1"]
    settings.notifications.bell = True
    settings.keymap = {"chat.reply": "ctrl+r"}
    save_settings(settings, path)
    again, problems = load_settings(path)
    assert again == settings and problems == []
    path.write_text('theme = 3\n[notifications]\nbell = "loud"\nnope = 1\n[keymap]\nx = 1\n')
    settings, problems = load_settings(path)
    assert settings.notifications.bell is False
    assert len(problems) == 4
    path.write_text("this is [not toml")
    settings, problems = load_settings(path)
    assert settings == Settings() and len(problems) == 1


def test_bundled_themes_load_and_bad_ones_are_reported(tmp_path: Path) -> None:
    loaded = load_themes([BUNDLED_THEMES_DIR])
    assert {t.name for t in loaded.themes} >= {"simplex-dark", "simplex-light"}
    assert loaded.errors == []
    assert {t.dark for t in loaded.themes} == {True, False}
    (tmp_path / "bad.toml").write_text('name = "bad"\nprimary = "not a colour"\n')
    (tmp_path / "broken.toml").write_text("name = ")
    (tmp_path / "good.toml").write_text('name = "mine"\nprimary = "#112233"\n')
    loaded = load_themes([tmp_path])
    assert [t.name for t in loaded.themes] == ["mine"]
    assert len(loaded.errors) == 2 and "not a colour" in " ".join(loaded.errors)
    with pytest.raises(ThemeError):
        theme_from_toml({"name": "x", "primary": "#fff", "colour": "#000"})


def test_keymap_ids_are_unique_and_user_keys_apply() -> None:
    ids = [k.id for k in keymap.KEYS]
    assert len(ids) == len(set(ids))
    assert keymap.keys_of("composer.newline", {}) >= {"ctrl+j"}
    assert keymap.keys_of("chat.reply", {"chat.reply": "ctrl+r, r"}) == {"ctrl+r", "r"}
    assert keymap.unknown_ids({"chat.reply": "x", "no.such": "y"}) == ["no.such"]


def test_qr_code_as_half_blocks() -> None:
    lines = qr_lines("simplextui://i/" + "A" * 140)
    assert len({len(line) for line in lines}) == 1
    assert set("".join(lines)) <= set(" ▀▄█")
    assert len(lines) <= 30  # fits a 34-line terminal with the link beside it


def test_formats() -> None:
    today = date(2025, 6, 3)
    assert day_label(today, today) == "Today"
    assert day_label(date(2025, 6, 2), today) == "Yesterday"
    assert day_label(date(2025, 5, 30), today) == "Friday"
    assert day_label(date(2024, 5, 30), today).endswith("2024")
    now = datetime(2025, 6, 3, 15, 30, tzinfo=UTC)
    assert short_time(int(now.timestamp() * 1000) - 60_000, now) == "15:29"
    assert status_mark("read") == "✓✓" and status_mark("pending") == "◷"
    assert status_mark("bogus") == ""
    assert preview("a\nb  c", 10) == "a b c"
    assert preview("x" * 20, 10) == "x" * 9 + "…"
