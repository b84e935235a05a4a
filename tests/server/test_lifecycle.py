"""Queue life cycle against a real server: create, secure, send, receive, suspend, delete."""

from __future__ import annotations

import socket

import pytest

from simplextui.crypto.queue_auth import open_delivery
from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode
from simplextui.server.runner import EmbeddedServer
from tests.server.raw_client import ClientFactory, RawClient

AUTH = q.Err(ErrorCode.AUTH)


async def test_create_secure_send_receive_ack(client: RawClient) -> None:
    queue = await client.new_queue()
    assert len(queue.recipient_id) == len(queue.sender_id) == q.ID_SIZE
    assert queue.recipient_id != queue.sender_id
    await client.secure(queue)
    assert await client.send(queue, b"hello") == q.Ok()
    assert await client.send(queue, b"world") == q.Ok()
    await client.no_frame(0.1)  # nothing is delivered before SUB
    assert await client.subscribe(queue) == q.Ok()
    first = await client.receive(queue)
    assert first.message.body == b"hello"
    assert first.message.kind == q.MessageKind.MESSAGE
    assert await client.ack(queue, first.frame.msg_id) == q.Ok()
    second = await client.receive(queue)
    assert second.message.body == b"world"
    assert second.frame.msg_id != first.frame.msg_id
    assert await client.ack(queue, second.frame.msg_id) == q.Ok()
    await client.no_frame(0.2)
    # A message sent to a subscribed, idle queue is delivered at once.
    assert await client.send(queue, b"again") == q.Ok()
    assert (await client.receive(queue)).message.body == b"again"


async def test_flags_and_timestamp_are_delivered(client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    info = await client.open_session()  # a fresh session: keys are not session-bound
    await client.stream()
    resp = await client.one(queue.sender_id, q.Send(b"ping", q.FLAG_NOTIFY), queue.sender_mac_key)
    assert resp == q.Ok()
    await client.subscribe(queue)
    got = await client.receive(queue)
    assert got.message.flags == q.FLAG_NOTIFY
    assert abs(got.message.timestamp_ms - info.server_time_ms) < 60_000


async def test_sender_and_recipient_in_different_sessions(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    alice = await make_client(server, stream=True)
    bob = await make_client(server)
    queue = await alice.new_queue()
    await bob.secure(queue)
    await alice.subscribe(queue)
    assert await bob.send(queue, b"from bob") == q.Ok()
    assert (await alice.receive(queue)).message.body == b"from bob"


async def test_suspended_queue_refuses_sends_but_delivers_queued(client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    assert await client.send(queue, b"before") == q.Ok()
    assert await client.one(queue.recipient_id, q.Suspend(), queue.recipient_mac_key) == q.Ok()
    assert await client.send(queue, b"after") == AUTH
    await client.subscribe(queue)
    got = await client.receive(queue)
    assert got.message.body == b"before"
    assert await client.ack(queue, got.frame.msg_id) == q.Ok()
    await client.no_frame(0.2)
    assert await client.send(queue, b"still refused") == AUTH


async def test_deleted_queue_refuses_everything_and_notifies_subscriber(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    subscriber = await make_client(server, stream=True)
    owner = await make_client(server, stream=True)
    queue = await owner.new_queue()
    await owner.secure(queue)
    assert await owner.send(queue, b"doomed") == q.Ok()
    await subscriber.subscribe(queue)
    assert (await subscriber.receive(queue)).message.body == b"doomed"
    assert await owner.one(queue.recipient_id, q.Delete(), queue.recipient_mac_key) == q.Ok()
    assert await subscriber.next_frame() == q.DeletedFrame(queue.recipient_id)
    await owner.no_frame(0.1)  # the session that deleted is not told
    rkey = queue.recipient_mac_key
    assert await owner.run([
        (queue.recipient_id, q.Subscribe(), rkey),
        (queue.recipient_id, q.Ack(bytes(q.ID_SIZE)), rkey),
        (queue.recipient_id, q.Suspend(), rkey),
        (queue.recipient_id, q.Delete(), rkey),
        (queue.sender_id, q.Send(b"x"), queue.sender_mac_key),
        (queue.sender_id, q.SecureQueue(queue.sender_pair.public), queue.sender_mac_key),
    ]) == [AUTH] * 6


async def test_resubscribe_from_another_session_ends_the_first(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    first = await make_client(server, stream=True)
    second = await make_client(server, stream=True)
    queue = await first.new_queue()
    await first.secure(queue)
    await first.subscribe(queue)
    assert await second.subscribe(queue) == q.Ok()
    assert await first.next_frame() == q.EndFrame(queue.recipient_id)
    assert await first.send(queue, b"to the second") == q.Ok()
    assert (await second.receive(queue)).message.body == b"to the second"
    await first.no_frame(0.2)
    # The first session lost the subscription: its ACKs no longer apply.
    assert await first.ack(queue, bytes(q.ID_SIZE)) == q.Err(ErrorCode.NO_MSG)


async def test_skey_retry_same_key_ok_other_key_auth(client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    assert queue.sender_pair is not None
    retry = await client.one(queue.sender_id, q.SecureQueue(queue.sender_pair.public),
                             queue.sender_mac_key)
    assert retry == q.Ok()
    pair, mac_key = client.sender_keys(queue)
    assert await client.one(queue.sender_id, q.SecureQueue(pair.public), mac_key) == AUTH
    # The original sender key still works, the other one does not.
    assert await client.one(queue.sender_id, q.Send(b"x"), mac_key) == AUTH
    assert await client.send(queue, b"y") == q.Ok()


async def test_skey_must_be_authenticated_by_the_new_key(client: RawClient) -> None:
    queue = await client.new_queue()
    pair, mac_key = client.sender_keys(queue)
    _, other_mac = client.sender_keys(queue)
    assert await client.one(queue.sender_id, q.SecureQueue(pair.public), None) == AUTH
    assert await client.one(queue.sender_id, q.SecureQueue(pair.public), other_mac) == AUTH
    assert await client.one(queue.sender_id, q.SecureQueue(pair.public), mac_key) == q.Ok()


async def test_contact_queue_accepts_unsigned_send_and_prohibits_skey(
        client: RawClient) -> None:
    queue = await client.new_queue(q.QueueMode.CONTACT)
    pair, mac_key = client.sender_keys(queue)
    skey = await client.one(queue.sender_id, q.SecureQueue(pair.public), mac_key)
    assert skey == q.Err(ErrorCode.PROHIBITED)
    assert await client.one(queue.sender_id, q.Send(b"request 1"), None) == q.Ok()
    assert await client.one(queue.sender_id, q.Send(b"request 2"), None) == q.Ok()
    # A signed SEND makes no sense on a contact queue (no sender key exists).
    assert await client.one(queue.sender_id, q.Send(b"signed"), mac_key) == AUTH
    await client.subscribe(queue)
    for body in (b"request 1", b"request 2"):
        got = await client.receive(queue)
        assert got.message.body == body
        await client.ack(queue, got.frame.msg_id)


async def test_messaging_queue_refuses_unsigned_send(client: RawClient) -> None:
    queue = await client.new_queue()
    assert await client.one(queue.sender_id, q.Send(b"too early"), None) == AUTH
    await client.secure(queue)
    assert await client.one(queue.sender_id, q.Send(b"unsigned"), None) == AUTH
    assert await client.one(queue.sender_id, q.Send(b"recipient key"),
                            queue.recipient_mac_key) == AUTH
    await client.subscribe(queue)
    await client.no_frame(0.2)  # none of the refused sends was stored


async def test_recipient_commands_need_the_recipient_key(client: RawClient) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    for cmd in (q.Subscribe(), q.Suspend(), q.Delete()):
        assert await client.one(queue.recipient_id, cmd, None) == AUTH
        assert await client.one(queue.recipient_id, cmd, queue.sender_mac_key) == AUTH
    # Sender commands are addressed by the sender id; the recipient id does not work.
    assert await client.one(queue.recipient_id, q.Send(b"x"), queue.sender_mac_key) == AUTH
    assert await client.send(queue, b"still active") == q.Ok()


@pytest.mark.parametrize("size", [0, 1, 100, 4_000, q.MAX_BODY])
async def test_delivered_blocks_have_one_size_and_hide_the_body(
        client: RawClient, size: int) -> None:
    queue = await client.new_queue()
    await client.secure(queue)
    body = bytes((i * 7 + 3) % 251 + 1 for i in range(size))  # no zero bytes
    assert await client.send(queue, body) == q.Ok()
    await client.subscribe(queue)
    frame = await client.next_frame()
    assert isinstance(frame, q.MessageFrame)
    assert len(frame.encrypted) == q.DELIVERY_BLOCK
    padded_in = q.pad_body(body)
    assert frame.encrypted != padded_in
    assert frame.encrypted[: len(padded_in)] != padded_in
    if size >= 16:
        assert body[:16] not in frame.encrypted
        assert body[-16:] not in frame.encrypted
    plain = open_delivery(queue.delivery_key, frame.msg_id, frame.encrypted)
    assert q.decode_delivered(plain).body == body


async def test_server_connections_disable_nagle(server: EmbeddedServer,
                                                client: RawClient) -> None:
    """A response's headers and body go out as two TLS records; with Nagle on, the body
    waits for the client's delayed ACK (about 40 ms a request). Checked on the sockets."""
    assert await client.one(b"", q.Ping()) == q.Pong()
    uv = server._uvicorn
    assert uv is not None
    sockets = [conn.transport.get_extra_info("socket")
               for conn in uv.server_state.connections]
    assert sockets
    for sock in sockets:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
