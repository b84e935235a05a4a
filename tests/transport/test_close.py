"""Closing a client while calls are in flight: every caller gets an answer, nothing is left
running (tasks, threads, sockets)."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings
from collections.abc import Callable

import pytest

from simplextui.server.runner import EmbeddedServer
from simplextui.transport import QueueClient, ServerUnreachable

MakeClient = Callable[..., QueueClient]


async def test_close_fails_calls_waiting_to_be_retried(server: EmbeddedServer,
                                                       make_client: MakeClient) -> None:
    """A command whose request failed waits for its retry; closing the client cancels the
    retry, and must fail the command instead of leaving its caller waiting forever."""
    client = make_client(server.address, timeout=30.0, backoff_base=0.5, backoff_cap=0.5)
    await client.connect()
    await server.stop()
    calls = [asyncio.create_task(client.create_queue()), asyncio.create_task(client.ping())]
    await asyncio.sleep(0.3)  # the first attempt failed; the retry waits 0.25-0.5 s
    assert not any(call.done() for call in calls)
    await client.close()
    async with asyncio.timeout(2):
        for call in calls:
            with pytest.raises(ServerUnreachable, match="closed"):
                await call


async def test_nothing_left_running_after_close(server: EmbeddedServer,
                                                make_client: MakeClient) -> None:
    client = make_client(server.address, on_event=_ignore)
    q = await client.create_queue()
    await client.subscribe([q])
    await asyncio.gather(*(client.ping() for _ in range(20)))
    before = {t for t in asyncio.all_tasks()}
    await server.stop()
    pings = [asyncio.create_task(client.ping()) for _ in range(3)]
    await asyncio.sleep(0.2)
    await client.close()
    async with asyncio.timeout(5):
        await asyncio.gather(*pings, return_exceptions=True)
    for _ in range(100):  # the threads end once their sockets are shut down
        if not [t for t in threading.enumerate() if t.name.startswith(("stream", "https"))]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("transport threads still running 5 s after close")
    left = {t for t in asyncio.all_tasks() if not t.done()} - before
    assert left == set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def _ignore(_event: object) -> None:
    return None
