"""Building groups in tests: create, invite contacts, wait until members are connected; send
events past the commands (a modified client) and probe that earlier traffic was processed."""

from __future__ import annotations

import asyncio
from typing import Any

from simplextui.chat.events import (
    GroupInvitationReceived,
    MemberConnectedAll,
    MemberConnectedEvent,
    MessageReceived,
)
from simplextui.chat.groups import store as gq
from simplextui.protocol.chat_events import ChatEvent
from simplextui.protocol.group_events import GroupEvent
from tests.chat.helpers import Pair, connect, ok

T = 20.0  # every wait is bounded
MESH_WAIT = 60.0  # bound of each wait while a bigger group settles (2 shared cores)
TEAM = ("alice", "bob", "carol", "dave")


async def invite_and_accept(owner: Pair, member: Pair, group: str, role: str = "member") -> None:
    """``owner`` invites its contact ``member`` (already connected) and ``member`` runs ``/j``;
    returns without waiting for any connection."""
    await ok(owner[0], f"/a {group} {member[0].user_name} {role}")
    inv = await member[1].wait(GroupInvitationReceived, T, group=group)
    assert inv.from_ == owner[0].user_name and inv.role == role
    await ok(member[0], f"/j {group}")


async def invite_and_join(owner: Pair, member: Pair, group: str, role: str = "member") -> None:
    """:func:`invite_and_accept`, then until ``owner`` saw the new member connected to every
    other member."""
    await invite_and_accept(owner, member, group, role)
    await member[1].wait(MemberConnectedEvent, T, group=group, member=owner[0].user_name)
    await owner[1].wait(MemberConnectedAll, T, group=group, member=member[0].user_name)


async def build_group(users: list[Pair], group: str = "team") -> None:
    """users[0] creates ``group``, connects to every other user and adds them one by one."""
    owner = users[0]
    await ok(owner[0], f"/g {group}")
    for user in users[1:]:
        await connect(owner, user, T)
        await invite_and_join(owner, user, group)


async def wait_mesh(users: list[Pair], group: str = "team") -> None:
    """Every user saw ``member_connected`` for every other one."""
    names = [core.user_name for core, _ in users]
    for core, rec in users:
        seen = {e.member for e in rec.of(MemberConnectedEvent) if e.group == group}
        for other in names:
            if other != core.user_name and other not in seen:
                await rec.wait(MemberConnectedEvent, MESH_WAIT, group=group, member=other)


async def team(make_user: Any) -> list[Pair]:
    """alice (owner), bob, carol and dave, all members of #team, every pair connected."""
    users = [await make_user(n) for n in TEAM]
    await build_group(users)
    await wait_mesh(users)
    return users


async def member_id(user: Pair, name: str, group: str = "team") -> str:
    """The group-wide member id of ``name`` (this user's own if it is its name)."""
    async with user[0].db.session() as s:
        g = await gq.by_name(s, group)
        assert g is not None
        if name == user[0].user_name:
            return g.member_id
        m = await gq.member_by_name(s, g.id, name)
        assert m is not None
        return m.member_id


async def forge(user: Pair, *events: ChatEvent | GroupEvent, group: str = "team") -> None:
    """Send ``events`` to every member connection of ``user``, bypassing the commands."""
    core = user[0]
    async with core.db.session() as s:
        g = await gq.by_name(s, group)
        assert g is not None
        conns = [m.conn_id for m in await gq.connected_members(s, g.id)]
    assert conns
    ctx: Any = core._inbound.ctx  # type: ignore[union-attr]
    for conn in conns:
        assert conn is not None
        for event in events:
            await ctx.send_event(conn, event)


async def probe(sender: Pair, receivers: list[Pair], text: str = "probe",
                group: str = "team", timeout: float = MESH_WAIT) -> str:
    """``sender`` sends a message and every receiver gets it: what ``sender`` sent before on
    the same connections was processed first (each connection delivers in order). Returns
    the probe's message id."""
    r = await ok(sender[0], f"#{group} {text}")
    for _, rec in receivers:
        await rec.wait(MessageReceived, timeout, msg_id=r.msg_id)
    return str(r.msg_id)


def roles(members: Any) -> dict[str, str]:
    """name -> role from a ``/ms`` response."""
    return {m.name: m.role for m in members.members}


def spy_authored(user: Pair) -> list[tuple[str, str, bool]]:
    """Record (author, msg id, forwarded) for each event ``user`` gets authored by a member,
    directly or forwarded, before it is handled as usual (duplicates included)."""
    seen: list[tuple[str, str, bool]] = []
    groups: Any = user[0]._inbound.groups  # type: ignore[union-attr]
    handle = groups._authored

    async def spy(group: Any, author: Any, message: Any, ts: int, forwarded: bool,
                  out: Any, sent: Any = None) -> None:
        seen.append((author.local_name, message.msg_id, forwarded))
        await handle(group, author, message, ts, forwarded, out, sent)

    groups._authored = spy
    return seen


def hold_forwards(users: list[Pair], needed: int) -> list[asyncio.Task[Any]]:
    """Hold every forwarded member invitation at ``users`` (the existing member's side of an
    introduction) until ``needed`` of them arrived: two admins then ran their introductions
    before either got connected to the other's invitee, the race exactly."""
    release = asyncio.Event()
    arrived = 0
    tasks: list[asyncio.Task[Any]] = []
    for core, _ in users:
        groups: Any = core._inbound.groups  # type: ignore[union-attr]
        original = groups._member_forward

        def held(group: Any, sender: Any, event: Any, _orig: Any = original) -> Any:
            nonlocal arrived
            arrived += 1
            if arrived >= needed:
                release.set()

            async def later() -> None:
                await asyncio.wait_for(release.wait(), T)
                await _orig(group, sender, event)
            tasks.append(asyncio.get_running_loop().create_task(later()))
            return _done()
        groups._member_forward = held
    return tasks


async def _done() -> None:
    return None


async def nothing() -> None:
    """An awaitable that does nothing (what a held handler returns to its caller)."""
    return None


async def tail_by_id(user: Pair, chat: str = "#team", count: int = 50) -> dict[str, Any]:
    """The chat's last ``count`` messages as ``user`` sees them, by message id."""
    return {m.msg_id: m for m in (await ok(user[0], f"/tail {chat} {count}")).messages}


async def send_unsent(user: Pair, text: str, group: str = "team") -> Any:
    """``user`` sends ``#group text`` but its agent never takes it (it refuses, as a process
    ending between the commit and the outbox would leave it); the item, still pending."""
    ctx: Any = user[0]._inbound.ctx  # type: ignore[union-attr]

    async def crashed(items: Any, **_: Any) -> list[int]:
        raise RuntimeError("the process ends here")

    real = ctx.agent.send_many
    ctx.agent.send_many = crashed
    try:
        await user[0].execute(f"#{group} {text}")
    finally:
        ctx.agent.send_many = real
    lost = (await ok(user[0], f"/tail #{group} 1")).messages[0]
    assert (lost.text, lost.status) == (text, "pending")
    return lost
