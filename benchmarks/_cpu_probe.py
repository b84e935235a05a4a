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


def process_cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


async def main(messages: int, queues: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "simplextui.cli", "server", "--data-dir", data_dir,
            "--port", "0", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert proc.stdout is not None
        address = ServerAddress.parse((await proc.stdout.readline()).decode())
        try:
            server_0, client_0 = process_cpu_seconds(proc.pid), os.times()
            wall_0 = time.perf_counter()
            rate = await end_to_end(address, messages, queues, batched=True)
            wall = time.perf_counter() - wall_0
            server_1, client_1 = process_cpu_seconds(proc.pid), os.times()
        finally:
            proc.terminate()
            await proc.wait()
    per = 1e6 / messages
    s_user, s_sys = (server_1[0] - server_0[0]) * per, (server_1[1] - server_0[1]) * per
    c_user, c_sys = (client_1.user - client_0.user) * per, (client_1.system - client_0.system) * per
    print(f"msg/s {rate:,.0f}; server cpu {s_user + s_sys:.0f} us/msg ({s_user:.0f} user, "
          f"{s_sys:.0f} sys); client cpu {c_user + c_sys:.0f} us/msg ({c_user:.0f} user, "
          f"{c_sys:.0f} sys); wall {wall:.1f}s")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    width = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    asyncio.run(main(count, width))
