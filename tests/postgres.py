"""A throwaway PostgreSQL server for the tests, when PostgreSQL is installed here.

``initdb`` makes a cluster in a temporary directory and ``pg_ctl`` starts it on a free port of
127.0.0.1 (trust authentication, no other listener); it is stopped and removed afterwards.
PostgreSQL refuses to run as root, so as root the cluster belongs to ``nobody``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["installed", "throwaway_postgres"]


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for root in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (root / name).exists():
            return str(root / name)
    return None


def installed() -> bool:
    """initdb and pg_ctl are here (and, as root, runuser to run them as ``nobody``)."""
    tools = _tool("initdb") is not None and _tool("pg_ctl") is not None
    return tools and (os.geteuid() != 0 or shutil.which("runuser") is not None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Yields ``postgresql+psycopg://postgres@127.0.0.1:PORT`` of a fresh server."""
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    assert initdb and pg_ctl, "PostgreSQL is not installed"
    root = Path(tempfile.mkdtemp(prefix="simplextui-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
        shutil.chown(sockets, "nobody")
        root.chmod(0o755)
        as_user = ["runuser", "-u", "nobody", "--"]
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=60,
                       cwd=root)

    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(pg_ctl, "-D", str(data), "-w", "-t", "30", "-l", str(root / "log"), "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        finally:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
