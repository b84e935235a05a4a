"""Link URIs: round trips, every kind, and a clear error for every malformed form."""

from __future__ import annotations

import os

import pytest

from simplextui.protocol.address import ServerAddress
from simplextui.protocol.b64 import b64encode
from simplextui.protocol.errors import ProtocolError
from simplextui.protocol.links import (
    SUPPORTED_KINDS,
    Link,
    LinkError,
    LinkKind,
    expect_kind,
    format_link,
    parse_link,
)

FP = bytes(range(32))
SERVER = ServerAddress(FP, "smp.example.com", 5223)


def _link(kind: LinkKind = LinkKind.INVITATION, server: ServerAddress = SERVER) -> Link:
    return Link(kind, server, os.urandom(24), os.urandom(32))


@pytest.mark.parametrize("kind", list(LinkKind))
def test_round_trip_every_kind(kind: LinkKind) -> None:
    link = _link(kind)
    text = format_link(link)
    assert text.startswith(f"simplextui://{kind.value}/")
    assert parse_link(text) == link
    assert parse_link(f"  {text}\n") == link


def test_layout_and_length() -> None:
    link = _link()
    text = link.uri
    fp = b64encode(FP)
    assert text == (f"simplextui://i/{fp}@smp.example.com:5223/{b64encode(link.link_id)}"
                    f"#{b64encode(link.link_key)}")
    assert len(text) < 160


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "fe80::1"])
def test_ip_hosts(host: str) -> None:
    link = _link(server=ServerAddress(FP, host, 443))
    assert parse_link(link.uri) == link


def test_supported_kinds() -> None:
    assert {LinkKind.INVITATION, LinkKind.ADDRESS} == SUPPORTED_KINDS


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    ("https://example.com/i#abc", "not a simplextui link"),
    ("simplex:/i#abc", "not a simplextui link"),
    ("simplextui://", "truncated"),
    ("simplextui://x/abc", "unknown link kind"),
    ("simplextui://ii/abc", "unknown link kind"),
    ("simplextui://i/" + b64encode(FP) + "@h:1/" + "A" * 32, "its key .after #. is missing"),
    ("simplextui://i/#" + "A" * 43, "id is missing"),
    ("simplextui://i/" + "A" * 32 + "#" + "A" * 43, "id is missing"),
    ("simplextui://i/nofp@h:1/" + "A" * 32 + "#" + "A" * 43, "server part is malformed"),
    ("simplextui://i/" + b64encode(FP) + "@h/" + "A" * 32 + "#" + "A" * 43,
     "server part is malformed"),
    ("simplextui://i/" + b64encode(FP) + "@h:99999/" + "A" * 32 + "#" + "A" * 43,
     "server part is malformed"),
    ("simplextui://i/" + b64encode(FP) + "@h:1/" + "A" * 31 + "#" + "A" * 43,
     "link id is damaged"),
    ("simplextui://i/" + b64encode(FP) + "@h:1/" + "A" * 32 + "#" + "A" * 42,
     "link key is damaged"),
    ("simplextui://i/" + b64encode(FP) + "@h:1/" + "A" * 32 + "#" + "A" * 42 + "!",
     "link key is damaged"),
    ("simplextui://i/" + b64encode(FP) + "@h:1/" + "A" * 32 + "#" + "A" * 2000,
     "far too long"),
])
def test_malformed_links(text: str, message: str) -> None:
    with pytest.raises(LinkError, match=message) as info:
        parse_link(text)
    assert isinstance(info.value, ProtocolError)  # one typed error family


def test_truncated_and_damaged_real_link() -> None:
    text = _link().uri
    for cut in range(len(text)):
        try:
            parse_link(text[:cut])
        except LinkError:
            continue
        pytest.fail(f"a link cut at {cut} parsed")


def test_non_text() -> None:
    with pytest.raises(LinkError, match="must be text"):
        parse_link(b"simplextui://i/x")  # type: ignore[arg-type]


def test_wrong_kind_names_both() -> None:
    address = _link(LinkKind.ADDRESS)
    with pytest.raises(LinkError, match="this is a contact address, not a one-time invitation"):
        expect_kind(address, {LinkKind.INVITATION})
    group = _link(LinkKind.GROUP)
    with pytest.raises(LinkError, match="this is a group link, not a one-time invitation link "
                                        "or a contact address"):
        expect_kind(group, [LinkKind.INVITATION, LinkKind.ADDRESS])
    assert expect_kind(address, "ia") is address


def test_link_checks_sizes() -> None:
    with pytest.raises(LinkError):
        Link(LinkKind.INVITATION, SERVER, b"short", os.urandom(32))
    with pytest.raises(LinkError):
        Link(LinkKind.INVITATION, SERVER, os.urandom(24), b"short")
