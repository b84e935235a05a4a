"""Fixtures for the TUI tests: fixed clock and ids, sample data on real SQLite, no user config."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # so that `tests.tui.*` helpers import under pytest
    sys.path.insert(0, _ROOT)


@pytest.fixture(autouse=True)
def no_user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the developer's own settings file."""
    path = tmp_path / "config" / "settings.toml"
    monkeypatch.setenv("SIMPLEXTUI_SETTINGS", str(path))
    return path
