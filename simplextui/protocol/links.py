"""Connection links: the text a user shares to connect (agent v1).

    simplextui://<kind>/<FINGERPRINT>@<HOST>:<PORT>/<LINK_ID>#<LINK_KEY>

``kind`` is one letter: ``i`` one-time invitation, ``a`` contact address, and, recognised
but reserved for later, ``g`` group, ``c`` channel, ``r`` chat relay. The server part is the
queue server holding the link's data record (see :mod:`simplextui.protocol.address`);
``LINK_ID`` (24 bytes) names that record and ``LINK_KEY`` (32 bytes) decrypts it. Both are
unpadded base64url. The key is in the URI fragment, which never reaches a server.

Pure: no I/O. Every malformed input raises :class:`LinkError` with a message meant for the
user, never anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from simplextui.protocol.address import ServerAddress
from simplextui.protocol.b64 import b64decode, b64encode
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.protocol.queue import ID_SIZE

SCHEME = "simplextui://"
LINK_KEY_SIZE = 32
MAX_LINK_LENGTH = 1024


class LinkError(ProtocolError):
    """A link that cannot be used: malformed, or of the wrong kind for what was asked."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.SYNTAX, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class LinkKind(StrEnum):
    INVITATION = "i"
    ADDRESS = "a"
    GROUP = "g"
    CHANNEL = "c"
    RELAY = "r"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    LinkKind.INVITATION: "a one-time invitation link",
    LinkKind.ADDRESS: "a contact address",
    LinkKind.GROUP: "a group link",
    LinkKind.CHANNEL: "a channel link",
    LinkKind.RELAY: "a chat relay address",
}

SUPPORTED_KINDS = frozenset({LinkKind.INVITATION, LinkKind.ADDRESS})


@dataclass(frozen=True, slots=True)
class Link:
    kind: LinkKind
    server: ServerAddress
    link_id: bytes
    link_key: bytes

    def __post_init__(self) -> None:
        if len(self.link_id) != ID_SIZE:
            raise LinkError(f"link id must be {ID_SIZE} bytes")
        if len(self.link_key) != LINK_KEY_SIZE:
            raise LinkError(f"link key must be {LINK_KEY_SIZE} bytes")

    @property
    def uri(self) -> str:
        server = str(self.server).removeprefix("smp://")
        return (f"{SCHEME}{self.kind.value}/{server}/{b64encode(self.link_id)}"
                f"#{b64encode(self.link_key)}")

    def __str__(self) -> str:
        return self.uri


def format_link(link: Link) -> str:
    return link.uri


def parse_link(text: str) -> Link:
    """Parse a link; raises :class:`LinkError` saying what is wrong with it."""
    if not isinstance(text, str):
        raise LinkError("a link must be text")
    text = text.strip()
    if not text:
        raise LinkError("the link is empty")
    if len(text) > MAX_LINK_LENGTH:
        raise LinkError("this is not a simplextui link: it is far too long")
    if not text.startswith(SCHEME):
        raise LinkError(f"this is not a simplextui link: it must start with {SCHEME}")
    rest = text[len(SCHEME):]
    kind_text, slash, rest = rest.partition("/")
    if not slash:
        raise LinkError("the link is truncated: no server after the link kind")
    try:
        kind = LinkKind(kind_text)
    except ValueError:
        raise LinkError(f"unknown link kind {kind_text[:8]!r}: expected one of "
                        + ", ".join(k.value for k in LinkKind)) from None
    body, hash_sign, key_text = rest.partition("#")
    if not hash_sign:
        raise LinkError("the link is incomplete: its key (after #) is missing")
    server_text, slash, id_text = body.rpartition("/")
    if not slash or not server_text:
        raise LinkError("the link is incomplete: its id is missing")
    try:
        server = ServerAddress.parse("smp://" + server_text)
    except ProtocolError as exc:
        raise LinkError(f"the link's server part is malformed ({exc.detail or exc})") from None
    try:
        link_id = b64decode(id_text, ID_SIZE)
    except ProtocolError:
        raise LinkError("the link id is damaged (wrong length or characters)") from None
    try:
        link_key = b64decode(key_text, LINK_KEY_SIZE)
    except ProtocolError:
        raise LinkError("the link key is damaged (wrong length or characters)") from None
    return Link(kind, server, link_id, link_key)


def expect_kind(link: Link, kinds: Iterable[LinkKind | str]) -> Link:
    """Check the link is of one of ``kinds``; the error names what it is instead."""
    wanted = [LinkKind(k) for k in kinds]
    if link.kind in wanted:
        return link
    expected = " or ".join(k.description for k in wanted)
    raise LinkError(f"this is {link.kind.description}, not {expected}")
