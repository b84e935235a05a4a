"""Headless mode driven as a subprocess: `python -m simplextui.cli headless ...` over pipes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from simplextui.protocol.links import parse_link
from simplextui.server.runner import EmbeddedServer

T = 15.0  # bound of every wait
Obj = dict[str, Any]


class Proc:
    """One headless process: write command lines, wait for JSON objects."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self.name = name
        self.proc = proc
        self.pending: list[Obj] = []  # read, not yet taken
        self.seen: list[Obj] = []
        self._corr = 0

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def wait(self, where: Callable[[Obj], bool], timeout: float = T) -> Obj:
        """Take the first object (already read or coming) for which ``where`` holds."""
        async def find() -> Obj:
            while True:
                for i, obj in enumerate(self.pending):
                    if where(obj):
                        return self.pending.pop(i)
                assert self.proc.stdout is not None
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"{self.name} exited; pending {self.pending}")
                obj = json.loads(raw)  # every line must be one JSON object
                assert isinstance(obj, dict) and "type" in obj, raw
                self.pending.append(obj)
                self.seen.append(obj)

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"{self.name}: nothing matching within {timeout}s; "
                                 f"pending {self.pending}") from None

    async def event(self, type_: str, **fields: Any) -> Obj:
        return await self.wait(lambda o: o["type"] == type_ and "corrId" not in o
                               and all(o.get(k) == v for k, v in fields.items()))

    async def call(self, cmd: str) -> Obj:
        """Send a JSON request with a fresh corrId; its response."""
        self._corr += 1
        corr = f"{self.name}-{self._corr}"
        await self.send(json.dumps({"corrId": corr, "cmd": cmd}))
        return await self.wait(lambda o: o.get("corrId") == corr)

    async def ok(self, cmd: str) -> Obj:
        response = await self.call(cmd)
        assert response["type"] != "error", f"{cmd!r}: {response}"
        return response

    async def close(self) -> int:
        """EOF on stdin: the process must exit cleanly by itself."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return await asyncio.wait_for(self.proc.wait(), T)


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    procs: list[Proc] = []

    async def start(name: str, *args: str, data_dir: Path | None = None,
                    env_extra: dict[str, str] | None = None) -> Proc:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simplextui.cli", "headless",
            "--data-dir", str(data_dir or tmp_path / name), *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, limit=1 << 20)
        proc = Proc(name, process)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.proc.kill()
            await proc.proc.wait()


async def test_two_processes_on_one_server(spawn: Any, server: EmbeddedServer) -> None:
    address = str(server.address)
    alice: Proc = await spawn("alice", "--server", address, "--name", "alice")
    bob: Proc = await spawn("bob", "--server", address, "--name", "bob")
    assert await alice.wait(lambda o: True) == {"type": "ready", "user": "alice"}
    assert await bob.wait(lambda o: True) == {"type": "ready", "user": "bob"}

    link = await alice.ok("/c")
    assert link["type"] == "link" and link["kind"] == "invitation"
    await bob.send(f"/c {link['link']}")  # a plain line: its response has no corrId
    assert (await bob.wait(lambda o: o["type"] == "ok"))["message"].startswith("connecting")
    await alice.event("contact_connected", contact="bob")
    await bob.event("contact_connected", contact="alice")

    sent = await alice.ok("@bob hello from a pipe")
    assert sent["type"] == "sent" and sent["chat"] == "@bob"
    msg = await bob.event("message", msgId=sent["msgId"])
    assert (msg["chat"], msg["from"], msg["text"]) == ("@alice", "alice", "hello from a pipe")
    await alice.event("message_status", msgId=sent["msgId"], status="delivered")

    reply = await bob.ok(f"/reply @alice {sent['msgId']} hi there")
    got = await alice.event("message", msgId=reply["msgId"])
    assert got["quote"]["msgId"] == sent["msgId"]
    await alice.ok(f"/edit @bob {sent['msgId']} hello from a pipe!")
    await bob.event("message_updated", msgId=sent["msgId"], text="hello from a pipe!")
    await bob.ok(f"/react @alice {sent['msgId']} 👍")
    await alice.event("reaction", msgId=sent["msgId"], reaction="👍", add=True)
    await bob.ok(f"/delete @alice {reply['msgId']}")
    await alice.event("message_deleted", msgId=reply["msgId"])
    await bob.ok("/read @alice")
    await alice.event("message_status", msgId=sent["msgId"], status="read")

    contacts = await alice.ok("/contacts")
    assert [c["name"] for c in contacts["contacts"]] == ["bob"]
    history = await bob.ok("/tail @alice")
    assert [(m["from"], m["text"]) for m in history["messages"]] == [
        ("alice", "hello from a pipe!"), ("bob", "")]
    info = await bob.ok("/info @alice")
    assert info["type"] == "info" and info["contact"]["status"] == "connected"
    code = await alice.ok("/code @bob")
    assert code["code"] == (await bob.ok("/code @alice"))["code"]
    assert (await alice.ok("/help"))["type"] == "help"

    bad = await alice.call("/frobnicate")
    assert bad["type"] == "error" and "/help" in bad["error"]
    await alice.send("{broken json")
    err = await alice.wait(lambda o: o["type"] == "error")
    assert "malformed JSON" in err["error"] and "corrId" not in err
    assert (await alice.ok("/p"))["displayName"] == "alice"  # the loop goes on

    assert await alice.close() == 0
    assert await bob.close() == 0


async def test_embedded_server_by_default(spawn: Any, tmp_path: Path) -> None:
    alice: Proc = await spawn("alice", "--name", "alice")
    await alice.event("ready", user="alice")
    link = (await alice.ok("/c"))["link"]
    server = parse_link(link).server
    assert server.host == "127.0.0.1"
    endpoint = json.loads((tmp_path / "alice" / "server" / "endpoint.json").read_text())
    assert endpoint["port"] == server.port

    # bob uses alice's embedded server
    bob: Proc = await spawn("bob", "--server", str(server), "--name", "bob")
    await bob.event("ready", user="bob")
    await bob.ok(f"/c {link}")
    await alice.event("contact_connected", contact="bob")
    await bob.event("contact_connected", contact="alice")

    # alice restarts: same port, the connection still works, nothing is shown twice
    first = await bob.ok("@alice before the restart")
    await alice.event("message", msgId=first["msgId"])
    assert await alice.close() == 0
    queued = await bob.ok("@alice while you were away")
    alice2: Proc = await spawn("alice2", data_dir=tmp_path / "alice")  # no --name: kept
    await alice2.event("ready", user="alice")
    await alice2.event("message", msgId=queued["msgId"], text="while you were away")
    await bob.event("message_status", msgId=queued["msgId"], status="delivered")
    assert [o for o in alice2.pending + alice2.seen
            if o.get("msgId") == first["msgId"] and o["type"] == "message"] == []
    back = await alice2.ok("@bob back")
    await bob.event("message", msgId=back["msgId"])
    assert await alice2.close() == 0
    assert await bob.close() == 0


async def test_first_start_without_name_fails_clearly(spawn: Any,
                                                      server: EmbeddedServer) -> None:
    proc: Proc = await spawn("nobody", "--server", str(server.address))
    err = await proc.wait(lambda o: True)
    assert err["type"] == "error" and "--name" in err["error"]
    assert await asyncio.wait_for(proc.proc.wait(), T) == 1


async def test_quit_and_sigterm_end_cleanly(spawn: Any, server: EmbeddedServer) -> None:
    address = str(server.address)
    first: Proc = await spawn("first", "--server", address, "--name", "first")
    await first.event("ready", user="first")
    assert (await first.ok("/quit"))["type"] == "ok"
    assert await asyncio.wait_for(first.proc.wait(), T) == 0

    second: Proc = await spawn("second", "--server", address, "--name", "second")
    await second.event("ready", user="second")
    second.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.proc.wait(), T) == 0


async def test_a_line_not_utf8_does_not_end_the_session(spawn: Any,
                                                        server: EmbeddedServer) -> None:
    """With a strict stdin encoding (PYTHONIOENCODING=utf-8, as under most UTF-8 locales),
    one bad byte used to end the input, and the lines read with it went unanswered."""
    proc: Proc = await spawn("alice", "--server", str(server.address), "--name", "alice",
                             env_extra={"PYTHONIOENCODING": "utf-8"})
    await proc.event("ready", user="alice")
    assert proc.proc.stdin is not None
    proc.proc.stdin.write(b"/p\n/bio caf\xe9\n/p\n")
    await proc.proc.stdin.drain()
    first = await proc.wait(lambda o: True)
    assert first["type"] == "profile"
    bad = await proc.wait(lambda o: True)
    assert bad["type"] == "error" and "UTF-8" in bad["error"]
    again = await proc.wait(lambda o: True)
    assert again["type"] == "profile" and again["bio"] == ""
    assert await proc.close() == 0


async def test_a_second_client_on_the_same_data_dir_refuses_to_start(
        spawn: Any, tmp_path: Path) -> None:
    """Two processes on one data directory would steal each other's queues (and move the
    embedded server's port): the second one says so and exits, the first goes on."""
    alice: Proc = await spawn("alice", "--name", "alice")
    await alice.event("ready", user="alice")
    endpoint = (tmp_path / "alice" / "server" / "endpoint.json").read_text()
    second: Proc = await spawn("second", data_dir=tmp_path / "alice")
    err = await second.wait(lambda o: True)
    assert err["type"] == "error" and "another simplextui client" in err["error"]
    assert await asyncio.wait_for(second.proc.wait(), T) == 1
    assert (tmp_path / "alice" / "server" / "endpoint.json").read_text() == endpoint
    assert (await alice.ok("/c"))["type"] == "link"
    assert await alice.close() == 0
    again: Proc = await spawn("again", data_dir=tmp_path / "alice")  # free once it ended
    await again.event("ready", user="alice")
    assert await again.close() == 0


async def test_a_closed_stdout_ends_the_process_cleanly(spawn: Any,
                                                        server: EmbeddedServer) -> None:
    """The reader of the output went away (``| head -1``): no traceback, no abort."""
    proc: Proc = await spawn("alice", "--server", str(server.address), "--name", "alice")
    await proc.event("ready", user="alice")
    transport = proc.proc._transport  # type: ignore[attr-defined]
    transport.get_pipe_transport(1).close()  # our end of its stdout
    await proc.send("/p")
    await proc.send("/p")
    assert await asyncio.wait_for(proc.proc.wait(), T) == 0
    assert proc.proc.stderr is not None
    stderr = (await proc.proc.stderr.read()).decode()
    assert "Traceback" not in stderr and "Fatal" not in stderr, stderr


async def test_info_logs_are_the_clients_own(spawn: Any, server: EmbeddedServer) -> None:
    """``--log-level info`` used to open with a dozen lines of schema-migration chatter."""
    proc: Proc = await spawn("alice", "--server", str(server.address), "--name", "alice",
                             "--log-level", "info")
    await proc.event("ready", user="alice")
    assert await proc.close() == 0
    assert proc.proc.stderr is not None
    stderr = (await proc.proc.stderr.read()).decode()
    assert "alembic" not in stderr, stderr
