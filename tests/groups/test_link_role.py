"""A group link's role can be changed without a new link, and its record follows the group.

Real agents, a real queue server over TLS, real SQLite files. What a joiner reads is the link's
record on the server (``/c LINK`` shows the role and the group's name from it); what the host
grants is its own row: both must change together.
"""

from __future__ import annotations

from typing import Any

from simplextui.chat.events import MemberConnectedAll, MemberConnectedEvent
from simplextui.chat.responses import LinkResponse, OkResponse
from simplextui.protocol.group_link_events import GroupLinkData
from simplextui.protocol.links import parse_link
from tests.chat.helpers import Pair, error, ok
from tests.groups.helpers import T


async def _link(owner: Pair, group: str) -> LinkResponse:
    response = await ok(owner[0], f"/show link #{group}")
    assert isinstance(response, LinkResponse) and response.kind == "group"
    return response


async def _record(reader: Pair, link: str) -> GroupLinkData:
    """The link's record as anyone holding the link reads it from the server."""
    data = await reader[0]._ctx.agent.get_link_data(parse_link(link).uri, kind="g")
    assert data is not None
    return GroupLinkData.decode(data)


async def test_the_link_role_changes_for_the_next_joiner(make_user: Any) -> None:
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await ok(alice[0], "/g team")
    created = await ok(alice[0], "/create link #team")
    assert isinstance(created, LinkResponse) and (created.role, created.group) == (
        "member", "team")
    link = created.link
    assert (await _link(alice, "team")).role == "member"

    changed = await ok(alice[0], "/set link role #team observer")
    assert isinstance(changed, OkResponse) and "now grants observer" in (changed.message or "")
    shown = await _link(alice, "team")
    assert (shown.link, shown.role, shown.group) == (link, "observer", "team")  # same link
    assert (await _record(bob, link)).role.value == "observer"

    joined = await ok(bob[0], f"/c {link}")
    assert "as observer" in (joined.message or "")
    await bob[1].wait(MemberConnectedEvent, T, group="team", member="alice")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="bob")
    roles = {m.name: m.role for m in (await ok(alice[0], "/ms team")).members if not m.me}
    assert roles == {"bob": "observer"}
    assert "observers" in await error(bob[0], "#team hello")

    await ok(alice[0], "/set link role #team member")
    await ok(carol[0], f"/c {link}")
    await alice[1].wait(MemberConnectedAll, T, group="team", member="carol")
    roles = {m.name: m.role for m in (await ok(alice[0], "/ms team")).members if not m.me}
    assert roles == {"bob": "observer", "carol": "member"}


async def test_bad_link_role_changes_are_refused_and_change_nothing(make_user: Any) -> None:
    alice, bob = [await make_user(n) for n in ("alice", "bob")]
    await ok(alice[0], "/g team")
    assert "has no group link" in await error(alice[0], "/set link role #team observer")
    link = (await ok(alice[0], "/create link #team")).link
    assert "member or observer" in await error(alice[0], "/set link role #team admin")
    assert "usage: /set link role" in await error(alice[0], "/set link #team observer")
    assert "already grants member" in await error(alice[0], "/set link role #team member")
    assert "no group" in (await error(alice[0], "/set link role #nosuch observer")).lower()
    assert (await _link(alice, "team")).role == "member"
    assert (await _record(bob, link)).role.value == "member"
    # the group settings /set is still there
    await ok(alice[0], "/set history #team 5")


async def test_a_profile_change_reaches_the_link_record(make_user: Any) -> None:
    alice, bob = [await make_user(n) for n in ("alice", "bob")]
    await ok(alice[0], "/g team")
    link = (await ok(alice[0], "/create link #team")).link
    await ok(alice[0], "/gp team Dream_Team the best")
    data = await _record(bob, link)
    assert (data.group_profile.display_name, data.group_profile.description) == (
        "Dream_Team", "the best")
