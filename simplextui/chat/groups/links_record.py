"""A group link's record on a queue server: publish, read, delete.

The record is an ordinary link record (LNEW/LGET/LDEL, like the agent's invitation and address
links), sealed with the link's key under kind ``g``, holding a :class:`GroupLinkData`. It is
written through the agent's client pool: the agent API has one contact address per user and no
call for link records of the chat layer's own, so this module is the one place that reaches
below the agent API (see docs/protocol.md "Group links" for why and what would replace it).
"""

from __future__ import annotations

import os
from typing import Any

from simplextui.agent.sealing import open_link_data, seal_link_data
from simplextui.chat.errors import ChatError
from simplextui.crypto.errors import CryptoError
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.chat_events import ChatEventError
from simplextui.protocol.errors import ErrorCode
from simplextui.protocol.group_link_events import GroupLinkData
from simplextui.protocol.links import LINK_KEY_SIZE, Link, LinkError, LinkKind
from simplextui.protocol.queue import ID_SIZE
from simplextui.transport import LinkOwner, ServerError, ServerUnreachable, TransportError

__all__ = ["delete_record", "publish", "read"]


def _client(agent: object, server: ServerAddress) -> Any:
    pool = getattr(agent, "pool", None)
    if pool is None:
        raise ChatError("group links need the agent's link records, which this agent lacks")
    return pool.get(server)


def _network(exc: TransportError, what: str) -> ChatError:
    if isinstance(exc, ServerUnreachable):
        return ChatError(f"{what}: the server is unreachable ({exc})")
    return ChatError(f"{what}: {exc}")


async def publish(agent: object, server: ServerAddress, data: GroupLinkData
                  ) -> tuple[str, dict[str, Any]]:
    """Create the record on ``server``; the link text and the owner credentials (to delete)."""
    link_id, link_key = os.urandom(ID_SIZE), os.urandom(LINK_KEY_SIZE)
    sealed = seal_link_data(link_key, LinkKind.GROUP.value, link_id, data.encode())
    try:
        owner = await _client(agent, server).create_link(link_id, sealed, b"")
    except TransportError as exc:
        raise _network(exc, "cannot create the group link") from exc
    return Link(LinkKind.GROUP, server, link_id, link_key).uri, owner.to_dict()


async def read(agent: object, link: Link) -> GroupLinkData:
    """The data of group link ``link``; a ``ChatError`` or ``LinkError`` saying what is wrong."""
    try:
        record = await _client(agent, link.server).get_link(link.link_id)
    except ServerError as exc:
        if exc.code == ErrorCode.AUTH:
            raise ChatError("this group link no longer works: it was deleted by the group's "
                            "host (or never existed)") from None
        raise _network(exc, "cannot read the group link") from exc
    except TransportError as exc:
        raise _network(exc, "cannot read the group link") from exc
    try:
        plain = open_link_data(link.link_key, LinkKind.GROUP.value, link.link_id,
                               record.fixed_data)
    except CryptoError:
        raise LinkError("the group link's data cannot be decrypted: the link is damaged "
                        "or forged") from None
    try:
        return GroupLinkData.decode(plain)
    except ChatEventError as exc:
        raise LinkError(f"the group link's data is malformed ({exc.detail})") from None


async def delete_record(agent: object, owner: dict[str, Any]) -> None:
    """Delete the record (raises ``TransportError`` if the server cannot be reached)."""
    link_owner = LinkOwner.from_dict(owner)
    await _client(agent, link_owner.server).delete_link(link_owner)
