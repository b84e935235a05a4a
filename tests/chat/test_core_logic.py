"""The chat core's logic on a fake in-memory agent (fast, exact): flows, states, errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from simplextui.agent import events as ae
from simplextui.chat.core import ChatCore
from simplextui.chat.errors import ProfileRequired
from simplextui.chat.events import (
    ConnectionErrorEvent,
    ContactConnected,
    ContactDeleted,
    ContactRequestReceived,
    ContactUpdated,
    IntegrityError,
    MessageDeleted,
    MessageReceived,
    MessageStatus,
    MessageUpdated,
    ReactionChanged,
    Ready,
)
from simplextui.chat.responses import (
    CodeResponse,
    ContactsResponse,
    HistoryResponse,
    OkResponse,
    SentResponse,
    VerifyResponse,
)
from simplextui.protocol.chat_events import MsgContent, MsgNew, new_msg_id
from tests.chat.fake_agent import SERVER, FakeNetwork
from tests.chat.helpers import connect, error, ok


async def test_ready_is_the_first_event(make_core: Any) -> None:
    alice, rec = await make_core("alice")
    assert rec.all[0] == Ready("alice")
    assert alice.user_name == "alice"


async def test_first_start_needs_a_name(tmp_path: Path, net: FakeNetwork) -> None:
    core = ChatCore(tmp_path / "x", [SERVER], agent_factory=net.factory)
    with pytest.raises(ProfileRequired):
        await core.start()


async def test_chat_both_ways_with_states(make_core: Any) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    to_bob, to_alice = await connect(a, b)
    assert (to_bob, to_alice) == ("bob", "alice")

    sent = await ok(a[0], "@bob hello bob")
    assert isinstance(sent, SentResponse) and sent.chat == "@bob"
    got = await b[1].wait(MessageReceived, msg_id=sent.msg_id)
    assert (got.chat, got.from_, got.text) == ("@alice", "alice", "hello bob")
    await a[1].wait(MessageStatus, msg_id=sent.msg_id, status="sent")
    await a[1].wait(MessageStatus, msg_id=sent.msg_id, status="delivered")

    reply = await ok(b[0], "@alice hi alice")
    await a[1].wait(MessageReceived, msg_id=reply.msg_id, text="hi alice")

    read = await ok(b[0], "/read @alice")
    assert read.message.startswith("1 ")
    await a[1].wait(MessageStatus, msg_id=sent.msg_id, status="read")
    again = await ok(b[0], "/read @alice")
    assert again.message.startswith("0 ")

    history = await ok(a[0], "/tail @bob")
    assert isinstance(history, HistoryResponse)
    assert [(m.direction, m.text, m.status) for m in history.messages] == [
        ("snd", "hello bob", "read"), ("rcv", "hi alice", "new")]
    everything = await ok(b[0], "/tail 1")
    assert [m.text for m in everything.messages] == ["hi alice"]


async def test_reply_edit_delete_react(make_core: Any) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    first = await ok(a[0], "@bob how are you?")
    await b[1].wait(MessageReceived, msg_id=first.msg_id)

    reply = await ok(b[0], "> @alice (how are) fine, thanks")
    got = await a[1].wait(MessageReceived, msg_id=reply.msg_id)
    assert got.quote is not None
    assert (got.quote.msg_id, got.quote.text, got.quote.from_) == (
        first.msg_id, "how are you?", "alice")

    await ok(a[0], "! @bob (how are) how are you, bob?")
    upd = await b[1].wait(MessageUpdated, msg_id=first.msg_id)
    assert upd.text == "how are you, bob?"
    await ok(a[0], f"/edit @bob {first.msg_id} how do you do?")
    await b[1].wait(MessageUpdated, msg_id=first.msg_id, text="how do you do?")

    await ok(b[0], "+1 @alice how do")
    react = await a[1].wait(ReactionChanged, msg_id=first.msg_id)
    assert (react.reaction, react.add, react.from_) == ("👍", True, "bob")
    await ok(a[0], f"/react @bob {reply.msg_id} ❤️")
    await b[1].wait(ReactionChanged, msg_id=reply.msg_id, reaction="❤️", add=True)
    await ok(b[0], "-1 @alice how do")
    await a[1].wait(ReactionChanged, msg_id=first.msg_id, add=False)

    await ok(b[0], "\\ @alice fine")
    await a[1].wait(MessageDeleted, msg_id=reply.msg_id)
    history = (await ok(a[0], "/tail @bob")).messages
    assert [(m.text, m.edited, m.deleted) for m in history] == [
        ("how do you do?", True, False), ("", False, True)]
    assert history[1].reactions[0].reaction == "❤️"
    assert history[1].reactions[0].from_ == "alice"


async def test_message_errors_change_nothing(make_core: Any) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    m = await ok(b[0], "@alice from bob")
    await a[1].wait(MessageReceived, msg_id=m.msg_id)
    assert "no contact @carol" in await error(a[0], "@carol hi")
    assert "own messages" in await error(a[0], f"/edit @bob {m.msg_id} x")
    assert "no message of yours" in await error(a[0], "! @bob (from) x")
    assert "no message of yours" in await error(a[0], "\\ @bob from")
    assert "no message" in await error(a[0], "+1 @bob nothing like this")
    assert "no message" in await error(a[0], f"/reply @bob {new_msg_id()} x")
    assert "unknown command" in await error(a[0], "/frobnicate")
    assert "/help" in await error(a[0], "hello")
    assert "longer than" in await error(a[0], "@bob " + "é" * 10_001)
    assert "too large" in await error(a[0], "@bob " + "é" * 9_000)
    history = (await ok(a[0], "/tail @bob")).messages
    assert [m.text for m in history] == ["from bob"]


async def test_pending_contact_cannot_receive_yet(make_core: Any, net: FakeNetwork) -> None:
    a = await make_core("alice")
    await ok(a[0], "/c")
    contacts = await ok(a[0], "/contacts")
    assert isinstance(contacts, ContactsResponse) and contacts.contacts == []


async def test_address_accept_reject_and_auto_accept(make_core: Any) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    c = await make_core("carol")
    assert "no contact address" in await error(a[0], "/sa")
    address = await ok(a[0], "/ad")
    assert address.kind == "address"
    assert "already have" in await error(a[0], "/ad")
    assert (await ok(a[0], "/sa")).link == address.link

    await ok(b[0], f"/c {address.link}")
    req = await a[1].wait(ContactRequestReceived)
    assert (req.contact, req.display_name) == ("bob", "bob")
    await ok(c[0], f"/connect {address.link}")
    await a[1].wait(ContactRequestReceived, contact="carol")
    assert [r.name for r in (await ok(a[0], "/requests")).requests] == ["bob", "carol"]

    assert "no contact request" in await error(a[0], "/ac dave")
    await ok(a[0], "/ac bob")
    await a[1].wait(ContactConnected, contact="bob")
    await b[1].wait(ContactConnected, contact="alice")
    await ok(a[0], "/rc carol")
    assert (await ok(a[0], "/requests")).requests == []
    m = await ok(b[0], "@alice hi via address")
    await a[1].wait(MessageReceived, msg_id=m.msg_id)

    await ok(a[0], "/auto_accept on")
    assert (await ok(a[0], "/p")).auto_accept is True
    d = await make_core("dave")
    await ok(d[0], f"/c {address.link}")
    await a[1].wait(ContactRequestReceived, contact="dave")
    await a[1].wait(ContactConnected, contact="dave")
    await d[1].wait(ContactConnected, contact="alice")

    await ok(a[0], "/da")
    assert "no contact address" in await error(a[0], "/da")
    assert [x.name for x in (await ok(a[0], "/contacts")).contacts] == ["bob", "dave"]


async def test_contacts_named_on_clash(make_core: Any) -> None:
    bob = await make_core("bob")
    names = []
    for i in range(3):
        alice = await make_core(f"alice{i}", display_name="alice")
        names.append((await connect(bob, alice))[0])
    assert names == ["alice", "alice_1", "alice_2"]
    for name in names:
        await ok(bob[0], f"@{name} hi {name}")
    info = await ok(bob[0], "/info @alice_2")
    assert (info.contact.name, info.contact.display_name) == ("alice_2", "alice")


async def test_profile_update_reaches_contacts(make_core: Any) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    profile = await ok(a[0], "/p alice Alice Liddell")
    assert (profile.display_name, profile.full_name) == ("alice", "Alice Liddell")
    upd = await b[1].wait(ContactUpdated)
    assert (upd.contact, upd.full_name) == ("alice", "Alice Liddell")
    await ok(a[0], "/bio down the rabbit hole")
    await b[1].wait(ContactUpdated, bio="down the rabbit hole")
    await ok(a[0], "/p alicia")
    await b[1].wait(ContactUpdated, display_name="alicia", full_name="Alice Liddell")
    info = await ok(b[0], "/info @alice")  # the local name stays
    assert info.contact.display_name == "alicia"


async def test_code_verify_and_delete(make_core: Any) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    code_a = await ok(a[0], "/code @bob")
    code_b = await ok(b[0], "/code @alice")
    assert isinstance(code_a, CodeResponse) and code_a.code == code_b.code
    assert "does not match" in await error(a[0], "/verify @bob 00000")
    assert (await ok(a[0], "/info @bob")).contact.verified is False
    verified = await ok(a[0], f"/verify @bob {code_b.code.replace(' ', '')}")
    assert isinstance(verified, VerifyResponse) and verified.verified
    assert (await ok(a[0], "/info @bob")).contact.verified is True
    assert (await ok(a[0], "/verify @bob")).verified is False

    await ok(a[0], "/d @bob")
    await b[1].wait(ContactDeleted, contact="alice")
    assert (await ok(a[0], "/contacts")).contacts == []
    assert "deleted the connection" in await error(b[0], "@alice still there?")
    assert (await ok(b[0], "/info @alice")).contact.status == "deleted"


async def test_bad_links_are_refused(make_core: Any) -> None:
    a = await make_core("alice")
    assert "not a simplextui link" in await error(a[0], "/c https://example.com/x")
    assert "damaged" in await error(a[0], "/c simplextui://i/" + "A" * 43 + "@h:1/xx#yy")
    group = "simplextui://g/" + "A" * 43 + "@127.0.0.1:1/" + "A" * 32 + "#" + "A" * 43
    assert "group link" in await error(a[0], f"/c {group}")


async def test_restart_loses_nothing_and_doubles_nothing(make_core: Any, tmp_path: Path,
                                                         net: FakeNetwork) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    first = await ok(a[0], "@bob one")
    await b[1].wait(MessageReceived, msg_id=first.msg_id)

    await b[0].stop()  # messages arrive while bob is down
    later = [await ok(a[0], f"@bob while down {i}") for i in range(3)]
    b2 = await make_core("bob2", display_name="bob", data_dir=tmp_path / "bob")
    for m in later:
        await b2[1].wait(MessageReceived, msg_id=m.msg_id)
    assert b2[1].all[0] == Ready("bob")

    # bob commits a message but "crashes" before telling the agent: it comes again
    agent = net.users[str(tmp_path / "bob" / "simplextui.db")].agent
    assert agent is not None
    real = agent.message_processed

    async def lost(conn_id: str, agent_msg_id: int) -> None:
        return None

    agent.message_processed = lost  # type: ignore[method-assign]
    m = await ok(a[0], "@bob committed, not acked")
    await b2[1].wait(MessageReceived, msg_id=m.msg_id)
    agent.message_processed = real  # type: ignore[method-assign]
    await b2[0].stop()
    b3 = await make_core("bob3", display_name="bob", data_dir=tmp_path / "bob")
    await agent_idle(net, tmp_path / "bob")
    assert b3[1].of(MessageReceived) == []  # already shown once: not again
    texts = [x.text for x in (await ok(b3[0], "/tail @alice 100")).messages]
    assert texts == ["one", "while down 0", "while down 1", "while down 2",
                     "committed, not acked"]


async def agent_idle(net: FakeNetwork, data_dir: Path) -> None:
    agent = net.users[str(data_dir / "simplextui.db")].agent
    assert agent is not None
    await agent.idle()


async def test_unknown_and_malformed_events_are_logged_and_skipped(
        make_core: Any, net: FakeNetwork, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    agent = net.users[str(tmp_path / "alice" / "simplextui.db")].agent
    assert agent is not None
    conn_id = next(iter(agent.user.conns))
    caplog.set_level(logging.INFO, "simplextui.chat")
    await agent.send(conn_id, b'{"v":"1-3","msgId":"AAECAwQFBgcICQoL","event":"x.future",'
                              b'"params":{}}')
    await agent.send(conn_id, b"garbage")
    m = await ok(a[0], "@bob still fine")
    await b[1].wait(MessageReceived, msg_id=m.msg_id)
    assert "unknown chat event x.future" in caplog.text
    assert "malformed chat message" in caplog.text
    assert [x.text for x in (await ok(b[0], "/tail @alice")).messages] == ["still fine"]


async def test_duplicate_shared_id_shows_once(make_core: Any, net: FakeNetwork,
                                              tmp_path: Path) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    agent = net.users[str(tmp_path / "alice" / "simplextui.db")].agent
    assert agent is not None
    conn_id = next(iter(agent.user.conns))
    from simplextui.protocol.chat_events import ChatMessage, encode_chat_message

    body = encode_chat_message(ChatMessage(new_msg_id(), MsgNew(MsgContent("twice"))))
    await agent.send(conn_id, body)
    await agent.send(conn_id, body)
    m = await ok(a[0], "@bob after")
    await b[1].wait(MessageReceived, msg_id=m.msg_id)
    assert [x.text for x in b[1].of(MessageReceived)] == ["twice", "after"]


async def test_status_before_item_is_recorded(make_core: Any, net: FakeNetwork) -> None:
    """The agent may report 'sent' before ``send`` returns: the status is not lost."""
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    m = await ok(a[0], "@bob quick")
    await a[1].wait(MessageStatus, msg_id=m.msg_id, status="delivered")
    history = (await ok(a[0], "/tail @bob")).messages
    assert history[0].status == "delivered"


async def test_quit_and_help(make_core: Any) -> None:
    a = await make_core("alice")
    assert "/connect" in (await ok(a[0], "/help")).text
    assert isinstance(await ok(a[0], "/quit"), OkResponse)
    assert a[0].quit_requested.is_set()


async def test_agent_events_are_idempotent(make_core: Any, net: FakeNetwork,
                                           tmp_path: Path) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    agent = net.users[str(tmp_path / "alice" / "simplextui.db")].agent
    assert agent is not None
    conn_id = next(iter(agent.user.conns))
    m = await ok(a[0], "@bob x")
    await a[1].wait(MessageStatus, msg_id=m.msg_id, status="delivered")
    # the agent journal may deliver events again after a crash
    await agent.on_event(ae.Connected(conn_id, b"{}"))
    await agent.on_event(ae.DeliveryReceipt(conn_id, 1))
    await agent.on_event(ae.MessageSent(conn_id, 1))
    assert len(a[1].of(ContactConnected)) == 1
    assert len(a[1].of(MessageStatus)) == 2


async def test_integrity_and_connection_errors_are_shown(make_core: Any, net: FakeNetwork,
                                                         tmp_path: Path) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    agent = net.users[str(tmp_path / "bob" / "simplextui.db")].agent
    assert agent is not None
    conn_id = next(iter(agent.user.conns))
    from simplextui.protocol.chat_events import ChatMessage, encode_chat_message

    body = encode_chat_message(ChatMessage(new_msg_id(), MsgNew(MsgContent("after a gap"))))
    await agent.on_event(ae.MessageReceived(conn_id, 9, body, 5, ae.IntegrityStatus.skipped(3, 8)))
    gap = await b[1].wait(IntegrityError, contact="alice")
    assert "3..8" in gap.error
    await b[1].wait(MessageReceived, text="after a gap")  # still shown
    await agent.on_event(ae.ConnectionError(conn_id, "a forged message was refused"))
    err = await b[1].wait(ConnectionErrorEvent)
    assert (err.contact, err.error) == ("alice", "a forged message was refused")
    await agent.on_event(ae.ConnectionError(None, "server unreachable"))
    assert (await b[1].wait(ConnectionErrorEvent)).contact is None


async def test_a_new_name_at_start_is_sent_to_contacts(make_core: Any, tmp_path: Path) -> None:
    a = await make_core("alice")
    b = await make_core("bob")
    await connect(a, b)
    await a[0].stop()
    a2 = await make_core("alice2", display_name="alicia", data_dir=tmp_path / "alice")
    assert a2[1].all[0] == Ready("alicia")
    await b[1].wait(ContactUpdated, contact="alice", display_name="alicia")
