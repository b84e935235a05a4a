"""CPU time per message in the server process and in the client process.

    PYTHONPATH=. python benchmarks/_cpu_probe.py [MESSAGES] [QUEUES]

Wall-clock rates swing with whatever else the machine runs; CPU seconds per message do not,
so this is the figure to optimise against. The server runs in its own process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

from benchmarks.queue_server import end_to_end
from simplextui.protocol.address import ServerAddress


def process_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(messages: int, queues: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simplextui.cli", "server", "--data-dir", data_dir,
            "--port", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert proc.stdout is not None
        address = ServerAddress.parse((await proc.stdout.readline()).decode())
        try:
            server_0, client_0 = process_cpu_seconds(proc.pid), time.process_time()
            wall_0 = time.perf_counter()
            rate = await end_to_end(address, messages, queues, batched=True)
            wall = time.perf_counter() - wall_0
            server = process_cpu_seconds(proc.pid) - server_0
            client = time.process_time() - client_0
        finally:
            proc.terminate()
            await proc.wait()
    print(f"msg/s {rate:,.0f}; server cpu {server / messages * 1e6:.0f} us/msg; "
          f"client cpu {client / messages * 1e6:.0f} us/msg; wall {wall:.1f}s")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    width = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    asyncio.run(main(count, width))
