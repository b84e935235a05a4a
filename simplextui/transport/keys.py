"""Client-side credentials of queues and links, persisted by the agent as JSON.

Each dataclass holds everything needed to act on one entity on one server after a restart:
ids, the client's X25519 key pair, and the MAC (and delivery) keys derived from it.
``to_dict`` gives JSON-safe values (unpadded base64url for bytes, the ``smp://`` text of the
server address); ``from_dict`` parses strictly and raises ``ProtocolError`` on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simplextui.crypto.queue_auth import KeyPair
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.b64 import b64decode, b64encode
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.protocol.queue import ID_SIZE, KEY_SIZE, QueueMode

_MAC_SIZE = 32


def _get(data: dict[str, Any], name: str) -> Any:
    try:
        return data[name]
    except (KeyError, TypeError) as exc:
        raise ProtocolError(ErrorCode.SYNTAX, f"credentials lack {name!r}") from exc


def _bytes(data: dict[str, Any], name: str, size: int | None = None) -> bytes:
    value = _get(data, name)
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.SYNTAX, f"credential {name!r} must be a string")
    return b64decode(value, size)


def _optional_bytes(data: dict[str, Any], name: str, size: int) -> bytes | None:
    return None if data.get(name) is None else _bytes(data, name, size)


def _server(data: dict[str, Any]) -> ServerAddress:
    value = _get(data, "server")
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.SYNTAX, "credential 'server' must be a string")
    return ServerAddress.parse(value)


def _keypair_dict(kp: KeyPair) -> dict[str, str]:
    return {"private": b64encode(kp.private), "public": b64encode(kp.public)}


def _keypair(data: dict[str, Any], name: str) -> KeyPair:
    value = _get(data, name)
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.SYNTAX, f"credential {name!r} must be an object")
    return KeyPair(_bytes(value, "private", KEY_SIZE), _bytes(value, "public", KEY_SIZE))


def _optional_keypair(data: dict[str, Any], name: str) -> KeyPair | None:
    return None if data.get(name) is None else _keypair(data, name)


@dataclass(frozen=True, slots=True)
class RecipientQueue:
    """A queue this client receives from.

    ``sender_id`` and ``server_sender_key`` go to the sender (in an invitation) so that it can
    secure the queue (SKEY) and send.
    """

    recipient_id: bytes
    sender_id: bytes
    server: ServerAddress
    recipient_keypair: KeyPair
    recipient_mac_key: bytes
    delivery_key: bytes
    server_sender_key: bytes
    mode: QueueMode = QueueMode.MESSAGING

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient_id": b64encode(self.recipient_id),
            "sender_id": b64encode(self.sender_id),
            "server": str(self.server),
            "recipient_keypair": _keypair_dict(self.recipient_keypair),
            "recipient_mac_key": b64encode(self.recipient_mac_key),
            "delivery_key": b64encode(self.delivery_key),
            "server_sender_key": b64encode(self.server_sender_key),
            "mode": self.mode.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecipientQueue:
        try:
            mode = QueueMode(_get(data, "mode"))
        except ValueError as exc:
            raise ProtocolError(ErrorCode.SYNTAX, "unknown queue mode") from exc
        return cls(
            recipient_id=_bytes(data, "recipient_id", ID_SIZE),
            sender_id=_bytes(data, "sender_id", ID_SIZE),
            server=_server(data),
            recipient_keypair=_keypair(data, "recipient_keypair"),
            recipient_mac_key=_bytes(data, "recipient_mac_key", _MAC_SIZE),
            delivery_key=_bytes(data, "delivery_key", _MAC_SIZE),
            server_sender_key=_bytes(data, "server_sender_key", KEY_SIZE),
            mode=mode,
        )


@dataclass(frozen=True, slots=True)
class SenderQueue:
    """A queue this client sends to.

    For a contact-mode queue (a long-term address) ``sender_keypair`` and ``sender_mac_key``
    are None and SENDs carry no authenticator.
    """

    sender_id: bytes
    server: ServerAddress
    sender_keypair: KeyPair | None
    sender_mac_key: bytes | None

    def __post_init__(self) -> None:
        if (self.sender_keypair is None) != (self.sender_mac_key is None):
            raise ProtocolError(ErrorCode.SYNTAX, "sender key pair and MAC key go together")

    @property
    def is_contact(self) -> bool:
        return self.sender_mac_key is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sender_id": b64encode(self.sender_id),
            "server": str(self.server),
            "sender_keypair": (None if self.sender_keypair is None
                               else _keypair_dict(self.sender_keypair)),
            "sender_mac_key": (None if self.sender_mac_key is None
                               else b64encode(self.sender_mac_key)),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SenderQueue:
        return cls(
            sender_id=_bytes(data, "sender_id", ID_SIZE),
            server=_server(data),
            sender_keypair=_optional_keypair(data, "sender_keypair"),
            sender_mac_key=_optional_bytes(data, "sender_mac_key", _MAC_SIZE),
        )


@dataclass(frozen=True, slots=True)
class LinkOwner:
    """A link record this client created and may update (LSET) or delete (LDEL)."""

    link_id: bytes
    server: ServerAddress
    owner_keypair: KeyPair
    owner_mac_key: bytes

    def to_dict(self) -> dict[str, Any]:
        return {
            "link_id": b64encode(self.link_id),
            "server": str(self.server),
            "owner_keypair": _keypair_dict(self.owner_keypair),
            "owner_mac_key": b64encode(self.owner_mac_key),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkOwner:
        return cls(
            link_id=_bytes(data, "link_id", ID_SIZE),
            server=_server(data),
            owner_keypair=_keypair(data, "owner_keypair"),
            owner_mac_key=_bytes(data, "owner_mac_key", _MAC_SIZE),
        )
