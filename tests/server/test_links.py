"""Link records (LNEW, LGET, LSET, LDEL) against a real server."""

from __future__ import annotations

import os

import pytest

from simplextui.crypto.queue_auth import KeyPair, derive_link_owner_key
from simplextui.protocol import codec
from simplextui.protocol import queue as q
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.server.runner import EmbeddedServer
from tests.server.raw_client import ClientFactory, RawClient

AUTH = q.Err(ErrorCode.AUTH)


async def _new_link(client: RawClient, fixed: bytes = b"fixed part",
                    user: bytes = b"user part") -> tuple[bytes, KeyPair, bytes]:
    """Create a link; returns its id, the owner key pair and the owner MAC key."""
    link_id = os.urandom(q.ID_SIZE)
    owner = KeyPair.generate()
    resp = await client.one(link_id, q.LinkNew(owner.public, fixed, user))
    assert isinstance(resp, q.LinkIds), resp
    return link_id, owner, derive_link_owner_key(owner.exchange(resp.server_link_key))


async def test_lnew_then_lget_returns_both_parts_verbatim(
        server: EmbeddedServer, make_client: ClientFactory) -> None:
    owner = await make_client(server)
    reader = await make_client(server)  # anyone holding the link id reads it, unsigned
    fixed, user = bytes(range(256)) * 2, b"\x00\xff" * 100
    link_id, _, _ = await _new_link(owner, fixed, user)
    assert await reader.one(link_id, q.LinkGet()) == q.LinkData(fixed, user)


async def test_empty_and_largest_parts(client: RawClient) -> None:
    for fixed, user in ((b"", b""), (b"f" * q.MAX_FIXED_DATA, b"u" * q.MAX_USER_DATA)):
        link_id, _, _ = await _new_link(client, fixed, user)
        assert await client.one(link_id, q.LinkGet()) == q.LinkData(fixed, user)


async def test_lset_with_owner_key_changes_only_the_mutable_part(client: RawClient) -> None:
    link_id, _, mac_key = await _new_link(client, b"immutable", b"v1")
    assert await client.one(link_id, q.LinkSet(b"v2"), mac_key) == q.Ok()
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"immutable", b"v2")
    assert await client.one(link_id, q.LinkSet(b""), mac_key) == q.Ok()
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"immutable", b"")


async def test_lset_with_wrong_or_no_key_is_auth_and_changes_nothing(
        client: RawClient) -> None:
    link_id, _, mac_key = await _new_link(client, b"fixed", b"original")
    other_id, _, other_key = await _new_link(client)
    assert await client.one(link_id, q.LinkSet(b"forged"), None) == AUTH
    assert await client.one(link_id, q.LinkSet(b"forged"), other_key) == AUTH
    assert await client.one(link_id, q.LinkSet(b"forged"), os.urandom(32)) == AUTH
    assert await client.one(link_id, q.LinkDelete(), other_key) == AUTH
    assert await client.one(link_id, q.LinkDelete(), None) == AUTH
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"fixed", b"original")
    # A key of one link does not open another: the other link is unchanged too.
    assert await client.one(other_id, q.LinkSet(b"forged"), mac_key) == AUTH
    assert await client.one(other_id, q.LinkGet()) == q.LinkData(b"fixed part", b"user part")


async def test_ldel_removes_the_record(client: RawClient) -> None:
    link_id, _, mac_key = await _new_link(client)
    assert await client.one(link_id, q.LinkDelete(), mac_key) == q.Ok()
    assert await client.one(link_id, q.LinkGet()) == AUTH
    assert await client.one(link_id, q.LinkSet(b"x"), mac_key) == AUTH
    assert await client.one(link_id, q.LinkDelete(), mac_key) == AUTH
    # Unknown and deleted links answer alike.
    assert await client.one(os.urandom(q.ID_SIZE), q.LinkGet()) == AUTH


async def test_lnew_existing_id(client: RawClient) -> None:
    link_id = os.urandom(q.ID_SIZE)
    owner = KeyPair.generate()
    first = await client.one(link_id, q.LinkNew(owner.public, b"fixed", b"user"))
    assert isinstance(first, q.LinkIds)
    # The same creation again (a retry after a lost response): the same answer.
    retry = await client.one(link_id, q.LinkNew(owner.public, b"fixed", b"user"))
    assert retry == first
    # Other data, or another owner: a clash, and the record is unchanged.
    duplicate = q.Err(ErrorCode.DUPLICATE)
    assert await client.one(link_id, q.LinkNew(owner.public, b"other", b"user")) == duplicate
    intruder = KeyPair.generate()
    assert await client.one(link_id, q.LinkNew(intruder.public, b"fixed", b"user")) == duplicate
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"fixed", b"user")


async def test_lnew_needs_a_full_size_id_and_a_valid_key(client: RawClient) -> None:
    owner = KeyPair.generate()
    syntax = q.Err(ErrorCode.SYNTAX)
    assert await client.one(b"short", q.LinkNew(owner.public, b"f", b"u")) == syntax
    assert await client.one(b"", q.LinkNew(owner.public, b"f", b"u")) == syntax
    # An all-zero X25519 key gives no shared secret: refused, nothing stored.
    link_id = os.urandom(q.ID_SIZE)
    assert await client.one(link_id, q.LinkNew(bytes(32), b"f", b"u")) == syntax
    assert await client.one(link_id, q.LinkGet()) == AUTH


async def test_fixed_part_never_changes(client: RawClient) -> None:
    link_id, owner, mac_key = await _new_link(client, b"the fixed part", b"u0")
    for i in range(3):
        assert await client.one(link_id, q.LinkSet(b"u%d" % (i + 1)), mac_key) == q.Ok()
    # A retried LNEW does not reset the mutable part either.
    retry = await client.one(link_id, q.LinkNew(owner.public, b"the fixed part", b"u0"))
    assert isinstance(retry, q.LinkIds)
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"the fixed part", b"u3")


async def test_links_survive_a_restart(server: EmbeddedServer,
                                       make_client: ClientFactory) -> None:
    client = await make_client(server)
    link_id, _, mac_key = await _new_link(client, b"fixed", b"v1")
    assert await client.one(link_id, q.LinkSet(b"v2"), mac_key) == q.Ok()
    await client.aclose()
    await server.stop()
    await server.start()
    client = await make_client(server)
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"fixed", b"v2")
    assert await client.one(link_id, q.LinkSet(b"v3"), mac_key) == q.Ok()
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"fixed", b"v3")


def test_client_side_encoder_refuses_oversized_parts() -> None:
    key = bytes(range(32))
    for cmd in (q.LinkNew(key, b"f" * (q.MAX_FIXED_DATA + 1), b""),
                q.LinkNew(key, b"", b"u" * (q.MAX_USER_DATA + 1)),
                q.LinkSet(b"u" * (q.MAX_USER_DATA + 1))):
        with pytest.raises(ProtocolError) as info:
            q.encode_command(cmd)
        assert info.value.code == ErrorCode.LARGE_MSG


async def test_hand_built_oversized_parts_are_refused(client: RawClient) -> None:
    link_id, _, mac_key = await _new_link(client, b"fixed", b"user")
    owner = KeyPair.generate()
    big_fixed = (codec.tag("LNEW") + owner.public + codec.medium(b"f" * (q.MAX_FIXED_DATA + 1))
                 + codec.medium(b""))
    big_user = (codec.tag("LNEW") + owner.public + codec.medium(b"")
                + codec.medium(b"u" * (q.MAX_USER_DATA + 1)))
    big_set = codec.tag("LSET") + codec.medium(b"u" * (q.MAX_USER_DATA + 1))
    new_id = os.urandom(q.ID_SIZE)
    large = q.Err(ErrorCode.LARGE_MSG)
    assert await client.run([
        (new_id, big_fixed, None),
        (new_id, big_user, None),
        (link_id, big_set, mac_key),
    ]) == [large, large, large]
    assert await client.one(new_id, q.LinkGet()) == AUTH
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"fixed", b"user")


async def test_deleted_link_id_can_be_created_again(server: EmbeddedServer,
                                                    make_client: ClientFactory) -> None:
    client = await make_client(server)
    link_id, _, mac_key = await _new_link(client, b"first", b"u")
    assert await client.one(link_id, q.LinkDelete(), mac_key) == q.Ok()
    # Deleted means gone: the same answer before and after a restart.
    owner = KeyPair.generate()
    again = await client.one(link_id, q.LinkNew(owner.public, b"second", b"v"))
    assert isinstance(again, q.LinkIds)
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"second", b"v")
    assert await client.one(link_id, q.LinkSet(b"w"), mac_key) == AUTH  # the old key is void
    await client.aclose()
    await server.stop()
    await server.start()
    client = await make_client(server)
    assert await client.one(link_id, q.LinkGet()) == q.LinkData(b"second", b"v")


async def test_delete_and_recreate_in_one_batch(client: RawClient) -> None:
    link_id, _, mac_key = await _new_link(client, b"first", b"u")
    owner = KeyPair.generate()
    assert await client.run([
        (link_id, q.LinkDelete(), mac_key),
        (link_id, q.LinkNew(owner.public, b"second", b"v"), None),
    ]) == [q.Ok(), q.Err(ErrorCode.DUPLICATE)]
    assert await client.one(link_id, q.LinkGet()) == AUTH
