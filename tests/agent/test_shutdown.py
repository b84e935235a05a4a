"""Stopping an agent while work is in flight: calls get an answer, nothing keeps running,
and nothing committed is lost."""

from __future__ import annotations

import asyncio
import threading

import pytest

from simplextui.agent import AgentError
from simplextui.server.runner import EmbeddedServer
from tests.agent.conftest import MakePeer, connect, fast_config
from tests.agent.helpers import until

_OURS = ("agent-db", "stream", "https")


def _our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(_OURS)]


async def test_stop_while_the_server_is_down_and_calls_wait(server: EmbeddedServer,
                                                            make_peer: MakePeer) -> None:
    before = set(asyncio.all_tasks())
    # Calls retry for up to 30 s: only stop() can end them early.
    options = {"timeout": 30.0, "backoff_base": 0.3, "backoff_cap": 0.3, "ping_timeout": 10.0}
    alice = await make_peer("alice", [server.address],
                            config=fast_config(client_options=options))
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    await server.stop()
    await alice.a.send(a_conn, b"committed before the stop")
    invitation = asyncio.create_task(alice.a.create_invitation(b"alice"))
    address = asyncio.create_task(alice.a.add_address(kind="g", app_data=b"x"))
    await asyncio.sleep(0.5)  # the first attempts failed; retries wait
    assert not invitation.done() and not address.done()
    async with asyncio.timeout(10):
        await alice.stop()
        await bob.stop()
        for call in (invitation, address):
            with pytest.raises(AgentError, match="unreachable"):
                await call
    await until(lambda: not _our_threads(), step=0.05)
    assert {t for t in asyncio.all_tasks() if not t.done()} - before == set()

    await server.start()
    await alice.start()
    await bob.start()
    assert await bob.wait_bodies(b_conn, 1, timeout=15) == [b"committed before the stop"]
