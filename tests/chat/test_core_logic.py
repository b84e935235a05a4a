"""The chat core's logic with the REAL agent on a real queue server: flows, states, errors.

Each test gets its own server and users (``pair``: alice and bob already connected), so
histories and counts are exact. Bad input comes in through the command line or through the
transport with real credentials; crashes are real restarts from what a crash leaves on disk.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from simplextui.agent import Agent
from simplextui.agent.sealing import open_link_data
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
from simplextui.protocol import agent as wire
from simplextui.protocol.chat_events import (
    ChatMessage,
    MsgContent,
    MsgNew,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.links import parse_link
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentQueue
from simplextui.store.chat_models import ChatItem
from simplextui.transport import MessageReceived as QueueMessage
from simplextui.transport import QueueClient, RecipientQueue, SenderQueue
from tests.chat.conftest import Crash
from tests.chat.helpers import Pair, connect, error, ok

T = 10.0  # every wait is bounded
FAST_CLIENT: dict[str, Any] = {"timeout": 5.0, "backoff_base": 0.02, "backoff_cap": 0.3}


# --- reaching the network as another party would, with real credentials --------------------

def real_agent(core: ChatCore) -> Agent:
    agent = core.agent
    assert isinstance(agent, Agent)  # the real one, never a stand-in
    return agent


async def only_connection(core: ChatCore) -> str:
    (conn_id,) = await real_agent(core).connection_ids()
    return conn_id


async def queue_creds(core: ChatCore, role: str) -> dict[str, Any]:
    """The credentials of the user's only queue of ``role`` (rcv: ours; snd: the peer's)."""
    async with core.db.session() as s:
        creds = (await s.execute(select(AgentQueue.creds)
                                 .where(AgentQueue.role == role))).scalar_one()
    return dict(creds)


async def take_messages(queue: RecipientQueue, count: int) -> list[bytes]:
    """What another client holding the queue's recipient credentials (a stolen backup, say)
    can do: take ``count`` messages off the server, acknowledging each."""
    taken: list[bytes] = []
    acked = 0
    done = asyncio.Event()

    async def on_event(event: object) -> None:
        nonlocal acked
        if isinstance(event, QueueMessage) and len(taken) < count:
            taken.append(event.body)
            await client.ack(queue, event.msg_id)
            acked += 1  # the acks of earlier messages may return after later ones arrived
            if acked == count:
                done.set()

    client = QueueClient(queue.server, on_event=on_event, **FAST_CLIENT)
    async with client:
        await client.subscribe([queue])
        await asyncio.wait_for(done.wait(), T)
    return taken


async def send_raw(sender: SenderQueue, body: bytes) -> None:
    async with QueueClient(sender.server, **FAST_CLIENT) as client:
        await client.send(sender, body)


async def send_to_address(link: str, body: bytes) -> None:
    """What anyone who has the contact address link can send to its queue."""
    parsed = parse_link(link)
    async with QueueClient(parsed.server, **FAST_CLIENT) as client:
        record = await client.get_link(parsed.link_id)
        data = wire.decode_link_payload(open_link_data(
            parsed.link_key, parsed.kind.value, parsed.link_id, record.fixed_data))
        assert isinstance(data, wire.AddressData)
        await client.send(await client.contact_sender(data.queue.sender_id), body)


def status_is(status: str) -> Any:
    return lambda e: isinstance(e, MessageStatus) and e.status == status


# --- tests ------------------------------------------------------------------------------------

async def test_ready_is_the_first_event(make_user: Any) -> None:
    alice, rec = await make_user("alice")
    assert rec.all[0] == Ready("alice")
    assert alice.user_name == "alice"


async def test_first_start_needs_a_name(tmp_path: Path, server: EmbeddedServer) -> None:
    core = ChatCore(tmp_path / "x", [server.address])
    with pytest.raises(ProfileRequired):
        await asyncio.wait_for(core.start(), T)


async def test_chat_both_ways_with_states(pair: tuple[Pair, Pair]) -> None:
    a, b = pair
    sent = await ok(a[0], "@bob hello bob")
    assert isinstance(sent, SentResponse) and sent.chat == "@bob"
    got = await b[1].wait(MessageReceived, T, msg_id=sent.msg_id)
    assert (got.chat, got.from_, got.text) == ("@alice", "alice", "hello bob")
    await a[1].wait(MessageStatus, T, msg_id=sent.msg_id, status="sent")
    await a[1].wait(MessageStatus, T, msg_id=sent.msg_id, status="delivered")

    reply = await ok(b[0], "@alice hi alice")
    await a[1].wait(MessageReceived, T, msg_id=reply.msg_id, text="hi alice")

    read = await ok(b[0], "/read @alice")
    assert read.message.startswith("1 ")
    await a[1].wait(MessageStatus, T, msg_id=sent.msg_id, status="read")
    again = await ok(b[0], "/read @alice")
    assert again.message.startswith("0 ")

    history = await ok(a[0], "/tail @bob")
    assert isinstance(history, HistoryResponse)
    assert [(m.direction, m.text, m.status) for m in history.messages] == [
        ("snd", "hello bob", "read"), ("rcv", "hi alice", "new")]
    everything = await ok(b[0], "/tail 1")
    assert [m.text for m in everything.messages] == ["hi alice"]


async def test_reply_edit_delete_react(pair: tuple[Pair, Pair]) -> None:
    a, b = pair
    first = await ok(a[0], "@bob how are you?")
    await b[1].wait(MessageReceived, T, msg_id=first.msg_id)

    reply = await ok(b[0], "> @alice (how are) fine, thanks")
    got = await a[1].wait(MessageReceived, T, msg_id=reply.msg_id)
    assert got.quote is not None
    assert (got.quote.msg_id, got.quote.text, got.quote.from_) == (
        first.msg_id, "how are you?", "alice")

    await ok(a[0], "! @bob (how are) how are you, bob?")
    upd = await b[1].wait(MessageUpdated, T, msg_id=first.msg_id)
    assert upd.text == "how are you, bob?"
    await ok(a[0], f"/edit @bob {first.msg_id} how do you do?")
    await b[1].wait(MessageUpdated, T, msg_id=first.msg_id, text="how do you do?")

    await ok(b[0], "+1 @alice how do")
    react = await a[1].wait(ReactionChanged, T, msg_id=first.msg_id)
    assert (react.reaction, react.add, react.from_) == ("👍", True, "bob")
    await ok(a[0], f"/react @bob {reply.msg_id} ❤️")
    await b[1].wait(ReactionChanged, T, msg_id=reply.msg_id, reaction="❤️", add=True)
    await ok(b[0], "-1 @alice how do")
    await a[1].wait(ReactionChanged, T, msg_id=first.msg_id, add=False)

    await ok(b[0], "\\ @alice fine")
    await a[1].wait(MessageDeleted, T, msg_id=reply.msg_id)
    history = (await ok(a[0], "/tail @bob")).messages
    assert [(m.text, m.edited, m.deleted) for m in history] == [
        ("how do you do?", True, False), ("", False, True)]
    assert history[1].reactions[0].reaction == "❤️"
    assert history[1].reactions[0].from_ == "alice"


async def test_message_errors_change_nothing(pair: tuple[Pair, Pair]) -> None:
    a, b = pair
    m = await ok(b[0], "@alice from bob")
    await a[1].wait(MessageReceived, T, msg_id=m.msg_id)
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


async def test_pending_contact_cannot_receive_yet(make_user: Any) -> None:
    a = await make_user("alice")
    await ok(a[0], "/c")
    contacts = await ok(a[0], "/contacts")
    assert isinstance(contacts, ContactsResponse) and contacts.contacts == []


async def test_address_accept_reject_and_auto_accept(make_user: Any) -> None:
    a = await make_user("alice")
    b = await make_user("bob")
    c = await make_user("carol")
    assert "no contact address" in await error(a[0], "/sa")
    address = await ok(a[0], "/ad")
    assert address.kind == "address"
    assert "already have" in await error(a[0], "/ad")
    assert (await ok(a[0], "/sa")).link == address.link

    await ok(b[0], f"/c {address.link}")
    req = await a[1].wait(ContactRequestReceived, T)
    assert (req.contact, req.display_name) == ("bob", "bob")
    await ok(c[0], f"/connect {address.link}")
    await a[1].wait(ContactRequestReceived, T, contact="carol")
    assert [r.name for r in (await ok(a[0], "/requests")).requests] == ["bob", "carol"]

    assert "no contact request" in await error(a[0], "/ac dave")
    await ok(a[0], "/ac bob")
    await a[1].wait(ContactConnected, T, contact="bob")
    await b[1].wait(ContactConnected, T, contact="alice")
    await ok(a[0], "/rc carol")
    assert (await ok(a[0], "/requests")).requests == []
    m = await ok(b[0], "@alice hi via address")
    await a[1].wait(MessageReceived, T, msg_id=m.msg_id)

    await ok(a[0], "/auto_accept on")
    assert (await ok(a[0], "/p")).auto_accept is True
    d = await make_user("dave")
    await ok(d[0], f"/c {address.link}")
    await a[1].wait(ContactRequestReceived, T, contact="dave")
    await a[1].wait(ContactConnected, T, contact="dave")
    await d[1].wait(ContactConnected, T, contact="alice")

    await ok(a[0], "/da")
    assert "no contact address" in await error(a[0], "/da")
    assert [x.name for x in (await ok(a[0], "/contacts")).contacts] == ["bob", "dave"]


async def test_contacts_named_on_clash(make_user: Any) -> None:
    bob = await make_user("bob")
    names = []
    for i in range(3):
        alice = await make_user(f"alice{i}", display_name="alice")
        names.append((await connect(bob, alice, T))[0])
    assert names == ["alice", "alice_1", "alice_2"]
    for name in names:
        await ok(bob[0], f"@{name} hi {name}")
    info = await ok(bob[0], "/info @alice_2")
    assert (info.contact.name, info.contact.display_name) == ("alice_2", "alice")


async def test_profile_update_reaches_contacts(pair: tuple[Pair, Pair]) -> None:
    a, b = pair
    profile = await ok(a[0], "/p alice Alice Liddell")
    assert (profile.display_name, profile.full_name) == ("alice", "Alice Liddell")
    upd = await b[1].wait(ContactUpdated, T)
    assert (upd.contact, upd.full_name) == ("alice", "Alice Liddell")
    await ok(a[0], "/bio down the rabbit hole")
    await b[1].wait(ContactUpdated, T, bio="down the rabbit hole")
    await ok(a[0], "/p alicia Alice Liddell")
    await b[1].wait(ContactUpdated, T, display_name="alicia", full_name="Alice Liddell")
    info = await ok(b[0], "/info @alice")  # the local name stays
    assert info.contact.display_name == "alicia"


async def test_code_verify_and_delete(pair: tuple[Pair, Pair]) -> None:
    a, b = pair
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
    await b[1].wait(ContactDeleted, T, contact="alice")
    assert (await ok(a[0], "/contacts")).contacts == []
    assert "deleted the connection" in await error(b[0], "@alice still there?")
    assert (await ok(b[0], "/info @alice")).contact.status == "deleted"


async def test_bad_links_are_refused(make_user: Any) -> None:
    a = await make_user("alice")
    assert "not a simplextui link" in await error(a[0], "/c https://example.com/x")
    assert "damaged" in await error(a[0], "/c simplextui://i/" + "A" * 43 + "@h:1/xx#yy")
    group = "simplextui://g/" + "A" * 43 + "@127.0.0.1:1/" + "A" * 32 + "#" + "A" * 43
    assert "group link" in await error(a[0], f"/c {group}")


async def test_restart_loses_nothing_and_doubles_nothing(pair: tuple[Pair, Pair],
                                                         make_user: Any,
                                                         tmp_path: Path) -> None:
    a, b = pair
    first = await ok(a[0], "@bob one")
    await b[1].wait(MessageReceived, T, msg_id=first.msg_id)

    await asyncio.wait_for(b[0].stop(), T)  # messages arrive while bob is down
    later = [await ok(a[0], f"@bob while down {i}") for i in range(3)]
    b2 = await make_user("bob2", display_name="bob", data_dir=tmp_path / "bob")
    for m in later:
        await b2[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert b2[1].all[0] == Ready("bob")

    # bob commits a message but crashes before telling the agent: it comes again. This one
    # crash point (between the chat's commit and ``message_processed``) has no event a test
    # could stop at, so the real agent's call is held back instead of made.
    agent = real_agent(b2[0])
    held: list[tuple[str, int]] = []

    async def crashed_before(conn_id: str, agent_msg_id: int) -> None:
        held.append((conn_id, agent_msg_id))

    agent.message_processed = crashed_before  # type: ignore[method-assign]
    m = await ok(a[0], "@bob committed, not acked")
    await b2[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert held
    del agent.message_processed  # the real method again (for the clean stop)
    await asyncio.wait_for(b2[0].stop(), T)
    b3 = await make_user("bob3", display_name="bob", data_dir=tmp_path / "bob")
    # the agent gave it again and bob processed it now: only then does alice hear back
    await a[1].wait(MessageStatus, T, msg_id=m.msg_id, status="delivered")
    assert b3[1].of(MessageReceived) == []  # already shown once: not again
    texts = [x.text for x in (await ok(b3[0], "/tail @alice 100")).messages]
    assert texts == ["one", "while down 0", "while down 1", "while down 2",
                     "committed, not acked"]


async def test_unknown_and_malformed_events_are_logged_and_skipped(
        pair: tuple[Pair, Pair], caplog: pytest.LogCaptureFixture) -> None:
    a, b = pair
    # alice's real agent carries what a newer or broken client would send as chat messages
    agent = real_agent(a[0])
    conn_id = await only_connection(a[0])
    caplog.set_level(logging.INFO, "simplextui.chat")
    await agent.send(conn_id, b'{"v":"1-3","msgId":"AAECAwQFBgcICQoL","event":"x.future",'
                              b'"params":{}}')
    await agent.send(conn_id, b"garbage")
    m = await ok(a[0], "@bob still fine")
    await b[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert "unknown chat event x.future" in caplog.text
    assert "malformed chat message" in caplog.text
    assert [x.text for x in (await ok(b[0], "/tail @alice")).messages] == ["still fine"]


async def test_duplicate_shared_id_shows_once(pair: tuple[Pair, Pair]) -> None:
    a, b = pair
    agent = real_agent(a[0])
    conn_id = await only_connection(a[0])
    body = encode_chat_message(ChatMessage(new_msg_id(), MsgNew(MsgContent("twice"))))
    await agent.send(conn_id, body)  # the same chat message twice (two agent messages)
    await agent.send(conn_id, body)
    m = await ok(a[0], "@bob after")
    await b[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert [x.text for x in b[1].of(MessageReceived)] == ["twice", "after"]


async def test_status_before_item_is_recorded(pair: tuple[Pair, Pair]) -> None:
    """The agent may report 'sent' before ``send`` returns: the status is not lost."""
    a, _ = pair
    m = await ok(a[0], "@bob quick")
    await a[1].wait(MessageStatus, T, msg_id=m.msg_id, status="delivered")
    history = (await ok(a[0], "/tail @bob")).messages
    assert history[0].status == "delivered"


async def test_quit_and_help(make_user: Any) -> None:
    a = await make_user("alice")
    assert "/connect" in (await ok(a[0], "/help")).text
    assert isinstance(await ok(a[0], "/quit"), OkResponse)
    assert a[0].quit_requested.is_set()


async def test_agent_events_are_idempotent(make_user: Any, restart: Any,
                                           server: EmbeddedServer) -> None:
    """The agent delivers an event again after a crash that came after the chat handled it
    but before the agent forgot it. Each crash here is real: alice starts again from the
    database as it was at that instant (the event still journaled)."""
    a = await make_user("alice")
    b = await make_user("bob")
    crash = Crash(a, lambda e: isinstance(e, ContactConnected))
    await connect(a, b, T)
    await crash.wait()
    assert "Connected" in crash.pending_agent_events()
    a = await restart(a, crash=crash)
    hello = await ok(b[0], "@alice hello again")  # comes after the replayed Connected
    await a[1].wait(MessageReceived, T, msg_id=hello.msg_id)
    await b[1].wait(MessageStatus, T, msg_id=hello.msg_id, status="delivered")

    # "sent": bob is away (no receipt yet) and the server down, so that the agent reports
    # it only once the server is back, long after the message was recorded
    await asyncio.wait_for(b[0].stop(), T)
    await asyncio.wait_for(server.stop(), T)
    crash = Crash(a, status_is("sent"))
    x = await ok(a[0], "@bob x")
    await asyncio.wait_for(server.start(), T)
    await crash.wait()
    assert "MessageSent" in crash.pending_agent_events()
    a = await restart(a, crash=crash)

    crash = Crash(a, status_is("delivered"))
    b = await restart(b)
    await b[1].wait(MessageReceived, T, msg_id=x.msg_id)
    await crash.wait()
    assert "DeliveryReceipt" in crash.pending_agent_events()
    a = await restart(a, crash=crash)
    later = await ok(b[0], "@alice still here")  # comes after the replayed receipt
    await a[1].wait(MessageReceived, T, msg_id=later.msg_id)

    assert len(a[1].of(Ready)) == 4  # the same recorder across the three restarts
    assert len(a[1].of(ContactConnected)) == 1
    assert len(a[1].of(MessageStatus)) == 2
    assert [s.status for s in a[1].of(MessageStatus)] == ["sent", "delivered"]


async def test_integrity_and_connection_errors_are_shown(pair: tuple[Pair, Pair],
                                                         restart: Any) -> None:
    a, b = pair
    address = (await ok(b[0], "/ad")).link
    first = await ok(a[0], "@bob before the gap")
    await b[1].wait(MessageReceived, T, msg_id=first.msg_id)
    await a[1].wait(MessageStatus, T, msg_id=first.msg_id, status="delivered")
    bobs_queue = RecipientQueue.from_dict(await queue_creds(b[0], "rcv"))
    alices_sender = SenderQueue.from_dict(await queue_creds(a[0], "snd"))

    # while bob is away, someone with his queue's credentials takes three messages
    await asyncio.wait_for(b[0].stop(), T)
    lost = [await ok(a[0], f"@bob lost {i}") for i in range(3)]
    stolen = await take_messages(bobs_queue, 3)
    async with a[0].db.session() as s:
        ids = sorted((await s.execute(select(ChatItem.agent_msg_id).where(
            ChatItem.shared_msg_id.in_([m.msg_id for m in lost])))).scalars())
    assert ids == list(range(ids[0], ids[0] + 3))
    after = await ok(a[0], "@bob after a gap")
    b = await restart(b)
    gap = await b[1].wait(IntegrityError, T, contact="alice")
    assert f"{ids[0]}..{ids[-1]}" in gap.error
    await b[1].wait(MessageReceived, T, msg_id=after.msg_id, text="after a gap")  # still shown

    forged = bytearray(stolen[0])
    forged[20] ^= 0x01  # one bit of the encrypted ratchet header
    await send_raw(alices_sender, bytes(forged))
    err = await b[1].wait(ConnectionErrorEvent, T)
    assert (err.contact, err.error) == (
        "alice", "a message that failed authentication was refused "
        "(forged, tampered with, or not for this connection)")
    await send_to_address(address, b"garbage, not a contact request")
    assert (await b[1].wait(ConnectionErrorEvent, T)).contact is None


async def test_a_new_name_at_start_is_sent_to_contacts(pair: tuple[Pair, Pair],
                                                       make_user: Any,
                                                       tmp_path: Path) -> None:
    a, b = pair
    await asyncio.wait_for(a[0].stop(), T)
    a2 = await make_user("alice2", display_name="alicia", data_dir=tmp_path / "alice")
    assert a2[1].all[0] == Ready("alicia")
    await b[1].wait(ContactUpdated, T, contact="alice", display_name="alicia")
