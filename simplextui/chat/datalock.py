"""One client per data directory: an exclusive lock on ``DIR/simplextui.lock``.

Two processes on one data directory (a TUI and a headless client, say) would both subscribe to
the same queues, each stealing the other's messages, and both advance the same ratchets. The
second one must refuse to start instead. The lock is an OS file lock (``flock``), so it is
released when the process ends, however it ends. Within one process it is counted: the
headless front end takes it before starting its embedded server, the chat core again.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import IO

from simplextui.chat.errors import ChatError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "DataDirBusy", "acquire", "release"]

LOCK_FILE = "simplextui.lock"
log = logging.getLogger("simplextui.chat")

_held: dict[Path, tuple[IO[str], int]] = {}  # lock path -> (open file, holders in process)


class DataDirBusy(ChatError):
    """Another process uses this data directory."""


def acquire(data_dir: Path) -> None:
    """Take the data directory's lock (or count one more holder in this process); raise
    ``DataDirBusy`` if another process holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = (data_dir / LOCK_FILE).resolve()
    if path in _held:
        file, count = _held[path]
        _held[path] = (file, count + 1)
        return
    file = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open while held
    if fcntl is not None:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise DataDirBusy(f"another simplextui client is running on {data_dir}: stop it "
                              "first (one client per data directory)") from None
        except OSError as exc:  # a file system without locks (some network ones): go on
            log.warning("cannot lock %s (%s): nothing stops a second client on it", path, exc)
    file.seek(0)
    file.truncate()
    file.write(f"{os.getpid()}\n")
    file.flush()
    _held[path] = (file, 1)


def release(data_dir: Path) -> None:
    """Drop one holder; the lock is freed when the last one in this process releases it."""
    path = (data_dir / LOCK_FILE).resolve()
    entry = _held.get(path)
    if entry is None:
        return
    file, count = entry
    if count > 1:
        _held[path] = (file, count - 1)
        return
    del _held[path]
    with contextlib.suppress(OSError):
        file.close()  # closing the file releases the flock
