import asyncio, tempfile, sys, time, resource, os
from simplextui.protocol.address import ServerAddress
from benchmarks.queue_server import end_to_end
async def main():
    d = tempfile.mkdtemp()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "simplextui.cli", "server", "--data-dir", d, "--port", "0", stdout=asyncio.subprocess.PIPE)
    addr = ServerAddress.parse((await proc.stdout.readline()).decode())
    def srv_cpu():
        with open(f"/proc/{proc.pid}/stat") as f: parts=f.read().split()
        return (int(parts[13])+int(parts[14]))/os.sysconf("SC_CLK_TCK")
    N=int(sys.argv[1]); Q=int(sys.argv[2])
    s0=srv_cpu(); c0=time.process_time(); w0=time.perf_counter()
    r = await end_to_end(addr, N, Q, batched=True)
    s1=srv_cpu(); c1=time.process_time(); w1=time.perf_counter()
    print(f"msg/s {r:.0f}; server cpu {(s1-s0)/N*1e6:.0f} us/msg; client cpu {(c1-c0)/N*1e6:.0f} us/msg; wall {w1-w0:.1f}s")
    proc.terminate(); await proc.wait()
asyncio.run(main())
