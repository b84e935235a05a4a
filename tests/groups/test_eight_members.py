"""Eight members with real agents on a real queue server: every pair connects directly, and
every message reaches every other member exactly once."""

from __future__ import annotations

from typing import Any

from simplextui.chat.events import MessageReceived
from tests.chat.helpers import Pair, ok
from tests.groups.helpers import MESH_WAIT, build_group, wait_mesh

NAMES = ("alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi")


async def assert_all_connected(users: list[Pair], group: str = "team") -> None:
    """``/ms`` on every member lists every other one as connected (nobody forwarding)."""
    names = {core.user_name for core, _ in users}
    for core, _ in users:
        members = await ok(core, f"/ms {group}")
        me = [m for m in members.members if m.me]
        assert [m.name for m in me] == [core.user_name] and me[0].status == "connected"
        others = {(m.name, m.status, m.via) for m in members.members if not m.me}
        assert others == {(n, "connected", None) for n in names - {core.user_name}}, core.user_name


async def test_eight_members_connect_pairwise_and_each_message_arrives_once(
        make_user: Any) -> None:
    users = [await make_user(n) for n in NAMES]
    await build_group(users)  # alice adds the others one by one
    await wait_mesh(users)
    await assert_all_connected(users)

    sent: dict[str, str] = {}  # msg id -> author
    for core, _ in users:
        r = await ok(core, f"#team hi from {core.user_name}")
        sent[r.msg_id] = core.user_name
    for core, rec in users:
        for msg_id, author in sent.items():
            if author != core.user_name:
                got = await rec.wait(MessageReceived, MESH_WAIT, msg_id=msg_id)
                assert (got.chat, got.from_, got.text) == ("#team", author, f"hi from {author}")
    # a second round probes the first: a duplicate of a first-round message, sent on a member
    # connection before the second round, is delivered before it (each connection delivers
    # in order)
    last: dict[str, str] = {}
    for core, _ in users:
        r = await ok(core, "#team last")
        last[r.msg_id] = core.user_name
    for core, rec in users:
        for msg_id, author in last.items():
            if author != core.user_name:
                await rec.wait(MessageReceived, MESH_WAIT, msg_id=msg_id)
    for core, rec in users:
        ids = [e.msg_id for e in rec.of(MessageReceived)]
        assert len(ids) == len(set(ids)) == 2 * (len(NAMES) - 1), core.user_name
        assert not [e for e in rec.of(MessageReceived) if e.from_ == core.user_name]
