"""End to end: chat cores with the REAL agent, real queue servers over TLS, real SQLite files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simplextui.chat.events import (
    ContactConnected,
    ContactDeleted,
    ContactRequestReceived,
    MessageDeleted,
    MessageReceived,
    MessageStatus,
    MessageUpdated,
    ReactionChanged,
    Ready,
)
from simplextui.server.runner import EmbeddedServer
from tests.chat.helpers import connect, error, ok

T = 10.0  # every wait is bounded


async def test_two_users_chat_both_ways(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    assert await connect(a, b) == ("bob", "alice")

    hello = await ok(a[0], "@bob hello bob")
    got = await b[1].wait(MessageReceived, T, msg_id=hello.msg_id)
    assert (got.chat, got.from_, got.text) == ("@alice", "alice", "hello bob")
    await a[1].wait(MessageStatus, T, msg_id=hello.msg_id, status="sent")
    await a[1].wait(MessageStatus, T, msg_id=hello.msg_id, status="delivered")

    answer = await ok(b[0], "> @alice (hello) hi alice")
    got = await a[1].wait(MessageReceived, T, msg_id=answer.msg_id)
    assert got.quote is not None and got.quote.msg_id == hello.msg_id
    assert got.quote.from_ == "alice"

    await ok(b[0], "/read @alice")
    await a[1].wait(MessageStatus, T, msg_id=hello.msg_id, status="read")

    await ok(a[0], "! @bob (hello) hello, bob!")
    await b[1].wait(MessageUpdated, T, msg_id=hello.msg_id, text="hello, bob!")
    await ok(b[0], f"/react @alice {hello.msg_id} 🚀")
    await a[1].wait(ReactionChanged, T, msg_id=hello.msg_id, reaction="🚀", add=True)
    await ok(b[0], "\\ @alice hi")
    await a[1].wait(MessageDeleted, T, msg_id=answer.msg_id)

    code_a = (await ok(a[0], "/code @bob")).code
    assert code_a == (await ok(b[0], "/code @alice")).code
    assert (await ok(a[0], f"/verify @bob {code_a}")).verified is True

    mine = (await ok(a[0], "/tail @bob")).messages
    theirs = (await ok(b[0], "/tail @alice")).messages
    assert [(m.text, m.edited, m.deleted) for m in mine] == [
        ("hello, bob!", True, False), ("", False, True)]
    assert [m.msg_id for m in mine] == [m.msg_id for m in theirs]
    assert [r.reaction for r in mine[0].reactions] == ["🚀"]
    assert mine[0].status == "read"


async def test_three_users_by_address_accept_and_reject(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    c = await make_user("carol")
    address = (await ok(a[0], "/ad")).link
    await ok(b[0], f"/c {address}")
    await ok(c[0], f"/c {address}")
    await a[1].wait(ContactRequestReceived, T, contact="bob")
    await a[1].wait(ContactRequestReceived, T, contact="carol")
    await ok(a[0], "/ac bob")
    await ok(a[0], "/rc carol")
    await a[1].wait(ContactConnected, T, contact="bob")
    await b[1].wait(ContactConnected, T, contact="alice")
    m = await ok(b[0], "@alice hi from bob")
    await a[1].wait(MessageReceived, T, msg_id=m.msg_id)
    m = await ok(a[0], "@bob welcome")
    await b[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert [x.name for x in (await ok(a[0], "/contacts")).contacts] == ["bob"]
    # carol stays pending: no contact, nothing to send to
    assert (await ok(c[0], "/contacts")).contacts == []

    # bob and carol also connect with each other directly: three users, all pairs
    await connect(b, c)
    m = await ok(c[0], "@bob hi bob, it's carol")
    await b[1].wait(MessageReceived, T, msg_id=m.msg_id, from_="carol")


async def test_auto_accept(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    await ok(a[0], "/auto_accept on")
    address = (await ok(a[0], "/ad")).link
    await ok(b[0], f"/c {address}")
    await a[1].wait(ContactConnected, T, contact="bob")
    await b[1].wait(ContactConnected, T, contact="alice")


async def test_contacts_named_on_clash(make_user: Any) -> None:
    bob = await make_user("bob")
    first = await make_user("alice1", display_name="alice")
    second = await make_user("alice2", display_name="alice")
    assert (await connect(bob, first))[0] == "alice"
    assert (await connect(bob, second))[0] == "alice_1"
    m = await ok(bob[0], "@alice_1 which alice?")
    await second[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert first[1].of(MessageReceived) == []


async def test_restart_mid_conversation_loses_and_doubles_nothing(
        make_user: Any, tmp_path: Path) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    await connect(a, b)
    first = await ok(a[0], "@bob before")
    await b[1].wait(MessageReceived, T, msg_id=first.msg_id)

    # bob commits the next message but stops before telling the agent (as a crash would)
    real = b[0].agent.message_processed
    held: list[tuple[str, int]] = []

    async def not_yet(conn_id: str, agent_msg_id: int) -> None:
        held.append((conn_id, agent_msg_id))

    b[0].agent.message_processed = not_yet  # type: ignore[method-assign]
    committed = await ok(a[0], "@bob committed, not acknowledged")
    await b[1].wait(MessageReceived, T, msg_id=committed.msg_id)
    assert held
    b[0].agent.message_processed = real  # type: ignore[method-assign]
    await b[0].stop()

    while_down = [await ok(a[0], f"@bob while down {i}") for i in range(3)]
    b2 = await make_user("bob-again", display_name="bob", data_dir=tmp_path / "bob")
    assert b2[1].all[0] == Ready("bob")
    for m in while_down:
        await b2[1].wait(MessageReceived, T, msg_id=m.msg_id)
    await a[1].wait(MessageStatus, T, msg_id=while_down[-1].msg_id, status="delivered")
    back = await ok(b2[0], "@alice back")
    await a[1].wait(MessageReceived, T, msg_id=back.msg_id)

    texts = [m.text for m in (await ok(b2[0], "/tail @alice 50")).messages]
    assert texts == ["before", "committed, not acknowledged", "while down 0", "while down 1",
                     "while down 2", "back"]
    # the message committed before the "crash" was not shown again
    assert [e.msg_id for e in b2[1].of(MessageReceived)] == [m.msg_id for m in while_down]
    sent = [m.text for m in (await ok(a[0], "/tail @bob 50")).messages]
    assert sent == texts


async def test_sender_restart_keeps_outbox_and_states(make_user: Any, tmp_path: Path,
                                                      server: EmbeddedServer) -> None:
    """Messages sent while the server is down go out after the sender restarts."""
    a = await make_user("alice")
    b = await make_user("bob")
    await connect(a, b)
    await server.stop()
    queued = await ok(a[0], "@bob sent while the server is down")
    await a[0].stop()
    await server.start()
    a2 = await make_user("alice-again", display_name="alice", data_dir=tmp_path / "alice")
    await b[1].wait(MessageReceived, 15, msg_id=queued.msg_id)
    await a2[1].wait(MessageStatus, 15, msg_id=queued.msg_id, status="delivered")
    assert [m.status for m in (await ok(a2[0], "/tail @bob")).messages] == ["delivered"]


async def test_delete_contact_reaches_the_peer(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    await connect(a, b)
    await ok(a[0], "/d @bob")
    await b[1].wait(ContactDeleted, T, contact="alice")
    assert "deleted the connection" in await error(b[0], "@alice are you there?")


async def test_users_on_different_servers(make_user: Any, make_server: Any) -> None:
    other: EmbeddedServer = await make_server("other")
    a = await make_user("alice")
    b = await make_user("bob", servers=[other.address])
    await connect(a, b)
    m = await ok(a[0], "@bob across servers")
    await b[1].wait(MessageReceived, T, msg_id=m.msg_id)
    m = await ok(b[0], "@alice and back")
    await a[1].wait(MessageReceived, T, msg_id=m.msg_id)
