"""Hybrid X3DH: agreement, PQ negotiation, strict parameter parsing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey

from simplextui.crypto.errors import CryptoError, MalformedInput
from simplextui.crypto.x3dh import (
    KEM_CIPHERTEXT_LEN,
    KEM_PUBLIC_KEY_LEN,
    DeterministicKeySource,
    InvitationParams,
    InviterKeys,
    JoinParams,
    derive_initial_keys,
    dh,
    inviter_agree,
    joiner_agree,
)


@pytest.mark.parametrize("pq", [False, True])
def test_both_sides_agree(pq: bool) -> None:
    keys = InviterKeys.generate(pq=pq)
    join, joiner = joiner_agree(keys.params(), pq=pq)
    inviter = inviter_agree(keys, join)
    assert inviter == joiner
    assert joiner.pq is pq
    assert (join.kem_ciphertext is not None) is pq
    assert joiner.associated_data == keys.params().key1 + join.key1
    secrets = {joiner.root_key, joiner.header_key, joiner.next_header_key}
    assert len(secrets) == 3 and all(len(s) == 32 for s in secrets)


def test_sizes() -> None:
    keys = InviterKeys.generate(pq=True)
    assert len(keys.params().to_bytes()) == 2 + 64 + KEM_PUBLIC_KEY_LEN == 1250
    join, _ = joiner_agree(keys.params())
    assert len(join.to_bytes()) == 2 + 64 + KEM_CIPHERTEXT_LEN == 1154
    assert len(keys.to_bytes()) == 130
    classic = InviterKeys.generate(pq=False)
    assert len(classic.params().to_bytes()) == 66
    assert len(classic.to_bytes()) == 66


def test_joiner_may_decline_pq() -> None:
    keys = InviterKeys.generate(pq=True)
    join, joiner = joiner_agree(keys.params(), pq=False)
    assert join.kem_ciphertext is None and not joiner.pq
    assert inviter_agree(keys, join) == joiner
    with pytest.raises(CryptoError):
        inviter_agree(keys, join, require_pq=True)


def test_kem_secret_changes_keys() -> None:
    """The same X25519 keys with and without the KEM secret give unrelated keys."""
    dh1, dh2, dh3, ad = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, bytes(64)
    classic = derive_initial_keys(dh1, dh2, dh3, None, ad)
    hybrid = derive_initial_keys(dh1, dh2, dh3, b"\x04" * 32, ad)
    assert classic.root_key != hybrid.root_key and hybrid.pq and not classic.pq
    with pytest.raises(MalformedInput):
        derive_initial_keys(dh1, dh2, dh3, b"\x04" * 31, ad)
    with pytest.raises(MalformedInput):
        derive_initial_keys(dh1[:31], dh2, dh3, None, ad)


def test_ciphertext_without_invitation_kem_key_is_rejected() -> None:
    keys = InviterKeys.generate(pq=False)
    pq_keys = InviterKeys.generate(pq=True)
    join, _ = joiner_agree(pq_keys.params())
    forged = JoinParams(join.key1, join.key2, join.kem_ciphertext)
    with pytest.raises(CryptoError):
        inviter_agree(keys, forged)


def test_wrong_kem_ciphertext_gives_different_keys() -> None:
    """ML-KEM's implicit rejection: a swapped ciphertext yields unrelated keys, no error."""
    keys = InviterKeys.generate(pq=True)
    join, joiner = joiner_agree(keys.params())
    other, _ = joiner_agree(keys.params())
    swapped = JoinParams(join.key1, join.key2, other.kem_ciphertext)
    assert inviter_agree(keys, swapped).root_key != joiner.root_key


def test_different_sessions_differ() -> None:
    keys = InviterKeys.generate(pq=False)
    _, a = joiner_agree(keys.params())
    _, b = joiner_agree(keys.params())
    assert a.root_key != b.root_key and a.associated_data != b.associated_data


def test_low_order_point_rejected() -> None:
    keys = InviterKeys.generate(pq=False)
    bad = InvitationParams(bytes(32), keys.params().key2)
    with pytest.raises(CryptoError):
        joiner_agree(bad)
    with pytest.raises(CryptoError):
        dh(bytes(range(32)), bytes(32))
    with pytest.raises(MalformedInput):
        dh(bytes(range(32)), bytes(31))


@pytest.mark.parametrize("pq", [False, True])
def test_params_round_trip(pq: bool) -> None:
    keys = InviterKeys.generate(pq=pq)
    inv = keys.params()
    assert InvitationParams.from_bytes(inv.to_bytes()) == inv
    join, _ = joiner_agree(inv, pq=pq)
    assert JoinParams.from_bytes(join.to_bytes()) == join
    restored = InviterKeys.from_bytes(keys.to_bytes())
    assert restored == keys and restored.params() == inv
    assert inviter_agree(restored, join) == inviter_agree(keys, join)


@pytest.mark.parametrize("pq", [False, True])
def test_params_strict_parsing(pq: bool) -> None:
    keys = InviterKeys.generate(pq=pq)
    join, _ = joiner_agree(keys.params(), pq=pq)
    for cls, data in [
        (InvitationParams, keys.params().to_bytes()),
        (JoinParams, join.to_bytes()),
        (InviterKeys, keys.to_bytes()),
    ]:
        for cut in (0, 1, 2, 33, 65, len(data) - 1):
            with pytest.raises(MalformedInput):
                cls.from_bytes(data[:cut])
        with pytest.raises(MalformedInput):
            cls.from_bytes(data + b"\x00")
        for version in (0, 2, 255):
            with pytest.raises(MalformedInput):
                cls.from_bytes(bytes((version,)) + data[1:])
        for flags in (0x02, 0x80, data[1] ^ 0x01):
            with pytest.raises(MalformedInput):
                cls.from_bytes(data[:1] + bytes((flags,)) + data[2:])


def test_malformed_kem_public_key_rejected() -> None:
    keys = InviterKeys.generate(pq=True)
    data = keys.params().to_bytes()
    # Coefficients >= q fail ML-KEM's encapsulation-key check.
    with pytest.raises(MalformedInput):
        InvitationParams.from_bytes(data[:66] + b"\xff" * KEM_PUBLIC_KEY_LEN)
    with pytest.raises(MalformedInput):
        InvitationParams(keys.params().key1, keys.params().key2, b"\x00" * 10)


def test_constructor_validation() -> None:
    with pytest.raises(MalformedInput):
        InvitationParams(b"x" * 31, b"y" * 32)
    with pytest.raises(MalformedInput):
        JoinParams(b"x" * 32, b"y" * 32, b"z" * 5)
    with pytest.raises(MalformedInput):
        InviterKeys(b"x" * 32, b"y" * 32, b"short")


def test_deterministic_key_source_replays_encapsulation() -> None:
    ks = DeterministicKeySource(b"seed")
    kem = ks.mlkem()
    again = DeterministicKeySource(b"seed").mlkem()
    assert kem.private_bytes_raw() == again.private_bytes_raw()
    secret, ct = ks.encapsulate(kem.public_key())
    replay = DeterministicKeySource(b"seed", replay=list(ks.recorded))
    assert replay.encapsulate(kem.public_key()) == (secret, ct)
    with pytest.raises(CryptoError):
        replay.encapsulate(kem.public_key())  # nothing left
    other = MLKEM768PrivateKey.generate().public_key()
    with pytest.raises(CryptoError):
        DeterministicKeySource(b"seed", replay=list(ks.recorded)).encapsulate(other)


def test_inviter_keys_repr_hides_secrets() -> None:
    keys = InviterKeys.generate(pq=False)
    assert keys.key1.hex() not in repr(keys)
