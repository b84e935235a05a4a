"""Group tests reuse the chat fixtures: real agents, a real queue server, real SQLite files."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.chat.conftest import make_user, restart  # noqa: E402,F401
