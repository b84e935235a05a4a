"""Lightweight groups: time for 20 members to connect, bytes a sender sends per message.

    python -m benchmarks.groups [--members 20] [--sizes 10,20,50] [--messages 3]

Real chat cores (each with its own agent and SQLite file) in this process, one queue server in
its own process over TLS on 127.0.0.1.

(a) Time until a group of ``--members`` is fully connected (every member saw
``member_connected`` for every other one), the owner inviting one by one (each invitee joins,
the next is invited once the owner saw it connected to all) and all at once (every invitation
sent, every invitee joining as soon as it gets it). Baseline, measured in the same run: the
owner connecting to the same ``members - 1`` people as plain contacts, all at once. Wall-clock
and CPU seconds (this process, where every agent runs, plus the queue server's process) are
both reported: CPU is the work done, which a loaded machine stretches far less.

(b) Bytes that leave the sender's transport per group message (TLS records written to its
sockets, counted in ``TlsSocket``: HTTP, batching and padding included), against one direct-chat
message measured the same way. A sender's cost depends only on its own member connections, so
for each size the sender is the owner of a *star* group: connected to every other member, the
members not introduced to each other (a full mesh of 50 agents would take long to build here
and would not change what the sender sends). The full mesh of (a) is measured too, from a
non-owner member, as a check that the star gives the same figure.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks._procs import queue_server_process
from simplextui.chat.core import ChatCore
from simplextui.chat.events import (
    ChatEvent,
    ContactConnected,
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MessageReceived,
)
from simplextui.chat.responses import ErrorResponse, LinkResponse, SentResponse
from simplextui.protocol.address import ServerAddress
from simplextui.transport import tlsio

WAIT = 300.0  # bound of every wait
TEXT = "hello group, " + "x" * 87  # a 100-character message


# --- bytes on the wire ----------------------------------------------------------------------------


class WireCounter:
    """Bytes written to TLS sockets, per SSL context: every queue client pins its own context
    (:class:`simplextui.transport.connection.ServerConnection`), so the context tells whose
    client wrote. Hooks ``TlsSocket._flush``, the one place ciphertext goes to the socket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[int, int] = defaultdict(int)
        self._original: Callable[[tlsio.TlsSocket], None] | None = None

    def install(self) -> None:
        original = self._original = tlsio.TlsSocket._flush
        counter = self

        def flush(sock: tlsio.TlsSocket) -> None:
            pending = sock._outgoing.pending
            original(sock)
            if pending:
                with counter._lock:
                    counter._sent[id(sock._tls.context)] += pending

        tlsio.TlsSocket._flush = flush  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        if self._original is not None:
            tlsio.TlsSocket._flush = self._original  # type: ignore[method-assign,assignment]

    def sent_by(self, core: ChatCore) -> int:
        contexts = [client._conn._context  # type: ignore[attr-defined]
                    for client in core.agent._ctx.pool.clients.values()]  # type: ignore[attr-defined]
        with self._lock:
            return sum(self._sent[id(c)] for c in contexts if c is not None)


# --- CPU time -----------------------------------------------------------------------------------


_children: list[Path] = []  # /proc/<pid>/stat of this process's children, found once


def _find_children() -> list[Path]:
    """The stat files of this process's child processes (the queue server)."""
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # ppid
            found.append(stat)
    return found


def _children_cpu() -> float:
    """CPU seconds of this process's child processes (the queue server), from /proc. The
    children are looked up once: scanning /proc on every call cost more CPU than ``settle``
    allows for idle, so a settle could wait for its own measuring."""
    if not _children:
        _children.extend(_find_children())
    total = 0.0
    for stat in _children:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited: look again next time
            _children.clear()
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    return total


def cpu_now() -> float:
    """CPU seconds used so far by this process (every agent) and by the queue server: the
    work done, which a loaded machine stretches far less than wall-clock time."""
    return time.process_time() + _children_cpu()


class Clock:
    """Wall-clock and CPU seconds of one step."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = cpu_now()

    def done(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, cpu_now() - self.cpu


# --- users ----------------------------------------------------------------------------------------


class User:
    """A chat core and what it has seen (events are kept in sets, as they arrive)."""

    def __init__(self, core: ChatCore) -> None:
        self.core = core
        self.name = core.display_name or ""
        self.connected: dict[str, set[str]] = defaultdict(set)  # group -> member names
        self.connected_all: dict[str, set[str]] = defaultdict(set)
        self.connected_events: dict[str, int] = defaultdict(int)  # duplicates would show here
        self.invitations: set[str] = set()
        self.contacts: set[str] = set()
        self.received: set[str] = set()  # msg ids
        self._changed = asyncio.Event()
        core.subscribe(self.on_event)

    async def on_event(self, event: ChatEvent) -> None:
        if isinstance(event, MemberConnectedEvent):
            self.connected[event.group].add(event.member)
            self.connected_events[event.group] += 1
        elif isinstance(event, MemberConnectedAll):
            self.connected_all[event.group].add(event.member)
        elif isinstance(event, GroupInvitationReceived):
            self.invitations.add(event.group)
        elif isinstance(event, ContactConnected):
            self.contacts.add(event.display_name)
        elif isinstance(event, MessageReceived):
            self.received.add(event.msg_id)
        else:
            return
        self._changed.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async def loop() -> None:
            while not done():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), WAIT)

    async def run(self, line: str) -> Any:
        response = await self.core.execute(line)
        if isinstance(response, ErrorResponse):
            raise RuntimeError(f"{self.name}: {line!r}: {response.error}")
        return response


async def start_users(tmp: Path, server: ServerAddress, names: list[str]) -> list[User]:
    cores = [ChatCore(tmp / name, [server], display_name=name) for name in names]
    users = [User(core) for core in cores]
    for core in cores:  # one at a time: migrations run through alembic's global context
        await asyncio.wait_for(core.start(), WAIT)
    return users


async def connect_contacts(owner: User, others: list[User]) -> None:
    """Owner and ``others`` become contacts, all at once."""
    links = [await owner.run("/c") for _ in others]

    async def join(user: User, link: LinkResponse) -> None:
        await user.run(f"/c {link.link}")
        await user.until(lambda: owner.name in user.contacts)

    await asyncio.gather(*(join(u, link) for u, link in zip(others, links, strict=True)))
    await owner.until(lambda: all(u.name in owner.contacts for u in others))


async def invite(owner: User, user: User, group: str) -> None:
    await owner.run(f"/a {group} {user.name}")
    await user.until(lambda: group in user.invitations)
    await user.run(f"/j {group}")


async def mesh_one_by_one(owner: User, others: list[User], group: str) -> None:
    await owner.run(f"/g {group}")
    for user in others:
        await invite(owner, user, group)
        await owner.until(lambda u=user: u.name in owner.connected_all[group])  # type: ignore[misc]
    await full_mesh(owner, others, group)


async def mesh_all_at_once(owner: User, others: list[User], group: str) -> None:
    await owner.run(f"/g {group}")
    await asyncio.gather(*(invite(owner, user, group) for user in others))
    await full_mesh(owner, others, group)


async def full_mesh(owner: User, others: list[User], group: str) -> None:
    everyone = [owner, *others]
    for user in everyone:
        names = {u.name for u in everyone if u is not user}
        await user.until(lambda u=user, n=names: n <= u.connected[group])  # type: ignore[misc]


async def star(owner: User, others: list[User], group: str) -> None:
    """A group where only the owner is connected to the members: it introduces no one."""

    async def no_introductions(*_: object, **__: object) -> None:
        return None

    groups: Any = owner.core._inbound.groups  # type: ignore[union-attr]
    if not hasattr(groups, "_introduce"):  # fail loudly rather than build a slow full mesh
        raise RuntimeError("GroupInbound._introduce is gone: update benchmarks/groups.py star()")
    introduce = groups._introduce
    groups._introduce = no_introductions
    try:
        await owner.run(f"/g {group}")
        await asyncio.gather(*(invite(owner, user, group) for user in others))
        await owner.until(lambda: {u.name for u in others} <= owner.connected[group])
    finally:
        groups._introduce = introduce


# --- bytes per message ----------------------------------------------------------------------------


async def quiet(wire: WireCounter, core: ChatCore, still: float = 0.5) -> None:
    """Wait until ``core`` wrote nothing for ``still`` seconds (earlier traffic settled)."""
    deadline = time.monotonic() + WAIT
    last = wire.sent_by(core)
    while time.monotonic() < deadline:
        await asyncio.sleep(still)
        now = wire.sent_by(core)
        if now == last:
            return
        last = now
    raise TimeoutError("the sender never went quiet")


async def bytes_per_message(wire: WireCounter, sender: User, receivers: list[User],
                            chat: str, messages: int) -> tuple[float, float]:
    """Mean bytes the sender wrote per message: until every receiver had it, and in all
    (with the acknowledgements of the delivery receipts that come back)."""
    delivered = total = 0
    for _ in range(messages):
        await quiet(wire, sender.core)
        before = wire.sent_by(sender.core)
        sent = await sender.run(f"{chat} {TEXT}")
        assert isinstance(sent, SentResponse)
        for user in receivers:
            await user.until(lambda u=user, m=sent.msg_id: m in u.received)  # type: ignore[misc]
        delivered += wire.sent_by(sender.core) - before
        await quiet(wire, sender.core)
        total += wire.sent_by(sender.core) - before
    return delivered / messages, total / messages


# --- the run --------------------------------------------------------------------------------------


class Step:
    """Seconds of one step: until its goal was reached, and until the work it started stopped
    (``settled``: e.g. members still reporting connections to the inviter)."""

    def __init__(self, wall: float, cpu: float, settled_wall: float, settled_cpu: float) -> None:
        self.wall, self.cpu = wall, cpu
        self.settled_wall, self.settled_cpu = settled_wall, settled_cpu


async def settle(still: float = 0.5, idle_cpu: float = 0.02) -> None:
    """Wait until less than ``idle_cpu`` CPU seconds were used over ``still`` seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        before = cpu_now()
        await asyncio.sleep(still)
        if cpu_now() - before < idle_cpu:
            return
    raise TimeoutError("the agents never went idle")


async def timed(what: str, step: Awaitable[None]) -> Step:
    print(f"  {what}…", end="", flush=True)
    clock = Clock()
    await step
    wall, cpu = clock.done()
    await settle()
    settled_wall, settled_cpu = clock.done()
    print(f" {wall:.1f} s, {cpu:.1f} s CPU (settled: {settled_wall:.1f} s, "
          f"{settled_cpu:.1f} s CPU)", flush=True)
    return Step(wall, cpu, settled_wall, settled_cpu)


async def run(tmp: Path, server: ServerAddress, members: int, sizes: list[int],
              messages: int, all_at_once: bool) -> None:
    wire = WireCounter()
    wire.install()
    biggest = max(members, *sizes)
    names = [f"u{i:02d}" for i in range(biggest)]
    started = time.perf_counter()
    users = await start_users(tmp, server, names)
    owner, others = users[0], users[1:]
    print(f"started {len(users)} chat cores in {time.perf_counter() - started:.1f} s", flush=True)
    try:
        crew = others[: members - 1]
        pairs = members * (members - 1) // 2
        t_contacts = await timed(f"{members - 1} contacts", connect_contacts(owner, crew))
        t_seq = await timed("group, one by one", mesh_one_by_one(owner, crew, "seq"))
        t_all: Step | None = None
        if all_at_once:
            t_all = await timed("group, all at once", mesh_all_at_once(owner, crew, "all"))
        rest = others[members - 1:]
        if rest:
            await timed(f"{len(rest)} more contacts (for the bigger stars)",
                        connect_contacts(owner, rest))
        for size in sizes:
            await timed(f"star group of {size}", star(owner, others[: size - 1], f"star{size}"))

        direct = await bytes_per_message(wire, owner, [others[0]], f"@{others[0].name}",
                                         messages)
        rows = []
        for size in sizes:
            row = await bytes_per_message(wire, owner, others[: size - 1], f"#star{size}",
                                          messages)
            rows.append((f"star {size} (owner -> {size - 1})", row))
        mesh_sender = crew[-1]
        mesh_receivers = [u for u in [owner, *crew] if u is not mesh_sender]
        rows.append((f"full mesh {members} (member -> {members - 1})",
                     await bytes_per_message(wire, mesh_sender, mesh_receivers, "#seq",
                                             messages)))
    finally:
        wire.uninstall()
        await asyncio.gather(*(asyncio.wait_for(u.core.stop(), 60) for u in users),
                             return_exceptions=True)

    print()
    print(f"(a) group of {members}: {pairs} member connections, every member connected to "
          f"every other")
    for group, t in (("seq", t_seq), ("all", t_all)):
        if t is not None:
            seen = sum(u.connected_events[group] for u in [owner, *crew])
            print(f"  #{group}: {seen} member_connected events ({2 * pairs} expected: 2 per "
                  f"connection)")
    print("  CPU: this process (all agents) + the queue server process; per conn: the settled "
          "CPU ratio\n  divided by the number of connections made (group vs baseline)")
    print(f"  {'':<44} {'until every member saw every other':^30}   {'until settled':^30}")
    print(f"  {'':<44} {'wall s':>7} {'ratio':>6} {'CPU s':>7} {'ratio':>6}   {'wall s':>7} "
          f"{'CPU s':>7} {'ratio':>6} {'per conn':>8}")
    rows_a = [(f"baseline: owner + {members - 1} plain contacts, at once", t_contacts, 1.0),
              ("group, invited one by one", t_seq, pairs / (members - 1))]
    if t_all is not None:
        rows_a.append(("group, invited all at once", t_all, pairs / (members - 1)))
    base = t_contacts
    for label, t, conns in rows_a:  # conns: connections per baseline connection
        settled_ratio = t.settled_cpu / base.settled_cpu
        print(f"  {label:<44} {t.wall:>7.1f} {t.wall / base.wall:>6.1f} {t.cpu:>7.1f} "
              f"{t.cpu / base.cpu:>6.1f}   {t.settled_wall:>7.1f} {t.settled_cpu:>7.1f} "
              f"{settled_ratio:>6.1f} {settled_ratio / conns:>8.1f}")
    print()
    print(f"(b) bytes leaving the sender's transport per message ({len(TEXT)}-char text, "
          f"mean of {messages})")
    print(f"  {'chat':<32} {'until delivered':>16} {'ratio':>7} {'with receipt acks':>18} "
          f"{'ratio':>7}")
    print(f"  {'direct (1 contact)':<32} {direct[0]:>16,.0f} {1:>7.1f} {direct[1]:>18,.0f} "
          f"{1:>7.1f}")
    for label, (delivered, total) in rows:
        print(f"  {label:<32} {delivered:>16,.0f} {delivered / direct[0]:>7.1f} "
              f"{total:>18,.0f} {total / direct[1]:>7.1f}")
    print()
    print("star: the sender is connected to every other member, the members are not introduced "
          "to each other;\nthe sender's bytes depend only on its own connections (the full-mesh "
          "row checks this).")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--sizes", default="10,20,50")
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument("--no-all-at-once", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.members < 2 or min(sizes) < 2:
        parser.error("groups need at least 2 members")
    logging.basicConfig(level=logging.ERROR)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        async with queue_server_process(tmp / "server") as server:
            await run(tmp, server, args.members, sizes, args.messages, not args.no_all_at_once)
    print(f"total run time {time.perf_counter() - began:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    asyncio.run(main())
