"""A sender agent in its own process, for tests/agent/test_kill.py (killed with SIGKILL).

    python -m tests.agent._sender_child DB_PATH SERVER LINK COUNT

Joins LINK, waits until connected, then sends COUNT numbered messages one by one, printing
``sent N`` after each commit, and waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from simplextui.agent import Agent, AgentEvent, Connected
from simplextui.protocol.address import ServerAddress
from simplextui.store.db import open_database
from tests.agent.conftest import fast_config


async def main(path: str, server: str, link: str, count: int) -> None:
    db = await open_database(Path(path), create_all=True)
    connected = asyncio.Event()

    async def on_event(event: AgentEvent) -> None:
        if isinstance(event, Connected):
            connected.set()

    agent = Agent(db, [ServerAddress.parse(server)], on_event=on_event, config=fast_config())
    await agent.start()
    conn_id = await agent.join(link, b"child")
    print(f"conn {conn_id}", flush=True)
    await asyncio.wait_for(connected.wait(), 20)
    for i in range(count):
        await agent.send(conn_id, f"m{i}".encode())
        print(f"sent {i}", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
