"""Group tests reuse the chat fixtures: real agents, a real queue server, real SQLite files."""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from typing import Any  # noqa: E402

import pytest  # noqa: E402

from tests.chat.conftest import make_user, restart  # noqa: E402,F401
from tests.chat.helpers import Pair  # noqa: E402
from tests.groups.helpers import build_group, wait_mesh  # noqa: E402


@pytest.fixture
async def trio(make_user: Any) -> list[Pair]:  # noqa: F811 - the fixture above
    """alice (owner), bob and carol (members) of #team, every pair connected."""
    users = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group(users)
    await wait_mesh(users)
    return users
