"""Bad calls to the Agent API get a clear, typed error, change nothing, and leave the agent
working: unknown ids, wrong types, oversized bodies and infos, calls on connections that
cannot do that yet, and calls that need a server that is down."""

from __future__ import annotations

import pytest

from simplextui.agent import (
    MAX_INFO_SIZE,
    MAX_MESSAGE_SIZE,
    AddressNotFound,
    AgentError,
    Connected,
    ConnectionNotFound,
    ConnectionNotReady,
)
from simplextui.server.runner import EmbeddedServer
from tests.agent.conftest import MakePeer, connect, fast_config


async def test_unknown_ids_wrong_types_and_sizes(server: EmbeddedServer,
                                                 make_peer: MakePeer) -> None:
    alice = await make_peer("alice", [server.address])
    bob = await make_peer("bob", [server.address])
    a_conn, b_conn = await connect(alice, bob)
    a = alice.a

    with pytest.raises(ConnectionNotFound, match="nope"):
        await a.send("nope", b"x")
    with pytest.raises(ConnectionNotFound):
        await a.delete_connection("nope")
    with pytest.raises(ConnectionNotFound):
        await a.delete_connection("nope", after_outbox=True)
    with pytest.raises(ConnectionNotFound):
        await a.safety_code("nope")
    with pytest.raises(AgentError, match="no pending contact request"):
        await a.accept_request("nope", b"alice")
    with pytest.raises(AddressNotFound):
        await a.delete_address("nope")
    await a.message_processed("nope", 1)  # nothing to do: no error, nothing changes

    with pytest.raises(AgentError, match="must be bytes"):
        await a.send(a_conn, "text")  # type: ignore[arg-type]
    with pytest.raises(AgentError, match=f"at most {MAX_MESSAGE_SIZE}"):
        await a.send(a_conn, b"x" * (MAX_MESSAGE_SIZE + 1))
    with pytest.raises(AgentError, match="must be bytes"):
        await a.send_many([(a_conn, b"ok"), (a_conn, None)])  # type: ignore[list-item]
    with pytest.raises(AgentError, match="must be bytes"):
        await a.create_invitation("alice")  # type: ignore[arg-type]
    with pytest.raises(AgentError, match=f"at most {MAX_INFO_SIZE}"):
        await a.create_invitation(b"x" * (MAX_INFO_SIZE + 1))
    _, link = await bob.a.create_invitation(b"bob")
    with pytest.raises(AgentError, match=f"at most {MAX_INFO_SIZE}"):
        await a.join(link, b"x" * (MAX_INFO_SIZE + 1))
    with pytest.raises(AgentError, match="pq must be"):
        await a.create_invitation(b"alice", pq="yes")  # type: ignore[arg-type]

    pending, _ = await a.create_invitation(b"alice")  # nobody joined: no keys yet
    with pytest.raises(ConnectionNotReady):
        await a.send(pending, b"too early")
    with pytest.raises(ConnectionNotReady):
        await a.safety_code(pending)

    # The largest message still goes, and nothing above left a trace on the connection.
    biggest = b"y" * MAX_MESSAGE_SIZE
    await a.send(a_conn, biggest)
    await a.send(a_conn, b"after")
    assert await bob.wait_bodies(b_conn, 2) == [biggest, b"after"]
    assert sorted(await a.connection_ids()) == sorted([a_conn, pending])


async def test_calls_that_need_a_server_that_is_down(server: EmbeddedServer,
                                                     make_peer: MakePeer) -> None:
    options = {"timeout": 1.0, "backoff_base": 0.05, "backoff_cap": 0.2, "ping_timeout": 10.0}
    config = fast_config(client_options=options)
    alice = await make_peer("alice", [server.address], config=config)
    bob = await make_peer("bob", [server.address], config=config)
    g_id, g_link = await alice.a.add_address(kind="g", app_data=b"before")
    _, invitation = await alice.a.create_invitation(b"alice")
    await server.stop()

    with pytest.raises(AgentError, match="unreachable"):
        await bob.a.join(invitation, b"bob")
    with pytest.raises(AgentError, match="unreachable"):
        await bob.a.get_link_data(g_link, kind="g")
    with pytest.raises(AgentError, match="unreachable"):
        await alice.a.create_invitation(b"alice")
    with pytest.raises(AgentError, match="unreachable"):
        await alice.a.add_address(kind="g")
    with pytest.raises(AgentError, match="cannot update"):
        await alice.a.update_address_data(g_id, b"after")
    assert [a.app_data for a in await alice.a.list_addresses()] == [b"before"]
    assert await bob.a.connection_ids() == []  # the failed join left nothing behind

    await server.start()
    assert await bob.a.get_link_data(g_link, kind="g") == b"before"
    b_conn = await bob.a.join(invitation, b"bob")  # the invitation was not used up
    (a_conn,) = await alice.a.connection_ids()
    await alice.wait_event(Connected, conn_id=a_conn)
    await bob.wait_event(Connected, conn_id=b_conn)
