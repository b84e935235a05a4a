"""HKDF-SHA512 / HMAC-SHA512 against independent implementations, and AES-256-GCM wrappers."""

from __future__ import annotations

import hmac
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from simplextui.crypto import aead
from simplextui.crypto.errors import AuthenticationError, CryptoError, MalformedInput
from simplextui.crypto.kdf import hkdf_sha512, hmac_sha512, make_chain_kdf, split

SETTINGS = settings(derandomize=True, database=None, max_examples=60, deadline=None)


def reference_hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA512(), length, salt or None, info).derive(ikm)


@SETTINGS
@given(
    ikm=st.binary(max_size=200),
    salt=st.binary(max_size=300),
    info=st.binary(max_size=100),
    length=st.integers(1, 400),
)
def test_hkdf_matches_cryptography(ikm: bytes, salt: bytes, info: bytes, length: int) -> None:
    assert hkdf_sha512(ikm, salt=salt, info=info, length=length) == reference_hkdf(
        ikm, salt, info, length
    )


@SETTINGS
@given(key=st.binary(max_size=300), message=st.binary(max_size=300))
def test_hmac_matches_stdlib(key: bytes, message: bytes) -> None:
    assert hmac_sha512(key, message) == hmac.digest(key, message, "sha512")


def test_hmac_rfc4231() -> None:
    # RFC 4231 test cases 1 and 2 (HMAC-SHA-512).
    assert hmac_sha512(b"\x0b" * 20, b"Hi There").hex() == (
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
        "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
    )
    assert hmac_sha512(b"Jefe", b"what do ya want for nothing?").hex() == (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    )


@SETTINGS
@given(chain_key=st.binary(min_size=32, max_size=32), info=st.binary(max_size=40))
def test_chain_kdf_is_hkdf(chain_key: bytes, info: bytes) -> None:
    assert make_chain_kdf(info)(chain_key) == reference_hkdf(chain_key, b"", info, 88)


def test_hkdf_length_bounds() -> None:
    with pytest.raises(CryptoError):
        hkdf_sha512(b"k", length=0)
    with pytest.raises(CryptoError):
        hkdf_sha512(b"k", length=255 * 64 + 1)
    assert len(hkdf_sha512(b"k", length=255 * 64)) == 255 * 64


def test_split() -> None:
    assert split(b"abcdef", 1, 2, 3) == (b"a", b"bc", b"def")
    assert split(b"", 0) == (b"",)
    with pytest.raises(CryptoError):
        split(b"abc", 1, 1)
    with pytest.raises(CryptoError):
        split(b"abc", 2, 2)


KEY = bytes(range(32))
NONCE = bytes(12)


def test_aead_round_trip_and_known_answer() -> None:
    ct = aead.encrypt(KEY, NONCE, b"hello", b"ad")
    assert len(ct) == 5 + aead.TAG_LEN
    assert aead.decrypt(KEY, NONCE, ct, b"ad") == b"hello"
    # NIST GCM test case 13 (AES-256, zero key, zero nonce, empty plaintext): tag only.
    assert aead.encrypt(bytes(32), bytes(12), b"").hex() == "530f8afbc74536b9a963b4f1c4cb738b"


@pytest.mark.parametrize("position", range(0, 21))
def test_aead_rejects_any_flipped_byte(position: int) -> None:
    ct = bytearray(aead.encrypt(KEY, NONCE, b"hello", b"ad"))
    ct[position] ^= 0x01
    with pytest.raises(AuthenticationError):
        aead.decrypt(KEY, NONCE, bytes(ct), b"ad")


def test_aead_rejects_wrong_ad_key_nonce() -> None:
    ct = aead.encrypt(KEY, NONCE, b"hello", b"ad")
    with pytest.raises(AuthenticationError):
        aead.decrypt(KEY, NONCE, ct, b"other")
    with pytest.raises(AuthenticationError):
        aead.decrypt(bytes(32), NONCE, ct, b"ad")
    with pytest.raises(AuthenticationError):
        aead.decrypt(KEY, b"\x01" * 12, ct, b"ad")


@pytest.mark.parametrize("key_len", [0, 16, 24, 31, 33, 64])
def test_aead_bad_key_length(key_len: int) -> None:
    with pytest.raises(CryptoError):
        aead.encrypt(bytes(key_len), NONCE, b"x")
    with pytest.raises(CryptoError):
        aead.decrypt(bytes(key_len), NONCE, bytes(20))


def test_aead_bad_nonce_and_short_ciphertext() -> None:
    with pytest.raises(CryptoError):
        aead.encrypt(KEY, bytes(16), b"x")
    with pytest.raises(CryptoError):
        aead.decrypt(KEY, bytes(8), bytes(20))
    with pytest.raises(MalformedInput):
        aead.decrypt(KEY, NONCE, bytes(15))


def test_seal_open() -> None:
    sealed = aead.seal(KEY, b"payload", b"ctx")
    assert len(sealed) == 7 + 28
    assert aead.open_sealed(KEY, sealed, b"ctx") == b"payload"
    assert aead.seal(KEY, b"payload") != aead.seal(KEY, b"payload")  # fresh nonces
    with pytest.raises(AuthenticationError):
        aead.open_sealed(KEY, sealed, b"other")
    with pytest.raises(MalformedInput):
        aead.open_sealed(KEY, sealed[:27])
    with pytest.raises(AuthenticationError):
        aead.open_sealed(os.urandom(32), sealed, b"ctx")
