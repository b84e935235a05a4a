"""Headless mode: the chat core driven by command lines on stdin, JSON lines on stdout.

Input, one per line: a command of the command language (``@bob hi``, ``/c``) or a JSON object
``{"corrId": "...", "cmd": "..."}``. Output, one JSON object per line, flushed: exactly one
response per command (carrying ``corrId`` when one was given), and events as they happen (no
``corrId``). Every object has a ``type``. EOF on stdin, ``/quit``, SIGINT or SIGTERM end the
process cleanly. See ``docs/api.md``.

Without ``--server`` a queue server runs embedded in the same process on 127.0.0.1, with its data
in ``<data_dir>/server``; the port picked the first time is remembered there, so the links made
with it stay valid after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from simplextui.chat.core import ChatCore
from simplextui.chat.errors import ChatError
from simplextui.chat.events import ChatEvent
from simplextui.protocol.address import ServerAddress

if TYPE_CHECKING:
    from simplextui.server.runner import EmbeddedServer

__all__ = ["ENDPOINT_FILE", "Headless", "run_headless", "start_embedded_server"]

log = logging.getLogger("simplextui.headless")
ENDPOINT_FILE = "endpoint.json"  # the same file `simplextui server` writes
MAX_LINE = 64 * 1024


async def start_embedded_server(data_dir: Path, host: str = "127.0.0.1") -> EmbeddedServer:
    """Start the embedded server, on the port it had last time (or a free one the first)."""
    from simplextui.server.runner import EmbeddedServer, ServerConfig  # only when embedded

    endpoint = data_dir / ENDPOINT_FILE
    port = 0
    if endpoint.exists():
        try:
            port = int(json.loads(endpoint.read_text())["port"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", endpoint, exc)
    server = EmbeddedServer(ServerConfig(data_dir=data_dir, host=host, port=port))
    try:
        await server.start()
    except OSError as exc:
        if port == 0:
            raise
        log.warning("port %d is taken (%s): using a new one; links made before will not "
                    "work", port, exc)
        server = EmbeddedServer(ServerConfig(data_dir=data_dir, host=host, port=0))
        await server.start()
    endpoint.write_text(json.dumps({"host": host, "port": server.config.port}))
    return server


class Output:
    """Writes one JSON object per line and flushes it (from the event loop thread only)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._stream.write(line.encode("utf-8"))
        self._stream.flush()


def _read_lines(stream: TextIO, loop: asyncio.AbstractEventLoop,
                queue: asyncio.Queue[str | None]) -> None:
    """Blocking reader in a daemon thread (works for pipes, files and terminals alike)."""
    try:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line)
    except (OSError, ValueError) as exc:
        log.warning("stdin failed: %s", exc)
    finally:
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(queue.put_nowait, None)


class Headless:
    def __init__(self, core: ChatCore, output: Output) -> None:
        self.core = core
        self.output = output
        self.stopping = asyncio.Event()

    async def on_event(self, event: ChatEvent) -> None:
        self.output.write(event.to_json())

    async def handle_line(self, raw: str) -> None:
        """Run one input line; write its one response (nothing for a blank line)."""
        line = raw.strip()
        if not line:
            return
        corr_id: object = None
        if line.startswith("{"):
            try:
                request = json.loads(line)
                if not isinstance(request, dict):
                    raise ValueError("expected a JSON object")
                corr_id = request.get("corrId")
                if corr_id is not None and not isinstance(corr_id, str | int):
                    corr_id = None
                    raise ValueError("corrId must be a string or a number")
                command = request.get("cmd")
                if not isinstance(command, str):
                    raise ValueError('"cmd" must be a string with a command')
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                self._respond({"type": "error", "error": f"malformed JSON request: {exc}"},
                              corr_id)
                return
        else:
            command = line
        response = await self.core.execute(command)
        self._respond(response.to_json(), corr_id)
        if self.core.quit_requested.is_set():
            self.stopping.set()

    def _respond(self, obj: dict[str, Any], corr_id: object) -> None:
        if corr_id is not None:
            obj = {"type": obj["type"], "corrId": corr_id,
                   **{k: v for k, v in obj.items() if k != "type"}}
        self.output.write(obj)

    async def serve(self, lines: asyncio.Queue[str | None]) -> None:
        """Run input lines in order until EOF, /quit or a stop signal."""
        while not self.stopping.is_set():
            get = asyncio.ensure_future(lines.get())
            stop = asyncio.ensure_future(self.stopping.wait())
            done, _ = await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if get not in done:
                get.cancel()
                return
            line = get.result()
            if line is None:
                return
            if len(line) > MAX_LINE:
                self._respond({"type": "error", "error": "line too long"}, None)
                continue
            await self.handle_line(line)


async def run_headless(data_dir: Path, servers: list[ServerAddress], name: str | None, *,
                       stdin: TextIO | None = None, stdout: BinaryIO | None = None) -> int:
    output = Output(stdout or sys.stdout.buffer)
    embedded: EmbeddedServer | None = None
    if not servers:
        embedded = await start_embedded_server(data_dir / "server")
        servers = [embedded.address]
    core = ChatCore(data_dir, servers, display_name=name)
    headless = Headless(core, output)
    core.subscribe(headless.on_event)
    loop = asyncio.get_running_loop()
    installed = _install_signals(loop, headless.stopping.set)
    try:
        try:
            await core.start()
        except ChatError as exc:
            output.write({"type": "error", "error": str(exc)})
            return 1
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=_read_lines, args=(stdin or sys.stdin, loop, lines),
                         name="headless-stdin", daemon=True).start()
        await headless.serve(lines)
        return 0
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await core.stop()
        if embedded is not None:
            await embedded.stop()


def _install_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]
                     ) -> list[signal.Signals]:
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    return installed


def main(data_dir: Path, servers: list[ServerAddress], name: str | None,
         log_level: str = "warning") -> int:
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run_headless(data_dir, servers, name))
    except KeyboardInterrupt:
        return 130
