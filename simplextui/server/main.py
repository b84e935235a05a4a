"""`simplextui server`: run a queue server in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import signal
import sys
from pathlib import Path

from simplextui.protocol.address import ServerAddress
from simplextui.server.config import ServerConfig
from simplextui.server.memory import keep_freed_memory
from simplextui.server.tls_identity import read_fingerprint

log = logging.getLogger("simplextui.server")
ENDPOINT_FILE = "endpoint.json"


async def serve(config: ServerConfig) -> None:
    from simplextui.server.runner import EmbeddedServer  # heavy: only when serving

    server = EmbeddedServer(config)
    address = await server.start()
    # Everything loaded so far lives as long as the process: keep it out of the cyclic
    # collector's full passes, which otherwise walk all of it again and again under load.
    gc.freeze()
    (config.data_dir / ENDPOINT_FILE).write_text(
        json.dumps({"host": config.host, "port": config.port}))
    print(address, flush=True)  # the first line on stdout is the address
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def run_server(config: ServerConfig) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    keep_freed_memory()  # a process of its own: see server/memory.py
    try:
        try:
            import uvloop
        except ImportError:  # uvloop is optional (no Windows build); asyncio works too
            asyncio.run(serve(config))
        else:
            uvloop.run(serve(config))
    except OSError as exc:
        print(f"simplextui server: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def print_address(data_dir: Path, host: str | None, port: int | None) -> int:
    try:
        fingerprint = read_fingerprint(data_dir)
    except FileNotFoundError:
        print(f"simplextui server: no server identity in {data_dir}; start the server first",
              file=sys.stderr)
        return 1
    endpoint: dict[str, object] = {}
    endpoint_file = data_dir / ENDPOINT_FILE
    if endpoint_file.exists():
        endpoint = json.loads(endpoint_file.read_text())
    final_host = host or str(endpoint.get("host", "127.0.0.1"))
    final_port = port or int(str(endpoint.get("port", 0))) or None
    if final_port is None:
        print("simplextui server: unknown port; pass --port", file=sys.stderr)
        return 1
    print(ServerAddress(fingerprint, final_host, final_port))
    return 0
