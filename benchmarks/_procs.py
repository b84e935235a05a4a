"""Start the processes a benchmark measures against: a queue server, a no-op HTTPS server."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from simplextui.protocol.address import ServerAddress
from simplextui.server.tls_identity import load_or_create

NOOP_APP = """
import asyncio, socket, sys, uvicorn
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")]})
    await send({"type": "http.response.body", "body": b""})
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(app, ssl_certfile=sys.argv[1], ssl_keyfile=sys.argv[2],
                        log_level="warning", access_log=False, lifespan="off")
uvicorn.Server(config).run(sockets=[sock])
"""


@contextlib.asynccontextmanager
async def queue_server_process(data_dir: Path, *extra: str) -> AsyncIterator[ServerAddress]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simplextui.cli", "server", "--data-dir", str(data_dir),
        "--port", "0", *extra, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        yield ServerAddress.parse(line.decode())
    finally:
        proc.terminate()
        await proc.wait()


@contextlib.asynccontextmanager
async def noop_https_process(data_dir: Path) -> AsyncIterator[ServerAddress]:
    """An HTTPS endpoint that does nothing, with the same TLS identity and stack."""
    identity = load_or_create(data_dir)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", NOOP_APP, str(identity.cert_path), str(identity.key_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        port = int((await asyncio.wait_for(proc.stdout.readline(), 30)).decode())
        for _ in range(300):  # the port is printed just before uvicorn listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.01)
                continue
            writer.close()
            break
        yield ServerAddress(identity.fingerprint, "127.0.0.1", port)
    finally:
        proc.terminate()
        await proc.wait()
