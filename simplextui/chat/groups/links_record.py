"""A group link's record: publish, read, join by it, delete — all through the agent API.

A group link is an agent address of kind ``g`` dedicated to the link: its record holds the
address's queue and request keys (the agent's part) and, as app data, the
:class:`GroupLinkData` (this module's part). Join requests arrive at that address, tagged with
its ``address_id``; the host's personal contact address is neither named nor used.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from simplextui.agent.errors import AddressNotFound, AgentError, LinkGone
from simplextui.chat.errors import ChatError
from simplextui.protocol.chat_events import ChatEventError
from simplextui.protocol.group_link_events import GroupLinkData
from simplextui.protocol.links import Link, LinkError, LinkKind

if TYPE_CHECKING:
    from simplextui.chat.agent_api import AgentAPI

__all__ = ["delete_record", "publish", "read", "send_join", "update_record"]

KIND = LinkKind.GROUP.value


async def publish(agent: AgentAPI, data: GroupLinkData) -> tuple[str, str]:
    """A new address of kind ``g`` carrying ``data``: (address_id, link text)."""
    try:
        return await agent.add_address(kind=KIND, app_data=data.encode())
    except AgentError as exc:
        raise ChatError(f"cannot create the group link: {exc}") from exc


async def update_record(agent: AgentAPI, address_id: str, data: GroupLinkData) -> None:
    """Replace the data in the link's record (the link stays the same)."""
    try:
        await agent.update_address_data(address_id, data.encode())
    except AgentError as exc:
        raise ChatError(f"cannot update the group link: {exc}") from exc


async def read(agent: AgentAPI, link: Link) -> GroupLinkData:
    """The data of group link ``link``; a ``ChatError`` or ``LinkError`` saying what is wrong."""
    try:
        plain = await agent.get_link_data(link.uri, kind=KIND)
    except LinkGone:
        raise ChatError("this group link no longer works: it was deleted by the group's "
                        "host (or never existed)") from None
    except AgentError as exc:
        raise ChatError(f"cannot read the group link: {exc}") from exc
    if plain is None:
        raise LinkError("the group link's record holds no group: the link is damaged")
    try:
        return GroupLinkData.decode(plain)
    except ChatEventError as exc:
        raise LinkError(f"the group link's data is malformed ({exc.detail})") from None


async def send_join(agent: AgentAPI, link: Link, info: bytes) -> str:
    """Send the join request (a request to the link's address); the new connection's id."""
    try:
        return await agent.join(link.uri, info, kind=KIND)
    except LinkGone:
        raise ChatError("this group link no longer works: it was deleted by the group's "
                        "host (or never existed)") from None


async def delete_record(agent: AgentAPI, address_id: str) -> None:
    """Delete the link's address and record (best effort on the server; an address already
    gone is no error)."""
    with contextlib.suppress(AddressNotFound):
        await agent.delete_address(address_id)
