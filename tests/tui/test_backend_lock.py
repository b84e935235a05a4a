"""The app's backend refuses a data dir another client runs on before starting its embedded
server there (which would rewrite that client's server endpoint)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from simplextui.chat.datalock import DataDirBusy
from simplextui.tui.backend import Backend
from tests.chat.test_review_fixes import HOLD_LOCK

T = 10.0


async def test_embedded_server_not_started_on_a_data_dir_in_use(tmp_path: Path) -> None:
    data_dir = tmp_path / "alice"
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(data_dir),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), T) == b"locked\n"
        backend = Backend(data_dir, [])
        with pytest.raises(DataDirBusy):
            await backend.start_server()
        assert backend.embedded is None and not (data_dir / "server").exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        await asyncio.wait_for(holder.wait(), T)
    backend = Backend(data_dir, [])
    await asyncio.wait_for(backend.start_server(), T)  # the holder is gone
    try:
        assert backend.embedded is not None and backend.embedded.running
    finally:
        await backend.stop()
