"""Joins and server-side clean-ups that meet an unreachable (or busy) server are finished
later, not lost.

- A join whose SKEY the server took but whose answer never came back (the server went down)
  fails; retried once the server is back, it sends the same stored key, which the server
  accepts again (before: a new key, refused as "already used"). A refused join, a rejected
  request and a join nobody retried are abandoned, and the queue made for them deleted.
- Deleting a connection while its server is down records the deletion of our queue (and the
  farewell): both happen once the server is back, while running or at the next start. So do
  the deletion of a used one-time link record refused once, and of a queue made for a
  creation that then failed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from simplextui.agent import AgentError, Connected, ConnectionDeleted, ConnectionRequest
from simplextui.protocol.errors import ErrorCode
from simplextui.protocol.queue import Ok
from simplextui.server.runner import EmbeddedServer
from simplextui.store.agent_models import AgentPendingDeletion, AgentPendingJoin, AgentQueue
from simplextui.transport import QueueClient, SenderQueue, ServerError
from tests.agent.conftest import MakePeer, Peer, connect, fast_config
from tests.agent.helpers import FAST_CLIENT, sender_of

T = 20.0  # bound of every wait (the agent's client gives up on a server after 5 s)


def lose_the_answer_to_skey(server: EmbeddedServer) -> asyncio.Event:
    """The server takes the next SKEY, commits it, and goes down before answering (a crash
    or a network cut at the worst moment). The returned event is set once it is down."""
    core: Any = server.core
    took: list[object] = []
    down = asyncio.Event()
    secure, handle_batch = core._secure, core.handle_batch

    def noting_secure(*args: Any) -> Any:
        answer = secure(*args)
        if isinstance(answer, Ok):
            took.append(answer)
        return answer

    async def stop() -> None:
        await server.stop()
        down.set()

    stopping: list[asyncio.Task[None]] = []

    async def losing_handle_batch(*args: Any) -> bytes:
        answer: bytes = await handle_batch(*args)
        if took:
            if not stopping:
                stopping.append(asyncio.get_running_loop().create_task(stop()))
            raise ConnectionResetError("the server went down before answering")
        return answer

    core._secure, core.handle_batch = noting_secure, losing_handle_batch
    return down


async def count(peer: Peer, model: Any, *where: Any) -> int:
    assert peer.db is not None
    async with peer.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model)
                                    .where(*where))).scalar_one())


async def test_join_retried_after_a_lost_skey_answer_connects(make_server: Any,
                                                              make_peer: MakePeer) -> None:
    alices_server, bobs_server = await make_server("alice-srv"), await make_server("bob-srv")
    alice = await make_peer("alice", [alices_server.address])
    bob = await make_peer("bob", [bobs_server.address])
    a_conn, link = await alice.a.create_invitation(b"alice")

    down = lose_the_answer_to_skey(alices_server)
    with pytest.raises(AgentError, match="cannot use the invitation"):
        await asyncio.wait_for(bob.a.join(link, b"bob"), T)
    await asyncio.wait_for(down.wait(), T)
    assert await count(bob, AgentPendingJoin) == 1  # the key it sent is kept
    assert await bob.a.connection_ids() == []

    await alices_server.start()
    b_conn = await asyncio.wait_for(bob.a.join(link, b"bob"), T)
    await alice.wait_event(Connected, T, conn_id=a_conn)
    await bob.wait_event(Connected, T, conn_id=b_conn)
    assert await count(bob, AgentPendingJoin) == 0
    assert await count(bob, AgentQueue, AgentQueue.role == "rcv") == 1  # one queue made
    await alice.a.send(a_conn, b"hello after the outage")
    assert await bob.wait_bodies(b_conn, 1, T) == [b"hello after the outage"]


async def test_accepting_a_request_while_its_server_is_down(make_server: Any,
                                                            make_peer: MakePeer) -> None:
    """Accepting joins the requester's queue: with its server down the accept fails with
    a clear error and the request stays; accepted again later, the pair connects."""
    alices_server, bobs_server = await make_server("alice-srv"), await make_server("bob-srv")
    alice = await make_peer("alice", [alices_server.address])
    bob = await make_peer("bob", [bobs_server.address])
    address = await alice.a.create_address()
    b_conn = await bob.a.join(address, b"bob")
    request = await alice.wait_event(ConnectionRequest, T)

    await bobs_server.stop()
    with pytest.raises(AgentError, match="unreachable"):
        await asyncio.wait_for(alice.a.accept_request(request.request_id, b"alice"), T)
    await bobs_server.start()
    a_conn = await asyncio.wait_for(alice.a.accept_request(request.request_id, b"alice"), T)
    await alice.wait_event(Connected, T, conn_id=a_conn)
    await bob.wait_event(Connected, T, conn_id=b_conn)
    assert await count(alice, AgentPendingJoin) == 0


async def test_a_used_invitation_abandons_the_join_and_its_queue(server: EmbeddedServer,
                                                                 make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    carol = await make_peer("carol", [server.address])
    _, link = await alice.a.create_invitation(b"alice")
    handshake: Any = carol.a._handshake  # carol read the link before bob used it
    _, invitation, _ = await handshake.fetch_link(link)
    await bob.a.join(link, b"bob")
    with pytest.raises(AgentError, match="already used"):
        await handshake.join_invitation(invitation, b"carol", pq=True)
    assert await count(carol, AgentPendingJoin) == 0
    assert await carol.a.connection_ids() == []
    await asyncio.wait_for(_until_gone(carol), T)  # the queue made for it was deleted


async def _until_gone(peer: Peer) -> None:
    """No server-side clean-up is left to do."""
    while True:
        if not await count(peer, AgentPendingDeletion):
            return
        await asyncio.sleep(0.05)


async def _refused(sender: SenderQueue) -> ServerError | None:
    async with QueueClient(sender.server, **FAST_CLIENT) as client:
        try:
            await client.send(sender, b"x" * 16)
        except ServerError as exc:
            return exc
    return None


async def _until_queue_gone(sender: SenderQueue) -> None:
    """Sending to the queue is refused with AUTH (deleted) within ``T``."""
    async with asyncio.timeout(T):
        while True:
            error = await _refused(sender)
            if error is not None:
                assert error.code == ErrorCode.AUTH, error
                return
            await asyncio.sleep(0.1)


async def _until_attempted(peer: Peer) -> None:
    """Every recorded clean-up was tried (and failed) at least once."""
    while True:
        if not await count(peer, AgentPendingDeletion, AgentPendingDeletion.attempts == 0):
            return
        await asyncio.sleep(0.05)


async def test_queue_deleted_while_its_server_was_down_goes_when_it_is_back(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    quick = {"timeout": 1.0, "backoff_base": 0.05, "backoff_cap": 0.2, "ping_timeout": 10.0}
    alice = await make_peer("alice", [server.address],
                            config=fast_config(client_options=quick))
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    to_alice = await sender_of(bob, b_conn)  # bob's credentials for alice's queue

    await server.stop()
    await asyncio.wait_for(alice.a.delete_connection(a_conn), T)  # does not wait for it
    assert a_conn not in await alice.a.connection_ids()
    assert await count(alice, AgentPendingDeletion) == 2  # our queue, the farewell DEL
    await asyncio.wait_for(_until_attempted(alice), T)  # the client gave up on them once
    assert await count(alice, AgentPendingDeletion) == 2  # kept for another attempt
    await server.start()

    await _until_queue_gone(to_alice)
    await bob.wait_event(ConnectionDeleted, T, conn_id=b_conn, by_peer=True)  # the DEL too
    await asyncio.wait_for(_until_gone(alice), T)


async def test_queue_deletion_left_by_a_stopped_agent_is_done_at_start(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    to_alice = await sender_of(bob, b_conn)

    await server.stop()
    await alice.a.delete_connection(a_conn)
    await alice.stop()  # before the server is back: the deletion waits in the database
    await server.start()
    assert await _refused(to_alice) is None  # the queue is still there
    await alice.start()
    await _until_queue_gone(to_alice)
    await bob.wait_event(ConnectionDeleted, T, conn_id=b_conn, by_peer=True)
    await asyncio.wait_for(_until_gone(alice), T)


def live_queues(server: EmbeddedServer) -> set[bytes]:
    core: Any = server.core
    return {rid for rid, state in core._by_rid.items() if not state.deleted}


@pytest.mark.parametrize("what", ["invitation", "address"])
async def test_a_queue_made_for_a_failed_creation_is_deleted(server: EmbeddedServer,
                                                             make_peer: MakePeer,
                                                             what: str) -> None:
    """The queue is made, then the link record cannot be: the queue does not stay on the
    server (before: nothing referred to it any more)."""
    from simplextui.protocol.queue import Err

    alice = await make_peer("alice", [server.address])
    before = live_queues(server)
    core: Any = server.core
    core._link_new = lambda *args: Err(ErrorCode.INTERNAL)
    with pytest.raises(AgentError, match="cannot create the link"):
        if what == "invitation":
            await alice.a.create_invitation(b"alice")
        else:
            await alice.a.add_address(kind="g")
    assert await alice.a.connection_ids() == []
    await asyncio.wait_for(_until_gone(alice), T)
    assert live_queues(server) == before


async def _failed_accept(make_server: Any, make_peer: MakePeer, **config: Any
                         ) -> tuple[Any, Any, ConnectionRequest, bytes]:
    """Alice accepts bob's request while bob's server is down: the accept fails and her join
    is saved. (alice, her server, the request, the recipient id of the queue she made)."""
    from simplextui.transport import RecipientQueue

    alices_server, bobs_server = await make_server("alice-srv"), await make_server("bob-srv")
    alice = await make_peer("alice", [alices_server.address], config=fast_config(**config))
    bob = await make_peer("bob", [bobs_server.address])
    await bob.a.join(await alice.a.create_address(), b"bob")
    request = await alice.wait_event(ConnectionRequest, T)
    await bobs_server.stop()
    with pytest.raises(AgentError, match="unreachable"):
        await asyncio.wait_for(alice.a.accept_request(request.request_id, b"alice"), T)
    assert alice.db is not None
    async with alice.db.session() as s:
        creds = (await s.execute(select(AgentPendingJoin.rcv))).scalar_one()
    return alice, alices_server, request, RecipientQueue.from_dict(creds).recipient_id


async def test_a_join_nobody_retried_is_abandoned_at_a_later_start(make_server: Any,
                                                                   make_peer: MakePeer) -> None:
    alice, alices_server, _, made = await _failed_accept(make_server, make_peer, join_keep=0.0)
    assert made in live_queues(alices_server)

    await alice.restart()  # kept for 0 s: abandoned
    assert await count(alice, AgentPendingJoin) == 0
    await asyncio.wait_for(_until_gone(alice), T)
    assert made not in live_queues(alices_server)


async def test_a_used_invitation_link_is_deleted_even_if_the_first_attempt_fails(
        server: EmbeddedServer, make_peer: MakePeer) -> None:
    """The inviter deletes the used link record after the confirmation; if its server
    refuses that once (busy), the record goes later without a restart (before: only at
    the next start)."""
    from simplextui.agent import LinkGone
    from simplextui.protocol.queue import Err, LinkDelete

    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    core: Any = server.core
    execute, refused = core._execute, []

    def busy_once(session: Any, t: Any, cmd: Any, *args: Any) -> Any:
        if isinstance(cmd, LinkDelete) and not refused:
            refused.append(cmd)
            return Err(ErrorCode.INTERNAL)
        return execute(session, t, cmd, *args)

    core._execute = busy_once
    a_conn, link = await alice.a.create_invitation(b"alice")
    b_conn = await bob.a.join(link, b"bob")
    await alice.wait_event(Connected, T, conn_id=a_conn)
    await bob.wait_event(Connected, T, conn_id=b_conn)
    handshake: Any = bob.a._handshake
    async with asyncio.timeout(T):
        while True:
            try:
                await handshake.fetch_link(link)
            except LinkGone:
                break
            await asyncio.sleep(0.05)
    assert refused  # the first attempt was refused


async def test_a_clean_up_failing_for_longer_than_kept_is_dropped(server: EmbeddedServer,
                                                                  make_peer: MakePeer) -> None:
    """A server gone for good is not tried forever (``cleanup_keep``; 0 here)."""
    quick = {"timeout": 1.0, "backoff_base": 0.05, "backoff_cap": 0.2, "ping_timeout": 10.0}
    alice = await make_peer("alice", [server.address],
                            config=fast_config(client_options=quick, cleanup_keep=0.0))
    bob = await make_peer("bob", [server.address])
    a_conn, _ = await connect(alice, bob)
    await server.stop()
    await alice.a.delete_connection(a_conn)
    await asyncio.wait_for(_until_gone(alice), T)  # tried once, then given up


async def test_rejecting_a_request_whose_accept_failed_abandons_the_join(
        make_server: Any, make_peer: MakePeer) -> None:
    alice, alices_server, request, made = await _failed_accept(make_server, make_peer)

    await alice.a.reject_request(request.request_id)  # changed her mind
    assert await count(alice, AgentPendingJoin) == 0
    await asyncio.wait_for(_until_gone(alice), T)
    assert made not in live_queues(alices_server)
