"""Headless mode: the chat core driven by command lines on stdin, JSON lines on stdout.

Input, one per line: a command of the command language (``@bob hi``, ``/c``) or a JSON object
``{"corrId": "...", "cmd": "..."}``. Output, one JSON object per line, flushed: exactly one
response per command (carrying ``corrId`` when one was given), and events as they happen (no
``corrId``). Every object has a ``type``. EOF on stdin, ``/quit``, SIGINT, SIGTERM or a closed
stdout end the process cleanly. Requests with a corrId for ``/c`` and ``/c LINK`` run in the
background (a server that does not answer holds no later command); everything else runs in
order. See ``docs/api.md``.

Without ``--server`` a queue server runs embedded in the same process on 127.0.0.1, with its data
in ``<data_dir>/server``; the port picked the first time is remembered there, so the links made
with it stay valid after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from simplextui.chat import datalock
from simplextui.chat.commands import CommandError, Connect, CreateInvitation, parse_command
from simplextui.chat.core import ChatCore
from simplextui.chat.errors import ChatError
from simplextui.chat.events import ChatEvent
from simplextui.protocol.address import ServerAddress

if TYPE_CHECKING:
    from simplextui.server.runner import EmbeddedServer

__all__ = ["ENDPOINT_FILE", "Headless", "run_headless", "start_embedded_server"]

log = logging.getLogger("simplextui.headless")
ENDPOINT_FILE = "endpoint.json"  # the same file `simplextui server` writes
MAX_LINE = 64 * 1024  # bytes, without the line end
# of a longer line, the reader keeps this much (to find its corrId); the rest is dropped
KEEP_LINE = 1024 * 1024
READ_CHUNK = 64 * 1024
# how long the end of input waits for commands still running in the background: longer than
# the agent's own network timeouts, so that each normally gets its response
DRAIN_TIMEOUT = 30.0


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
        self.closed = False  # the reader went away (stdout closed): nothing more is written

    def write(self, obj: dict[str, Any]) -> None:
        if self.closed:
            return
        line = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            # A lone surrogate cannot be UTF-8: written as its JSON escape, the line stays
            # valid JSON and the process goes on (instead of failing on one odd character).
            self._stream.write(line.encode("utf-8", "backslashreplace"))
            self._stream.flush()
        except (BrokenPipeError, ValueError) as exc:  # ValueError: a closed stream
            log.info("stdout is closed (%s): stopping", exc)
            self._discard()
            self.closed = True

    def _discard(self) -> None:
        """Point the stream's descriptor at /dev/null, so that the interpreter's own flush
        at exit does not fail on the closed pipe again."""
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """What ``stream`` delivers, as it comes. A real file descriptor is read with
    ``os.read``: a daemon thread blocked inside a buffered reader holds that reader's lock,
    and the interpreter aborts at exit ("could not acquire lock ... at interpreter
    shutdown") when it ends while stdin is still open (after /quit, say)."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        yield from iter(lambda: stream.read(READ_CHUNK), b"")
        return
    while chunk := os.read(fd, READ_CHUNK):
        yield chunk


def _read_lines(stream: BinaryIO, loop: asyncio.AbstractEventLoop,
                queue: asyncio.Queue[bytes | None]) -> None:
    """Blocking reader in a daemon thread (works for pipes, files and terminals alike).

    Lines stay bytes here: one line that is not UTF-8 gets an error of its own instead of
    ending the input (a text stream would fail on it, and on the lines read with it)."""
    buffer = bytearray()
    try:
        for chunk in _chunks(stream):
            start = len(buffer)
            buffer += chunk
            while (end := buffer.find(b"\n", start)) >= 0:
                line = bytes(buffer[:end + 1])
                del buffer[:end + 1]
                start = 0
                loop.call_soon_threadsafe(queue.put_nowait, line)
            # A line far too long is refused anyway: keep only its start (memory stays bounded
            # whatever a client writes), drop the rest up to its line end.
            del buffer[KEEP_LINE + 1:]
        if buffer:  # the last line without its line end
            loop.call_soon_threadsafe(queue.put_nowait, bytes(buffer))
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
        self._background: set[asyncio.Task[None]] = set()  # see ``dispatch``
        self._interrupted = False

    def interrupt(self) -> None:
        """A stop signal: end now, without waiting for commands in the background."""
        self._interrupted = True
        self.stopping.set()

    async def on_event(self, event: ChatEvent) -> None:
        self._write(event.to_json())

    def _write(self, obj: dict[str, Any]) -> None:
        self.output.write(obj)
        if self.output.closed:  # nobody reads any more: end as on EOF
            self.stopping.set()

    async def handle_line(self, raw: str) -> None:
        """Run one input line; write its one response (nothing for a blank line)."""
        request = self._request(raw)
        if request is not None:
            await self._run(*request)

    def _request(self, raw: str) -> tuple[str, object] | None:
        """The command and corrId of one input line; None when there is nothing to run (a
        blank line, or a malformed request, answered here)."""
        line = raw.strip()
        if not line:
            return None
        corr_id: object = None
        if not line.startswith("{"):
            return line, None
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("expected a JSON object")
            corr_id = request.get("corrId")
            if corr_id is not None and not _valid_corr_id(corr_id):
                corr_id = None
                raise ValueError("corrId must be a string or a number")
            command = request.get("cmd")
            if not isinstance(command, str):
                raise ValueError('"cmd" must be a string with a command')
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            self._respond({"type": "error", "error": f"malformed JSON request: {exc}"}, corr_id)
            return None
        return command, corr_id

    async def _run(self, command: str, corr_id: object) -> None:
        response = await self.core.execute(command)
        self._respond(response.to_json(), corr_id)
        if self.core.quit_requested.is_set():
            self.stopping.set()

    def _respond(self, obj: dict[str, Any], corr_id: object) -> None:
        if corr_id is not None:
            obj = {"type": obj["type"], "corrId": corr_id,
                   **{k: v for k, v in obj.items() if k != "type"}}
        self._write(obj)

    def _decode(self, raw: bytes) -> str | None:
        """One input line as read; None (after an error response) if it is too long or not
        UTF-8."""
        body = raw.rstrip(b"\r\n")
        if len(body) > MAX_LINE:
            size = f"{len(body)} bytes" if len(body) <= KEEP_LINE else f"over {KEEP_LINE} bytes"
            self._respond({"type": "error", "error": f"line too long ({size}, at most {MAX_LINE})"},
                          _corr_id_of(body) if len(body) <= KEEP_LINE else None)
            return None
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._respond({"type": "error", "error": f"the line is not valid UTF-8 ({exc.reason} "
                                                     f"at byte {exc.start})"}, None)
            return None

    async def handle_raw(self, raw: bytes) -> None:
        """One input line as read: refuse it if too long or not UTF-8, else run it."""
        line = self._decode(raw)
        if line is not None:
            await self.handle_line(line)

    async def dispatch(self, raw: bytes) -> None:
        """Start one input line: a request with a corrId for a command that waits on the
        network (``/c``, ``/c LINK``) runs in the background, so that a slow or unreachable
        server does not hold the commands after it; its response comes when it is done,
        with its corrId. Everything else runs here, in order (so messages keep their order,
        and lines without a corrId get their responses in the order they were sent)."""
        line = self._decode(raw)
        request = None if line is None else self._request(line)
        if request is None:
            return
        command, corr_id = request
        if corr_id is None or not _network_bound(command):
            await self._run(command, corr_id)
            return
        task = asyncio.get_running_loop().create_task(self._run(command, corr_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait for the commands running in the background (each bounded by the agent's
        own network timeouts); those still running after ``timeout`` are cancelled."""
        if not self._background:
            return
        late = set(self._background)
        if timeout > 0:
            _, late = await asyncio.wait(late, timeout=timeout)
        for task in late:
            task.cancel()
        for task in late:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def serve(self, lines: asyncio.Queue[bytes | None]) -> None:
        """Run input lines until EOF, /quit or a stop signal; then wait for the commands
        still running in the background, so that each gets its response."""
        try:
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
                await self.dispatch(line)
        finally:
            # nobody to answer (stdout closed) or told to stop now: cancel at once
            await self.drain(0 if self._interrupted or self.output.closed else DRAIN_TIMEOUT)


def _network_bound(command: str) -> bool:
    """Whether a command waits on a server before it can answer (and touches no chat that
    later commands could be about): creating or using a link."""
    try:
        parsed = parse_command(command)
    except CommandError:
        return False
    return isinstance(parsed, CreateInvitation | Connect)


def _valid_corr_id(value: object) -> bool:
    """A string or a finite JSON number (true and false are not numbers)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int)


def _corr_id_of(body: bytes) -> object:
    """The corrId of a request refused before it runs (too long), so that a client waiting
    for that corrId gets its answer; None if the line is not a readable JSON request."""
    if not body.lstrip().startswith(b"{"):
        return None
    try:
        request = json.loads(body)
    except ValueError:
        return None
    corr_id = request.get("corrId") if isinstance(request, dict) else None
    return corr_id if _valid_corr_id(corr_id) else None


async def run_headless(data_dir: Path, servers: list[ServerAddress], name: str | None, *,
                       stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    output = Output(stdout or sys.stdout.buffer)
    try:
        # before the embedded server: a second process must not move its port either
        datalock.acquire(data_dir)
    except ChatError as exc:
        output.write({"type": "error", "error": str(exc)})
        return 1
    try:
        return await _run(data_dir, servers, name, output, stdin)
    finally:
        datalock.release(data_dir)


async def _run(data_dir: Path, servers: list[ServerAddress], name: str | None, output: Output,
               stdin: BinaryIO | None) -> int:
    embedded: EmbeddedServer | None = None
    if not servers:
        embedded = await start_embedded_server(data_dir / "server")
        servers = [embedded.address]
    core = ChatCore(data_dir, servers, display_name=name)
    headless = Headless(core, output)
    core.subscribe(headless.on_event)
    loop = asyncio.get_running_loop()
    installed = _install_signals(loop, headless.interrupt)
    try:
        try:
            await core.start()
        except ChatError as exc:
            output.write({"type": "error", "error": str(exc)})
            return 1
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        threading.Thread(target=_read_lines, args=(stdin or sys.stdin.buffer, loop, lines),
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
    if log_level != "debug":  # the schema migrations' chatter is not the client's news
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return asyncio.run(run_headless(data_dir, servers, name))
    except KeyboardInterrupt:
        return 130
