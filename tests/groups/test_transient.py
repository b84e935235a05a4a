"""An introduction that fails because a server is unreachable is handled again later, not
lost: the pair connects once the server is back (before, the message was acknowledged and
that pair of members never connected)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from simplextui.agent.errors import AgentError
from simplextui.agent.events import IntegrityStatus, MessageReceived
from simplextui.chat.events import MessageReceived as ChatMessageReceived
from simplextui.chat.groups.retry import Redelivery, is_transient
from simplextui.protocol.errors import ErrorCode
from simplextui.transport.errors import ServerError, ServerUnreachable
from tests.chat.helpers import connect, ok
from tests.groups.helpers import MESH_WAIT, T, invite_and_accept, invite_and_join, wait_mesh


async def test_introduction_survives_an_unreachable_server(make_user: Any,
                                                           make_server: Any) -> None:
    carols_server = await make_server("carol-server")
    alice, bob = await make_user("alice"), await make_user("bob")
    carol = await make_user("carol", servers=[carols_server.address])
    await ok(alice[0], "/g team")
    await connect(alice, bob, T)
    await invite_and_join(alice, bob, "team")
    await connect(alice, carol, T)

    # Bob gets carol's invitation (forwarded by alice) just as carol's server goes down: his
    # join of it fails with the server unreachable.
    groups: Any = bob[0]._inbound.groups  # type: ignore[union-attr]
    original = groups._member_forward
    failures: list[BaseException] = []
    failed = asyncio.Event()

    async def server_down_first(group: Any, sender: Any, event: Any) -> None:
        if not failures:
            await carols_server.stop()
        try:
            await original(group, sender, event)
        except AgentError as exc:
            failures.append(exc)
            failed.set()
            raise

    groups._member_forward = server_down_first
    await invite_and_accept(alice, carol, "team")
    await asyncio.wait_for(failed.wait(), T + 15)  # the transport gives up after its timeout
    assert is_transient(failures[0]), failures[0]
    assert groups.redelivery.pending() == 1  # kept for another attempt, not acknowledged

    await carols_server.start()
    await wait_mesh([alice, bob, carol])
    assert groups.redelivery.pending() == 0
    await ok(carol[0], "#team hello after the outage")
    for user in (alice, bob):
        await user[1].wait(ChatMessageReceived, MESH_WAIT, chat="#team", from_="carol",
                           text="hello after the outage")


def _failure(cause: BaseException) -> AgentError:
    try:
        raise AgentError("cannot use the invitation") from cause
    except AgentError as exc:
        return exc


def test_which_failures_pass() -> None:
    assert is_transient(_failure(ServerUnreachable("no answer")))
    assert is_transient(_failure(ServerError(ErrorCode.INTERNAL)))
    assert not is_transient(_failure(ServerError(ErrorCode.AUTH)))  # used or gone: for good
    assert not is_transient(AgentError("no pending contact request"))


async def test_redelivery_backs_off_and_stops_when_closed() -> None:
    handled: list[int] = []

    async def handle(event: MessageReceived) -> None:
        handled.append(event.agent_msg_id)

    redelivery = Redelivery(handle, first=0.01, cap=0.04, rng=lambda: 0.5)
    event = MessageReceived("c1", 7, b"", 0, IntegrityStatus.OK)
    delays = [redelivery.schedule(event) for _ in range(4)]
    assert delays == pytest.approx([0.01, 0.02, 0.04, 0.04])  # doubling, capped
    assert redelivery.pending() == 1  # one timer per message however often it failed
    await asyncio.sleep(0.1)
    assert handled == [7]
    redelivery.done(event)
    assert redelivery.schedule(event) == pytest.approx(0.01)  # attempts start over
    redelivery.close()
    await asyncio.sleep(0.05)
    assert handled == [7] and redelivery.pending() == 0
