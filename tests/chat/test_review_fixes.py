"""Fixes from a review of the chat core, each shown with real agents on a real server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, text

from simplextui.agent import Agent
from simplextui.chat import contacts as contacts_q
from simplextui.chat import messages as items_q
from simplextui.chat.commands import CommandError, parse_command
from simplextui.chat.core import ChatCore
from simplextui.chat.datalock import DataDirBusy
from simplextui.chat.events import (
    ChatEvent,
    ContactConnected,
    ContactRequestReceived,
    ContactUpdated,
    MessageReceived,
    MessageStatus,
    ReactionChanged,
)
from simplextui.protocol.chat_events import MsgContent, Quote, new_msg_id
from simplextui.server.runner import EmbeddedServer
from simplextui.store.chat_models import ChatItem
from tests.chat.conftest import Crash
from tests.chat.helpers import Pair, error, ok

T = 10.0  # every wait is bounded


async def raw_send(core: ChatCore, body: bytes) -> None:
    """Send ``body`` as a chat message on the user's only connection, as a broken or hostile
    client could (the real agent, no chat-layer encoding)."""
    agent = core.agent
    assert isinstance(agent, Agent)
    (conn_id,) = await agent.connection_ids()
    await agent.send(conn_id, body)


async def unprocessed(core: ChatCore) -> int:
    """Received messages the chat never told its agent it was done with (re-handled, and
    unacknowledged to the sender, at every start)."""
    async with core.db.session() as s:
        return int((await s.execute(
            text("SELECT count(*) FROM agent_inbox WHERE processed = 0"))).scalar_one())


async def test_text_that_is_not_unicode_is_skipped_not_retried(pair: tuple[Pair, Pair]) -> None:
    """JSON can carry a lone surrogate (``\\ud800``), which no database text column takes:
    the message is skipped like a malformed one, instead of failing its handler forever."""
    a, b = pair
    for event in ('"event":"x.msg.new","params":{"content":{"type":"text","text":"a \\ud800"}}',
                  '"event":"x.info","params":{"profile":{"displayName":"x\\udfff"}}'):
        await raw_send(a[0], f'{{"v":"1-1","msgId":"{new_msg_id()}",{event}}}'.encode())
    after = await ok(a[0], "@bob after")
    await b[1].wait(MessageReceived, T, msg_id=after.msg_id)
    assert await unprocessed(b[0]) == 0
    assert [m.text for m in (await ok(b[0], "/tail @alice")).messages] == ["after"]
    assert b[1].of(ContactUpdated) == []
    assert (await ok(b[0], "/info @alice")).contact.display_name == "alice"


@pytest.mark.parametrize("line", ["/info #team", "/code #team", "/verify #team 12345"])
def test_a_group_where_a_contact_is_expected_is_called_a_group(line: str) -> None:
    """Groups exist: the error must not say they are "not supported yet"."""
    with pytest.raises(CommandError, match="#team is a group; this command takes a contact"):
        parse_command(line)


HOLD_LOCK = """
import sys
from pathlib import Path
from simplextui.chat import datalock
datalock.acquire(Path(sys.argv[1]))
print("locked", flush=True)
sys.stdin.read()
"""


async def test_a_data_dir_in_use_by_another_process_is_refused(tmp_path: Path,
                                                              server: EmbeddedServer) -> None:
    """Two processes on one database would both subscribe to its queues and advance its
    ratchets (the TUI and a headless client, say): the chat core refuses to start."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_LOCK, str(tmp_path / "alice"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), T) == b"locked\n"
        core = ChatCore(tmp_path / "alice", [server.address], display_name="alice")
        with pytest.raises(DataDirBusy, match="another simplextui client"):
            await asyncio.wait_for(core.start(), T)
        await core.stop()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        await asyncio.wait_for(holder.wait(), T)
    core = ChatCore(tmp_path / "alice", [server.address], display_name="alice")
    await asyncio.wait_for(core.start(), T)  # the holder ended: the lock went with it
    await asyncio.wait_for(core.stop(), T)


async def test_a_read_receipt_costs_one_query_not_one_per_message(
        pair: tuple[Pair, Pair]) -> None:
    """A receipt names up to 500 messages: they are looked up together."""
    a, b = pair
    count = 25
    sent = [(await ok(a[0], f"@bob m{i}")).msg_id for i in range(count)]
    for msg_id in sent:
        await a[1].wait(MessageStatus, T, msg_id=msg_id, status="delivered")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "chat_items" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = a[0].db.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        await ok(b[0], "/read @alice")
        for msg_id in sent:
            await a[1].wait(MessageStatus, T, msg_id=msg_id, status="read")
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert len(statements) <= 3, statements
    assert [m.status for m in (await ok(a[0], "/tail @bob 25")).messages] == ["read"] * count


async def test_reacting_twice_or_removing_no_reaction_is_an_error(
        pair: tuple[Pair, Pair]) -> None:
    """As in SimpleX: the user learns nothing changed (and nothing is sent)."""
    a, b = pair
    m = await ok(a[0], "@bob react to me")
    await b[1].wait(MessageReceived, T, msg_id=m.msg_id)
    assert "no 👍 reaction on it" in await error(b[0], f"/unreact @alice {m.msg_id} 👍")
    await ok(b[0], f"/react @alice {m.msg_id} 👍")
    assert "already reacted 👍" in await error(b[0], f"/react @alice {m.msg_id} 👍")
    assert "already reacted 👍" in await error(b[0], "+1 @alice react")
    await a[1].wait(ReactionChanged, T, msg_id=m.msg_id, add=True)
    await ok(b[0], f"/unreact @alice {m.msg_id} 👍")
    await a[1].wait(ReactionChanged, T, msg_id=m.msg_id, add=False)
    await ok(b[0], f"/react @alice {m.msg_id} 👍")  # added again after removal
    await a[1].wait(ReactionChanged, T, msg_id=m.msg_id, add=True)
    assert len(a[1].of(ReactionChanged)) == 3


async def test_connecting_to_ones_own_address_is_refused(make_user: Any) -> None:
    """It used to send a request to oneself, and accepting it made a contact of oneself."""
    a = await make_user("alice")
    b = await make_user("bob")
    address = (await ok(a[0], "/ad")).link
    assert "your own contact address" in await error(a[0], f"/c {address}")
    assert (await ok(a[0], "/requests")).requests == []
    await ok(b[0], f"/c {address}")  # others still can
    request = await a[1].wait(ContactRequestReceived, T)
    assert request.contact == "bob"


async def test_a_message_committed_but_never_handed_to_the_agent_is_sent_at_start(
        pair: tuple[Pair, Pair], restart: Any) -> None:
    """A process that ends between committing a message and the agent taking it left it
    "pending" for ever, in no outbox: the next start sends it (quote included)."""
    a, b = pair
    hi = await ok(b[0], "@alice hi alice")
    await a[1].wait(MessageReceived, T, msg_id=hi.msg_id)
    left = new_msg_id()
    async with a[0].db.session() as s, s.begin():  # what the first step of a send commits
        bob = await contacts_q.by_name(s, "bob")
        assert bob is not None
        await items_q.insert_sent(s, bob.id, left, "left behind",
                                  Quote(hi.msg_id, MsgContent("hi alice"), sent=False))
    a = await restart(a)
    got = await b[1].wait(MessageReceived, T, msg_id=left)
    assert got.text == "left behind"
    assert got.quote is not None and (got.quote.msg_id, got.quote.from_) == (hi.msg_id, "bob")
    await a[1].wait(MessageStatus, T, msg_id=left, status="delivered")
    mine = (await ok(a[0], "/tail @bob")).messages
    assert [(m.text, m.status) for m in mine][-1] == ("left behind", "delivered")
    first = await agent_id_of(a[0], left)
    a = await restart(a)  # handed over once: not again at the next start
    assert await agent_id_of(a[0], left) == first is not None


async def agent_id_of(core: ChatCore, msg_id: str) -> int | None:
    async with core.db.session() as s:
        return (await s.execute(select(ChatItem.agent_msg_id).where(
            ChatItem.shared_msg_id == msg_id))).scalar_one()


async def test_a_full_name_can_be_cleared(pair: tuple[Pair, Pair]) -> None:
    """``/p NAME`` sets the full name to none, as in SimpleX (it used to keep the old one, so
    a full name once set could never be removed, and the TUI's settings could not clear it)."""
    a, b = pair
    assert (await ok(a[0], "/p alice Alice Liddell")).full_name == "Alice Liddell"
    await b[1].wait(ContactUpdated, T, full_name="Alice Liddell")
    assert (await ok(a[0], "/p alice")).full_name == ""
    await b[1].wait(ContactUpdated, T, full_name="")
    assert (await ok(b[0], "/info @alice")).contact.full_name == ""


async def test_a_wrong_code_says_what_the_verified_mark_is(pair: tuple[Pair, Pair]) -> None:
    """A mistyped code changes nothing; the error must not claim a verified contact is not."""
    a, _ = pair
    assert "@bob is NOT verified" in await error(a[0], "/verify @bob 12345")
    code = (await ok(a[0], "/code @bob")).code
    assert (await ok(a[0], f"/verify @bob {code}")).verified is True
    assert "@bob stays verified" in await error(a[0], "/verify @bob 12345")
    assert (await ok(a[0], "/info @bob")).contact.verified is True


class CrashThere(Crash):
    """A :class:`Crash` after which the process does nothing more: the handler that emitted
    the event hangs there until the core is stopped (so its next steps never run)."""

    async def __call__(self, event: ChatEvent) -> None:
        before = self.taken.is_set()
        await super().__call__(event)
        if not before and self.taken.is_set():
            await asyncio.Event().wait()


async def test_a_request_replayed_after_a_crash_is_still_auto_accepted(
        make_user: Any, restart: Any) -> None:
    """A crash after the request was stored and shown, before auto-accept ran: the agent
    delivers the request again, and it used to be taken for a mere repeat, never accepted."""
    a = await make_user("alice")
    b = await make_user("bob")
    address = (await ok(a[0], "/ad")).link
    await ok(a[0], "/auto_accept on")
    crash = CrashThere(a, lambda e: isinstance(e, ContactRequestReceived))
    await ok(b[0], f"/c {address}")
    await crash.wait()
    assert "ConnectionRequest" in crash.pending_agent_events()
    a = await restart(a, crash=crash)
    await a[1].wait(ContactConnected, T, contact="bob")
    await b[1].wait(ContactConnected, T, contact="alice")
    assert (await ok(a[0], "/requests")).requests == []
    assert len(a[1].of(ContactRequestReceived)) == 1  # shown once, not again on the replay
