"""Ed25519 helpers: RFC 8032 vectors, tampering, strict key and signature lengths."""

from __future__ import annotations

import pytest

from simplextui.crypto.errors import CryptoError, InvalidSignature, MalformedInput
from simplextui.crypto.signing import SigningKey, VerifyKey, verify

# RFC 8032 section 7.1, tests 1 and 2.
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]


@pytest.mark.parametrize(("seed", "public", "message", "signature"), RFC8032)
def test_rfc8032(seed: str, public: str, message: str, signature: str) -> None:
    key = SigningKey.from_bytes(bytes.fromhex(seed))
    assert key.public_key.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    verify(bytes.fromhex(public), bytes.fromhex(signature), bytes.fromhex(message))


def test_sign_verify_round_trip() -> None:
    key = SigningKey.generate()
    sig = key.sign(b"group event")
    assert len(sig) == 64 and key.sign(b"group event") == sig  # deterministic
    key.verify_key.verify(sig, b"group event")
    assert key.verify_key.is_valid(sig, b"group event")
    restored = SigningKey.from_bytes(key.to_bytes())
    assert restored == key and restored.public_key == key.public_key
    assert VerifyKey.from_bytes(key.public_key).to_bytes() == key.public_key


def test_tampering_rejected() -> None:
    key = SigningKey.generate()
    sig = key.sign(b"msg")
    with pytest.raises(InvalidSignature):
        verify(key.public_key, sig, b"msh")
    for pos in (0, 31, 32, 63):
        bad = bytearray(sig)
        bad[pos] ^= 0x01
        with pytest.raises(InvalidSignature):
            verify(key.public_key, bytes(bad), b"msg")
    with pytest.raises(InvalidSignature):
        verify(SigningKey.generate().public_key, sig, b"msg")
    assert not key.verify_key.is_valid(sig[:63], b"msg")
    with pytest.raises(CryptoError):
        verify(key.public_key, sig + b"\x00", b"msg")


def test_bad_lengths() -> None:
    with pytest.raises(MalformedInput):
        SigningKey.from_bytes(b"\x00" * 31)
    with pytest.raises(MalformedInput):
        VerifyKey.from_bytes(b"\x00" * 33)
    with pytest.raises(MalformedInput):
        verify(b"\x00" * 31, b"\x00" * 64, b"")


def test_repr_hides_seed() -> None:
    key = SigningKey.generate()
    assert key.seed.hex() not in repr(key) and key.public_key.hex() in repr(key)
