"""Pending one-time invitations and contact requests: listed, cancelled, never sent twice.

Real cores, the real agent, a real queue server over TLS on 127.0.0.1, real SQLite files.
"""

from __future__ import annotations

import time
from typing import Any

from simplextui.chat.commands import CancelPending, CommandError, ListPending, parse_command
from simplextui.chat.contacts import by_name, list_pending, pending_view
from simplextui.chat.events import ContactConnected, ContactRequestReceived
from simplextui.chat.responses import PendingResponse
from tests.chat.helpers import connect, error, ok

T = 10.0  # every wait is bounded


def test_commands_parse() -> None:
    assert parse_command("/invitations") == ListPending()
    assert parse_command("/inv") == ListPending()
    assert parse_command("/cancel 12") == CancelPending(12)
    assert parse_command("/cancel :12") == CancelPending(12)
    for bad in ("/cancel", "/cancel x", "/cancel 0", "/cancel -1", "/cancel 1 2",
                "/cancel ١٢", "/cancel " + "9" * 5000, "/invitations now"):
        try:
            parse_command(bad)
        except CommandError as exc:
            assert "/cancel" in str(exc) or "/invitations" in str(exc), str(exc)
        else:
            raise AssertionError(f"{bad!r} parsed")


async def test_unused_invitations_are_listed_with_time_and_link(make_user: Any) -> None:
    a = await make_user("alice")
    before = int(time.time() * 1000)
    first = (await ok(a[0], "/c")).link
    second = (await ok(a[0], "/c")).link
    listed = await ok(a[0], "/invitations")
    assert isinstance(listed, PendingResponse)
    assert [(p.kind, p.link) for p in listed.invitations] == [
        ("invitation", first), ("invitation", second)]
    assert all(before <= p.created_at <= int(time.time() * 1000) for p in listed.invitations)
    assert listed.to_json()["invitations"][0] == {
        "id": listed.invitations[0].id, "kind": "invitation", "link": first,
        "createdAt": listed.invitations[0].created_at}
    # the TUI's data layer reads the same rows with its own session
    async with a[0].db.session() as s:
        assert [pending_view(x) for x in await list_pending(s)] == listed.invitations


async def test_a_used_invitation_is_no_longer_listed(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    await connect(a, b, T)
    assert (await ok(a[0], "/invitations")).invitations == []
    assert (await ok(b[0], "/invitations")).invitations == []


async def test_a_cancelled_invitation_fails_for_whoever_tries_it(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    link = (await ok(a[0], "/c")).link
    keep = (await ok(a[0], "/c")).link
    listed = (await ok(a[0], "/invitations")).invitations
    conns = await a[0].agent.connection_ids()

    done = await ok(a[0], f"/cancel {listed[0].id}")
    assert "no longer works" in done.message
    assert [p.link for p in (await ok(a[0], "/invitations")).invitations] == [keep]
    assert len(await a[0].agent.connection_ids()) == len(conns) - 1  # its queue is gone

    failure = await error(b[0], f"/c {link}")
    assert "no longer exists" in failure, failure
    assert "no pending invitation or request" in await error(a[0], f"/cancel {listed[0].id}")
    # the other one still works
    await ok(b[0], f"/c {keep}")
    assert (await a[1].wait(ContactConnected, T)).contact == "bob"


async def test_cancel_refuses_what_is_not_pending(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    await connect(a, b, T)
    async with a[0].db.session() as s:
        bob = await by_name(s, "bob")
    assert bob is not None
    # a connected contact is not a pending invitation: /cancel must not delete it
    assert "no pending invitation" in await error(a[0], f"/cancel {bob.id}")
    assert (await ok(a[0], "/info @bob")).contact.status == "connected"
    assert "no pending invitation" in await error(a[0], "/cancel 999999")


async def test_a_second_request_to_the_same_address_sends_nothing(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    address = (await ok(a[0], "/ad")).link
    await ok(b[0], f"/c {address}")
    conns = await b[0].agent.connection_ids()

    failure = await error(b[0], f"/c {address}")
    assert "already sent a request to this address" in failure, failure
    assert "waiting" in failure
    assert await b[0].agent.connection_ids() == conns  # no second connection, no request
    pending = (await ok(b[0], "/invitations")).invitations
    assert [(p.kind, p.link) for p in pending] == [("request", address)]

    await a[1].wait(ContactRequestReceived, T)
    assert [r.name for r in (await ok(a[0], "/requests")).requests] == ["bob"]
    await ok(a[0], "/ac bob")
    assert (await b[1].wait(ContactConnected, T)).contact == "alice"
    assert (await ok(b[0], "/invitations")).invitations == []

    failure = await error(b[0], f"/c {address}")
    assert failure == "already connected as @alice by this address", failure
    assert await b[0].agent.connection_ids() == conns


async def test_a_withdrawn_request_can_be_sent_again(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    address = (await ok(a[0], "/ad")).link
    await ok(b[0], f"/c {address}")
    pending = (await ok(b[0], "/invitations")).invitations
    assert f"/cancel {pending[0].id}" in await error(b[0], f"/c {address}")
    await ok(b[0], f"/cancel {pending[0].id}")
    assert (await ok(b[0], "/invitations")).invitations == []
    await ok(b[0], f"/c {address}")  # allowed again
    assert len((await ok(b[0], "/invitations")).invitations) == 1


async def test_a_second_join_of_an_invitation_answers_clearly(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    link = (await ok(a[0], "/c")).link
    await ok(b[0], f"/c {link}")
    conns = await b[0].agent.connection_ids()
    failure = await error(b[0], f"/c {link}")
    assert ("already joined this invitation" in failure
            or failure == "already connected as @alice by this invitation"), failure
    assert await b[0].agent.connection_ids() == conns
    assert (await b[1].wait(ContactConnected, T)).contact == "alice"
    assert await error(b[0], f"/c {link}") == "already connected as @alice by this invitation"
    assert len((await ok(b[0], "/contacts")).contacts) == 1


async def test_a_peer_who_deleted_the_contact_can_be_joined_again(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    address = (await ok(a[0], "/ad")).link
    await ok(a[0], "/auto_accept on")
    await ok(b[0], f"/c {address}")
    await b[1].wait(ContactConnected, T)
    await ok(b[0], "/d @alice")  # bob's row is gone: a new request is a new contact
    await ok(b[0], f"/c {address}")
    assert (await b[1].wait(ContactConnected, T)).contact == "alice"
