"""The part of the Agent API (layer 5) the chat core uses, as a structural type.

The real ``simplextui.agent.Agent`` satisfies it; tests may pass another implementation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from simplextui.agent.addresses import AddressInfo
from simplextui.agent.events import AgentEvent
from simplextui.protocol.address import ServerAddress
from simplextui.store.db import Database

__all__ = ["AgentAPI", "AgentFactory", "EventHandler"]

EventHandler = Callable[[AgentEvent], Awaitable[None]]


class AgentAPI(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def create_invitation(self, my_info: bytes, *,
                                pq: bool | None = None) -> tuple[str, str]: ...
    async def join(self, link: str, my_info: bytes, *, pq: bool | None = None,
                   kind: str | None = None) -> str:
        """``kind``: the address kind a link must have (None: invitation or contact address)."""
        ...

    async def create_address(self) -> str: ...
    async def get_address(self) -> str | None: ...
    async def delete_address(self, address_id: str | None = None) -> None:
        """None: the personal address."""
        ...

    async def add_address(self, *, kind: str = "a",
                          app_data: bytes | None = None) -> tuple[str, str]:
        """Another address beside the personal one (a group link's): (address_id, link)."""
        ...

    async def update_address_data(self, address_id: str, app_data: bytes | None) -> None: ...
    async def list_addresses(self) -> list[AddressInfo]: ...
    async def get_link_data(self, link: str, *, kind: str) -> bytes | None: ...
    async def accept_request(self, request_id: str, my_info: bytes) -> str: ...
    async def reject_request(self, request_id: str) -> None: ...
    async def send(self, conn_id: str, body: bytes, *, receipt: bool = True) -> int:
        """``receipt=False``: no delivery receipt (nor sent/delivered events) for it."""
        ...
    async def send_many(self, items: Sequence[tuple[str, bytes]], *,
                        receipt: bool = True) -> list[int]:
        """Many messages in one transaction (all or nothing); agent message ids in order."""
        ...

    async def message_processed(self, conn_id: str, agent_msg_id: int) -> None: ...
    async def delete_connection(self, conn_id: str, *, after_outbox: bool = False) -> None:
        """``after_outbox``: delete once what is queued on it was sent (persistent)."""
        ...

    async def safety_code(self, conn_id: str) -> str: ...


AgentFactory = Callable[[Database, list[ServerAddress], EventHandler], AgentAPI]
