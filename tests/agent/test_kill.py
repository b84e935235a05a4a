"""A sender killed with SIGKILL in the middle of a stream of messages, then restarted: every
committed message arrives, once, in order (the database units run on the event loop)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from simplextui.agent import MessageReceived
from simplextui.server.runner import EmbeddedServer
from tests.agent.conftest import MakePeer

_ROOT = Path(__file__).resolve().parents[2]


async def test_sender_killed_mid_stream(server: EmbeddedServer, make_peer: MakePeer,
                                        tmp_path: Path) -> None:
    alice = await make_peer("alice", [server.address])
    a_conn, link = await alice.a.create_invitation(b"alice")
    bob_db = tmp_path / "bob.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.agent._sender_child", str(bob_db), str(server.address),
        link, "400", cwd=_ROOT, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(_ROOT)})
    assert proc.stdout is not None
    last = -1
    try:
        async with asyncio.timeout(60):
            while last < 60:
                line = (await proc.stdout.readline()).decode()
                assert line, "the sender exited early"
                if line.startswith("sent "):
                    last = int(line.split()[1])
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up of any kind
        await proc.wait()
    # Messages 0..last were committed (maybe more); restarted, the sender sends the rest of
    # its outbox. Nothing committed is lost, nothing arrives twice, all in order.
    bob = await make_peer("bob", [server.address])
    (b_conn,) = await bob.a.connection_ids()
    await alice.wait(lambda _: len(alice.bodies(a_conn)) > last, timeout=30)
    await asyncio.sleep(0.5)
    bodies = alice.bodies(a_conn)
    assert bodies == [f"m{i}".encode() for i in range(len(bodies))]
    assert all(e.integrity.ok for e in alice.of(MessageReceived))
    await bob.a.send(b_conn, b"after the kill")
    assert (await alice.wait_bodies(a_conn, len(bodies) + 1))[-1] == b"after the kill"
