"""Small helpers shared by the chat core tests."""

from __future__ import annotations

from typing import Any

from simplextui.chat.core import ChatCore
from simplextui.chat.events import ContactConnected
from simplextui.chat.responses import ErrorResponse, LinkResponse
from tests.chat.recorder import Recorder

Pair = tuple[ChatCore, Recorder]


async def ok(core: ChatCore, line: str) -> Any:
    """Run a command that must succeed; its response."""
    response = await core.execute(line)
    assert not isinstance(response, ErrorResponse), f"{line!r}: {response.error}"
    return response


async def error(core: ChatCore, line: str) -> str:
    """Run a command that must fail; its error text."""
    response = await core.execute(line)
    assert isinstance(response, ErrorResponse), f"{line!r} did not fail: {response}"
    return response.error


async def connect(a: Pair, b: Pair, timeout: float = 10.0) -> tuple[str, str]:
    """Connect a and b by a one-time link; the names each gives the other."""
    link = await ok(a[0], "/c")
    assert isinstance(link, LinkResponse) and link.kind == "invitation"
    await ok(b[0], f"/c {link.link}")
    a_sees = await a[1].wait(ContactConnected, timeout)
    b_sees = await b[1].wait(ContactConnected, timeout)
    return a_sees.contact, b_sees.contact
