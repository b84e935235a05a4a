"""Forged, tampered, replayed and malformed messages, injected at the transport level with
the sender's own credentials: refused with ConnectionError, state unchanged, and the
connection keeps working."""

from __future__ import annotations

import asyncio
import os

from sqlalchemy import select

from simplextui.agent import ConnectionError, IntegrityStatus, MessageReceived
from simplextui.protocol import agent as wire
from simplextui.protocol.queue import MAX_BODY
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentOutbox, AgentQueue
from simplextui.store.db import open_database
from simplextui.transport import SenderQueue
from tests.agent.conftest import MakePeer, Peer, connect, fast_config
from tests.agent.helpers import Capture, raw_send, sender_of


async def _errors(peer: Peer, count: int, conn_id: str | None) -> list[str]:
    await peer.wait(lambda _: len(peer.of(ConnectionError, conn_id=conn_id)) >= count)
    return [e.error for e in peer.of(ConnectionError, conn_id=conn_id)]


async def _still_works(alice: Peer, bob: Peer, a_conn: str, b_conn: str, text: bytes) -> None:
    before = len(bob.bodies(b_conn))
    await alice.a.send(a_conn, text)
    bodies = await bob.wait_bodies(b_conn, before + 1)
    assert bodies[-1] == text
    last = bob.of(MessageReceived, conn_id=b_conn)[-1]
    assert last.integrity == IntegrityStatus.OK
    before_a = len(alice.bodies(a_conn))
    await bob.a.send(b_conn, b"reply " + text)
    assert (await alice.wait_bodies(a_conn, before_a + 1))[-1] == b"reply " + text


async def test_tampered_forged_and_malformed(server: EmbeddedServer,
                                             make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    carol = await make_peer("carol", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    a_carol, _ = await connect(alice, carol)
    capture = Capture(alice)
    msg_id = await alice.a.send(a_conn, b"genuine")
    other_id = await alice.a.send(a_carol, b"for carol")
    await bob.wait_bodies(b_conn, 1)
    await carol.wait(lambda _: len(carol.of(MessageReceived)) == 1)
    sender = await sender_of(alice, a_conn)

    genuine = capture.msg(a_conn, msg_id)
    tampered = bytearray(genuine)
    tampered[20] ^= 0x01  # one bit of the encrypted ratchet header
    forged = capture.msg(a_carol, other_id)  # a real message, but of another connection
    garbage = os.urandom(500)
    bad_version = b"\x00\x09M" + genuine[3:]
    truncated = genuine[:40]
    body_tampered = bytearray(genuine)
    body_tampered[-100] ^= 0x01  # the body of a message already received
    await raw_send(sender, bytes(tampered), forged, garbage, bad_version, truncated,
                   bytes(body_tampered))
    errors = await _errors(bob, 6, b_conn)
    assert "failed authentication" in errors[0]
    assert "failed authentication" in errors[1]
    assert "malformed" in errors[2]
    assert "unsupported agent version 9" in errors[3]
    assert "malformed" in errors[4]
    assert "already been received" in errors[5]
    assert bob.bodies(b_conn) == [b"genuine"]
    await _still_works(alice, bob, a_conn, b_conn, b"after the attack")

    # An envelope of a kind this version does not know is skipped without an error.
    await raw_send(sender, wire.envelope_header("Z") + b"future")
    await _still_works(alice, bob, a_conn, b_conn, b"after the unknown kind")
    assert len(bob.of(ConnectionError, conn_id=b_conn)) == 6


async def test_replayed_message(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    # A short digest window, so that an old copy reaches the ratchet (which refuses it).
    bob = await make_peer("bob", [server.address], config=fast_config(dedup_window=2))
    a_conn, b_conn = await connect(alice, bob)
    capture = Capture(alice)
    first = await alice.a.send(a_conn, b"first")
    for i in range(4):
        await alice.a.send(a_conn, f"more {i}".encode())
    await bob.wait_bodies(b_conn, 5)
    await raw_send(await sender_of(alice, a_conn), capture.msg(a_conn, first))
    errors = await _errors(bob, 1, b_conn)
    assert "replayed" in errors[0]
    await _still_works(alice, bob, a_conn, b_conn, b"after the replay")
    assert bob.bodies(b_conn).count(b"first") == 1


async def test_bad_contact_requests(server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    address = await alice.a.create_address()
    from simplextui.protocol.links import parse_link

    # What anyone who knows the address's queue could send: garbage, or a request sealed
    # to other keys.
    link = parse_link(address)
    assert alice.db is not None
    from sqlalchemy import select

    from simplextui.store.agent_models import AgentQueue
    from simplextui.transport import RecipientQueue

    async with alice.db.session() as s:
        creds = (await s.execute(select(AgentQueue.creds).where(
            AgentQueue.role == "address"))).scalar_one()
    rq = RecipientQueue.from_dict(creds)
    contact = SenderQueue(rq.sender_id, link.server, None, None)
    fake = wire.encode_envelope(wire.ContactRequestEnvelope(
        os.urandom(32), os.urandom(wire.KEM_CIPHERTEXT_SIZE), os.urandom(200)))
    await raw_send(contact, os.urandom(300), fake)
    errors = await _errors(alice, 2, None)
    assert "malformed contact request" in errors[0]
    assert "failed authentication" in errors[1] or "malformed" in errors[1]

    b_conn = await bob.a.join(address, b"bob")  # the address still works
    from simplextui.agent import Connected, ConnectionRequest

    request = await alice.wait_event(ConnectionRequest)
    a_conn = await alice.a.accept_request(request.request_id, b"alice")
    await bob.wait_event(Connected, conn_id=b_conn)
    await alice.wait_event(Connected, conn_id=a_conn)
    await asyncio.sleep(0)


async def test_a_row_that_cannot_be_encoded_fails_alone(server: EmbeddedServer,
                                                        make_peer: MakePeer) -> None:
    """A damaged outbox row (a body over the queue protocol's limit) in a round: it fails,
    with a ConnectionError on its connection, and the other rows of the round still go."""
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    carol = await make_peer("carol", [server.address])
    a_bob, _ = await connect(alice, bob)
    a_carol, c_conn = await connect(alice, carol)
    await server.stop()
    await alice.a.send(a_carol, b"for carol")  # waits in the outbox
    await alice.stop()
    db = await open_database(alice.path, create_all=True)
    async with db.session() as s, s.begin():
        queue_id = (await s.execute(select(AgentQueue.id).where(
            AgentQueue.conn_id == a_bob, AgentQueue.role == "snd"))).scalar_one()
        s.add(AgentOutbox(conn_id=a_bob, queue_id=queue_id, op="send", kind="MSG",
                          agent_msg_id=99, body=bytes(MAX_BODY + 1), msg_hash=bytes(32),
                          state="pending", attempts=0, created_at=0.0))
    await db.close()
    await server.start()
    await alice.start()  # one round: the damaged row, then carol's message
    assert await carol.wait_bodies(c_conn, 1) == [b"for carol"]
    error = await alice.wait_event(ConnectionError, conn_id=a_bob)
    assert "too large" in error.error
    assert not alice.of(ConnectionError, conn_id=a_carol)
