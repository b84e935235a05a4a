"""Lightweight groups end to end: real agents, a real queue server over TLS."""

from __future__ import annotations

from typing import Any

from simplextui.chat.events import MemberConnectedEvent, MessageReceived
from tests.chat.helpers import ok
from tests.groups.helpers import T, build_group, probe


async def _all_received(users: list[Any], sent: dict[str, str]) -> None:
    """Every message in ``sent`` (msg id -> author) reaches every other user exactly once."""
    for core, rec in users:
        me = core.user_name
        for msg_id, author in sent.items():
            if author != me:
                got = await rec.wait(MessageReceived, T, msg_id=msg_id)
                assert got.chat == "#team" and got.from_ == author


async def _each_once(users: list[Any], sent: dict[str, str]) -> None:
    """Each user's probe comes after any duplicate it sent on the same connections: then every
    message in ``sent`` was shown once."""
    probes = {await probe(user, [u for u in users if u is not user], timeout=T)
              for user in users}
    for _, rec in users:
        ids = [e.msg_id for e in rec.of(MessageReceived) if e.msg_id not in probes]
        assert len(ids) == len(set(ids)) == len(sent) - 1


async def test_three_members_connect_pairwise_and_chat(make_user: Any) -> None:
    users = [await make_user(n) for n in ("alice", "bob", "carol")]
    await build_group(users)
    bob, carol = users[1], users[2]
    # introduced by alice, bob and carol connected directly
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="carol")
    await carol[1].wait(MemberConnectedEvent, T, group="team", member="bob")
    sent: dict[str, str] = {}
    for core, _ in users:
        r = await ok(core, f"#team hello from {core.user_name}")
        sent[r.msg_id] = core.user_name
    await _all_received(users, sent)
    await _each_once(users, sent)
    members = await ok(users[0][0], "/ms team")
    assert {(m.name, m.role, m.status) for m in members.members if not m.me} == {
        ("bob", "member", "connected"), ("carol", "member", "connected")}


async def test_five_members_full_mesh_each_message_once(make_user: Any) -> None:
    names = ("alice", "bob", "carol", "dave", "eve")
    users = [await make_user(n) for n in names]
    await build_group(users)
    for core, rec in users:  # every pair connected directly
        me = core.user_name
        for other in names:
            if other != me and not any(e.member == other for e in rec.of(MemberConnectedEvent)):
                await rec.wait(MemberConnectedEvent, T, group="team", member=other)
    sent: dict[str, str] = {}
    for core, _ in users:
        r = await ok(core, f"#team hi from {core.user_name}")
        sent[r.msg_id] = core.user_name
    await _all_received(users, sent)
    await _each_once(users, sent)
