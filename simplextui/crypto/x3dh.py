"""Initial key agreement for a pairwise connection: X3DH-style, hybrid with ML-KEM-768.

Roles. The *inviter* creates the invitation and publishes `InvitationParams` (two X25519
public keys and, for post-quantum connections, an ML-KEM-768 encapsulation key). The
*joiner* replies with `JoinParams` (its two X25519 public keys and the KEM ciphertext)::

    dh1 = DH(inviter.key1, joiner.key2)
    dh2 = DH(inviter.key2, joiner.key1)
    dh3 = DH(inviter.key2, joiner.key2)
    okm = HKDF-SHA512(salt = "", ikm = dh1 || dh2 || dh3 [|| kem_secret],
                      info = "simplextui/crypto/v1/x3dh", 96)
    header_key, next_header_key, root_key = okm[0:32], okm[32:64], okm[64:96]
    associated_data = inviter.key1 || joiner.key1

The joiner sends the first ratchet message (`Ratchet.init_responder`), the inviter answers
(`Ratchet.init_initiator`); the inviter's `key2` is its first ratchet key, as in Signal.

Randomness comes from a `KeySource`, so tests can make every key deterministic; ML-KEM
encapsulation has no seeded API, so `DeterministicKeySource` can replay recorded results.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from simplextui.crypto.errors import CryptoError, MalformedInput
from simplextui.crypto.kdf import hkdf_sha512

__all__ = [
    "DH_KEY_LEN",
    "KEM_CIPHERTEXT_LEN",
    "KEM_PUBLIC_KEY_LEN",
    "KEM_SEED_LEN",
    "KEM_SHARED_SECRET_LEN",
    "SYSTEM_KEYS",
    "X3DH_INFO",
    "DeterministicKeySource",
    "InvitationParams",
    "InviterKeys",
    "JoinParams",
    "KeySource",
    "SystemKeySource",
    "X3DHResult",
    "derive_initial_keys",
    "dh",
    "inviter_agree",
    "joiner_agree",
    "kem_decapsulate",
    "kem_public_key",
    "new_kem_key_pair",
    "new_key_pair",
]

DH_KEY_LEN = 32
KEM_PUBLIC_KEY_LEN = 1184
KEM_CIPHERTEXT_LEN = 1088
KEM_SEED_LEN = 64
KEM_SHARED_SECRET_LEN = 32
X3DH_INFO = b"simplextui/crypto/v1/x3dh"
PARAMS_VERSION = 1
_FLAG_KEM = 0x01


# ---------------------------------------------------------------------------------------------
# Key sources


class KeySource(Protocol):
    """Where new key pairs and KEM encapsulations come from."""

    def x25519(self) -> X25519PrivateKey: ...

    def mlkem(self) -> MLKEM768PrivateKey: ...

    def encapsulate(self, public_key: MLKEM768PublicKey) -> tuple[bytes, bytes]:
        """Return (shared_secret, ciphertext)."""
        ...


class SystemKeySource:
    """Keys from the operating system's CSPRNG (the default)."""

    def x25519(self) -> X25519PrivateKey:
        return X25519PrivateKey.generate()

    def mlkem(self) -> MLKEM768PrivateKey:
        return MLKEM768PrivateKey.generate()

    def encapsulate(self, public_key: MLKEM768PublicKey) -> tuple[bytes, bytes]:
        return public_key.encapsulate()


SYSTEM_KEYS: KeySource = SystemKeySource()


@dataclass
class DeterministicKeySource:
    """Reproducible keys for tests and known-answer vectors only, never for real connections.

    Keys are HKDF-SHA512(seed, info = kind || counter). ML-KEM encapsulation cannot be seeded,
    so it is either real, with each result appended to `recorded` as
    (sha256(public key), shared secret, ciphertext), or replayed from `replay` in order,
    checking that each is for the same public key.
    """

    seed: bytes
    replay: list[tuple[bytes, bytes, bytes]] | None = None
    recorded: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)
    counter: int = 0

    def _next(self, kind: bytes, length: int) -> bytes:
        self.counter += 1
        info = kind + self.counter.to_bytes(4, "big")
        return hkdf_sha512(self.seed, info=info, length=length)

    def x25519(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self._next(b"x25519", DH_KEY_LEN))

    def mlkem(self) -> MLKEM768PrivateKey:
        return MLKEM768PrivateKey.from_seed_bytes(self._next(b"mlkem768", KEM_SEED_LEN))

    def encapsulate(self, public_key: MLKEM768PublicKey) -> tuple[bytes, bytes]:
        digest = hashlib.sha256(public_key.public_bytes_raw()).digest()
        if self.replay is not None:
            if not self.replay:
                raise CryptoError("no recorded KEM encapsulation left to replay")
            want, secret, ciphertext = self.replay.pop(0)
            if want != digest:
                raise CryptoError("replayed KEM encapsulation is for another public key")
            return secret, ciphertext
        secret, ciphertext = public_key.encapsulate()
        self.recorded.append((digest, secret, ciphertext))
        return secret, ciphertext


# ---------------------------------------------------------------------------------------------
# Primitive wrappers raising CryptoError


def dh(private_key: bytes | X25519PrivateKey, public_key: bytes) -> bytes:
    """X25519; rejects malformed keys and low-order points (all-zero output).

    Pass the key object when there is one: loading raw private bytes costs about 50 µs.
    """
    if isinstance(private_key, bytes):
        if len(private_key) != DH_KEY_LEN:
            raise MalformedInput("X25519 keys are 32 bytes")
        private_key = X25519PrivateKey.from_private_bytes(private_key)
    if len(public_key) != DH_KEY_LEN:
        raise MalformedInput("X25519 keys are 32 bytes")
    try:
        return private_key.exchange(X25519PublicKey.from_public_bytes(public_key))
    except ValueError:
        raise CryptoError("X25519 exchange failed (low-order public key)") from None


def kem_public_key(data: bytes) -> MLKEM768PublicKey:
    """Parse an ML-KEM-768 encapsulation key (length and modulus checked)."""
    try:
        return MLKEM768PublicKey.from_public_bytes(data)
    except ValueError:
        raise MalformedInput("malformed ML-KEM-768 public key") from None


def kem_decapsulate(private_key: MLKEM768PrivateKey, ciphertext: bytes) -> bytes:
    try:
        return private_key.decapsulate(ciphertext)
    except ValueError:
        raise MalformedInput("malformed ML-KEM-768 ciphertext") from None


def _pub(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def _priv(key: X25519PrivateKey) -> bytes:
    return key.private_bytes_raw()


def _parse_params(data: bytes, kem_len: int, what: str) -> tuple[bytes, bytes, bytes | None]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedInput(f"{what} must be bytes")
    data = bytes(data)
    if len(data) < 2 + 2 * DH_KEY_LEN:
        raise MalformedInput(f"{what} too short")
    version, flags = data[0], data[1]
    if version != PARAMS_VERSION:
        raise MalformedInput(f"unsupported {what} version {version}")
    if flags & ~_FLAG_KEM:
        raise MalformedInput(f"unknown {what} flags {flags:#x}")
    expected = 2 + 2 * DH_KEY_LEN + (kem_len if flags & _FLAG_KEM else 0)
    if len(data) != expected:
        raise MalformedInput(f"{what} must be {expected} bytes, got {len(data)}")
    key1, key2 = data[2:34], data[34:66]
    kem = data[66:] if flags & _FLAG_KEM else None
    return key1, key2, kem


def _check_len(value: bytes, length: int, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        raise MalformedInput(f"{what} must be {length} bytes")


# ---------------------------------------------------------------------------------------------
# Published parameters


@dataclass(frozen=True, slots=True)
class InvitationParams:
    """What the inviter publishes: `version || flags || key1 || key2 [|| kem_public_key]`.

    66 bytes, or 1250 with the 1184-byte ML-KEM-768 key (flags bit 0).
    """

    key1: bytes
    key2: bytes
    kem_public_key: bytes | None = None

    def __post_init__(self) -> None:
        _check_len(self.key1, DH_KEY_LEN, "key1")
        _check_len(self.key2, DH_KEY_LEN, "key2")
        if self.kem_public_key is not None:
            kem_public_key(self.kem_public_key)

    def to_bytes(self) -> bytes:
        flags = _FLAG_KEM if self.kem_public_key is not None else 0
        return bytes((PARAMS_VERSION, flags)) + self.key1 + self.key2 + (self.kem_public_key or b"")

    @classmethod
    def from_bytes(cls, data: bytes) -> InvitationParams:
        key1, key2, kem = _parse_params(data, KEM_PUBLIC_KEY_LEN, "invitation params")
        return cls(key1, key2, kem)


@dataclass(frozen=True, slots=True)
class JoinParams:
    """What the joiner replies: `version || flags || key1 || key2 [|| kem_ciphertext]`.

    66 bytes, or 1154 with the 1088-byte ML-KEM-768 ciphertext (flags bit 0).
    """

    key1: bytes
    key2: bytes
    kem_ciphertext: bytes | None = None

    def __post_init__(self) -> None:
        _check_len(self.key1, DH_KEY_LEN, "key1")
        _check_len(self.key2, DH_KEY_LEN, "key2")
        if self.kem_ciphertext is not None:
            _check_len(self.kem_ciphertext, KEM_CIPHERTEXT_LEN, "KEM ciphertext")

    def to_bytes(self) -> bytes:
        flags = _FLAG_KEM if self.kem_ciphertext is not None else 0
        return bytes((PARAMS_VERSION, flags)) + self.key1 + self.key2 + (self.kem_ciphertext or b"")

    @classmethod
    def from_bytes(cls, data: bytes) -> JoinParams:
        key1, key2, kem = _parse_params(data, KEM_CIPHERTEXT_LEN, "join params")
        return cls(key1, key2, kem)


@dataclass(frozen=True, slots=True, repr=False)
class InviterKeys:
    """The inviter's private keys, kept (persisted) until the joiner's reply arrives.

    Serialised as `version || flags || key1 || key2 [|| kem_seed]` (66 or 130 bytes).
    """

    key1: bytes
    key2: bytes
    kem_seed: bytes | None = None
    _kem: MLKEM768PrivateKey | None = field(default=None, compare=False)
    _params: InvitationParams | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _check_len(self.key1, DH_KEY_LEN, "key1")
        _check_len(self.key2, DH_KEY_LEN, "key2")
        if self.kem_seed is not None:
            _check_len(self.kem_seed, KEM_SEED_LEN, "KEM seed")
            if self._kem is None:
                object.__setattr__(self, "_kem", MLKEM768PrivateKey.from_seed_bytes(self.kem_seed))
        if self._params is None:
            pub1 = _pub(X25519PrivateKey.from_private_bytes(self.key1))
            pub2 = _pub(X25519PrivateKey.from_private_bytes(self.key2))
            kem_pub = self._kem.public_key().public_bytes_raw() if self._kem is not None else None
            object.__setattr__(self, "_params", InvitationParams(pub1, pub2, kem_pub))

    @classmethod
    def generate(cls, *, pq: bool = True, key_source: KeySource | None = None) -> InviterKeys:
        ks = key_source or SYSTEM_KEYS
        k1, k2 = ks.x25519(), ks.x25519()
        kem = ks.mlkem() if pq else None
        seed = kem.private_bytes_raw() if kem is not None else None
        return cls(_priv(k1), _priv(k2), seed, kem)

    def params(self) -> InvitationParams:
        """The public half, to put in the invitation."""
        assert self._params is not None
        return self._params

    @property
    def kem_private_key(self) -> MLKEM768PrivateKey | None:
        return self._kem

    def to_bytes(self) -> bytes:
        flags = _FLAG_KEM if self.kem_seed is not None else 0
        return bytes((PARAMS_VERSION, flags)) + self.key1 + self.key2 + (self.kem_seed or b"")

    @classmethod
    def from_bytes(cls, data: bytes) -> InviterKeys:
        key1, key2, seed = _parse_params(data, KEM_SEED_LEN, "inviter keys")
        return cls(key1, key2, seed)


@dataclass(frozen=True, slots=True, repr=False)
class X3DHResult:
    """Shared secrets both sides derive; `Ratchet.init_*` uses them according to role.

    `header_key` is the joiner's first sending header key (the inviter's first receiving
    next-header key); `next_header_key` is the inviter's first sending header key.
    `associated_data` (inviter key1 || joiner key1, 64 bytes) binds every ratchet message.
    `pq` tells whether an ML-KEM secret was mixed in.
    """

    root_key: bytes
    header_key: bytes
    next_header_key: bytes
    associated_data: bytes
    pq: bool


def derive_initial_keys(
    dh1: bytes, dh2: bytes, dh3: bytes, kem_secret: bytes | None, associated_data: bytes
) -> X3DHResult:
    """The combiner: HKDF over the three DH outputs and the optional KEM secret."""
    for part in (dh1, dh2, dh3):
        _check_len(part, DH_KEY_LEN, "DH output")
    if kem_secret is not None:
        _check_len(kem_secret, KEM_SHARED_SECRET_LEN, "KEM shared secret")
    ikm = dh1 + dh2 + dh3 + (kem_secret or b"")
    okm = hkdf_sha512(ikm, info=X3DH_INFO, length=96)
    return X3DHResult(
        root_key=okm[64:96],
        header_key=okm[0:32],
        next_header_key=okm[32:64],
        associated_data=associated_data,
        pq=kem_secret is not None,
    )


def joiner_agree(
    invitation: InvitationParams, *, pq: bool = True, key_source: KeySource | None = None
) -> tuple[JoinParams, X3DHResult]:
    """Joiner side: make keys, encapsulate to the invitation's KEM key when `pq` and present."""
    ks = key_source or SYSTEM_KEYS
    j1, j2 = ks.x25519(), ks.x25519()
    kem_secret: bytes | None = None
    ciphertext: bytes | None = None
    if pq and invitation.kem_public_key is not None:
        kem_secret, ciphertext = ks.encapsulate(kem_public_key(invitation.kem_public_key))
    result = derive_initial_keys(
        dh(j2, invitation.key1),
        dh(j1, invitation.key2),
        dh(j2, invitation.key2),
        kem_secret,
        invitation.key1 + _pub(j1),
    )
    return JoinParams(_pub(j1), _pub(j2), ciphertext), result


def inviter_agree(keys: InviterKeys, join: JoinParams, *, require_pq: bool = False) -> X3DHResult:
    """Inviter side. A reply without a KEM ciphertext gives a classical (non-PQ) result,
    unless `require_pq`; a ciphertext without an invitation KEM key is an error."""
    kem_secret: bytes | None = None
    if join.kem_ciphertext is not None:
        if keys.kem_private_key is None:
            raise CryptoError("KEM ciphertext in reply to an invitation without a KEM key")
        kem_secret = kem_decapsulate(keys.kem_private_key, join.kem_ciphertext)
    elif require_pq:
        raise CryptoError("the joiner did not use post-quantum key agreement")
    return derive_initial_keys(
        dh(keys.key1, join.key2),
        dh(keys.key2, join.key1),
        dh(keys.key2, join.key2),
        kem_secret,
        keys.params().key1 + join.key1,
    )


def new_key_pair(key_source: KeySource | None = None) -> tuple[X25519PrivateKey, bytes, bytes]:
    """A fresh X25519 key pair as (key object, raw private bytes, raw public bytes)."""
    key = (key_source or SYSTEM_KEYS).x25519()
    return key, _priv(key), _pub(key)


def new_kem_key_pair(
    key_source: KeySource | None = None,
) -> tuple[MLKEM768PrivateKey, bytes, bytes]:
    """A fresh ML-KEM-768 key pair as (key object, 64-byte seed, public key bytes)."""
    key = (key_source or SYSTEM_KEYS).mlkem()
    return key, key.private_bytes_raw(), key.public_key().public_bytes_raw()
