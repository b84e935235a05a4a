"""Contact addresses: the user's personal one and any number of the chat layer's own.

An address is a contact-mode queue, the keys contact requests are sealed to, and a link
record naming both (``AddressData`` in the fixed part). Its ``kind`` is the link kind of that
record (``a`` contact address, ``g`` group link, ...), and its ``app_data`` (the chat layer's,
opaque here) is sealed into the record's mutable user data, so that whoever reads the link
learns it, and the owner can change it (LSET) without changing the link. Requests arriving at
an address are reported with its ``address_id``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from simplextui.agent import deletion, repo
from simplextui.agent.context import AgentContext, ReceiveTarget, new_id
from simplextui.agent.errors import AddressNotFound, AgentError, LinkGone
from simplextui.agent.handshake import Handshake
from simplextui.agent.repo import QueueRole
from simplextui.agent.sealing import AddressKeys, seal_user_data
from simplextui.crypto.aead import NONCE_LEN, TAG_LEN
from simplextui.protocol import agent as wire
from simplextui.protocol.errors import ErrorCode
from simplextui.protocol.links import LinkKind, parse_link
from simplextui.protocol.queue import MAX_USER_DATA, QueueMode
from simplextui.transport import LinkOwner, RecipientQueue, ServerError, TransportError

log = logging.getLogger("simplextui.agent.addresses")

MAX_APP_DATA = MAX_USER_DATA - NONCE_LEN - TAG_LEN
ADDRESS_KINDS = frozenset(k for k in LinkKind if k is not LinkKind.INVITATION)


@dataclass(frozen=True, slots=True)
class AddressInfo:
    """One of the agent's addresses, as ``list_addresses`` reports it."""

    address_id: str
    kind: str
    link: str
    app_data: bytes | None
    personal: bool


def check_kind(kind: object) -> LinkKind:
    if not isinstance(kind, str) or kind not in {k.value for k in ADDRESS_KINDS}:
        raise AgentError(f"an address kind is one of {sorted(k.value for k in ADDRESS_KINDS)}, "
                         f"not {str(kind)[:8]!r}")
    return LinkKind(kind)


def check_app_data(app_data: object) -> bytes | None:
    if app_data is None:
        return None
    if not isinstance(app_data, bytes):
        raise AgentError("address app data must be bytes (or None)")
    if len(app_data) > MAX_APP_DATA:
        raise AgentError(f"address app data is {len(app_data)} bytes; at most {MAX_APP_DATA}")
    return app_data


def _info(row: Any) -> AddressInfo:
    return AddressInfo(row.address_id, row.kind, row.link, row.app_data, bool(row.personal))


class Addresses:
    """Create, update, list and delete addresses; ``keys`` (by address queue id) is what the
    receiver opens requests with."""

    def __init__(self, ctx: AgentContext, handshake: Handshake) -> None:
        self._ctx = ctx
        self._handshake = handshake
        self.keys: dict[int, tuple[str, AddressKeys]] = {}

    def load(self, rows: list[Any]) -> None:
        """At start: the addresses' keys (their queues are subscribed with the others)."""
        self.keys.clear()
        self.keys.update({row.queue_id: (row.address_id, AddressKeys.from_bytes(row.keys))
                          for row in rows})

    async def create(self, kind: LinkKind, app_data: bytes | None, *,
                     personal: bool) -> AddressInfo:
        rq = await self._handshake.new_queue(QueueMode.CONTACT)
        made: list[RecipientQueue | LinkOwner] = [rq]
        try:
            keys = AddressKeys.generate()
            data = wire.AddressData(wire.QueueAddress(rq.server, rq.sender_id, None),
                                    keys.x25519_public, keys.kem_public)
            link, owner = await self._handshake.new_link(kind, rq, data, app_data)
            made.append(owner)
            address_id = new_id()

            def unit(c: Connection) -> int:
                queue_id = repo.insert_queue(
                    c, conn_id=None, role=QueueRole.ADDRESS, server=str(rq.server),
                    creds=rq.to_dict(), recipient_id=rq.recipient_id)
                repo.insert_address(c, address_id=address_id, kind=kind.value,
                                    personal=personal, app_data=app_data, link=link.uri,
                                    queue_id=queue_id, link_owner=owner.to_dict(),
                                    keys=keys.to_bytes())
                return queue_id

            queue_id = await self._ctx.write(unit)
        except BaseException:
            await self._handshake.abandon(made)
            raise
        self.keys[queue_id] = (address_id, keys)
        await self._handshake.subscribe(ReceiveTarget(queue_id, None, rq))
        return AddressInfo(address_id, kind.value, link.uri, app_data, personal)

    async def get(self, address_id: str) -> AddressInfo | None:
        row = await self._ctx.read(lambda c: repo.address_by_id(c, address_id))
        return None if row is None else _info(row)

    async def personal(self) -> AddressInfo | None:
        row = await self._ctx.read(repo.get_address)
        return None if row is None else _info(row)

    async def list(self) -> list[AddressInfo]:
        return [_info(row) for row in await self._ctx.read(repo.addresses)]

    async def update_data(self, address_id: str, app_data: bytes | None) -> None:
        """Replace the app data in the record (LSET), then here. Raises LinkGone if the
        record is not on its server any more, AgentError if the server cannot be reached
        (nothing changed then)."""
        row = await self._ctx.read(lambda c: repo.address_by_id(c, address_id))
        if row is None:
            raise AddressNotFound(address_id)
        link = parse_link(row.link)
        owner = LinkOwner.from_dict(row.link_owner)
        user = (b"" if app_data is None
                else seal_user_data(link.link_key, link.kind.value, link.link_id, app_data))
        try:
            await self._ctx.client(owner.server).set_link(owner, user)
        except ServerError as exc:
            if exc.code == ErrorCode.AUTH:
                raise LinkGone("this address's link no longer exists on its server") from None
            raise AgentError(f"cannot update the address's link: {exc}") from exc
        except TransportError as exc:
            raise AgentError(f"cannot update the address's link: {exc}") from exc
        await self._ctx.write(lambda c: repo.set_address_data(c, address_id, app_data))

    async def delete(self, row: Any) -> None:
        """Forget the address here; its link record and queue are deleted on their servers
        (recorded with the deletion: tried at once, and retried until done if the server
        cannot be reached, see :mod:`simplextui.agent.cleanup`). Requests that already
        arrived can still be accepted."""
        queue_id = row.queue_id

        def unit(c: Connection) -> tuple[Any, list[int]]:
            queue = repo.get_queue(c, queue_id)
            return queue, repo.delete_address(c, queue_id)

        queue, cleanup_ids = await self._ctx.write(unit)
        self.keys.pop(queue_id, None)
        deletion.cleaned_up(self._ctx, [] if queue is None else [queue], notify=False)
        if self._ctx.cleaner is not None:
            await self._ctx.cleaner.attempt_now(cleanup_ids)
