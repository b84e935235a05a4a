"""Double ratchet with header encryption, optionally augmented with ML-KEM-768 (crypto v1).

This is Signal's "double ratchet with header encryption" with AES-256-GCM and HKDF-SHA512,
plus SimpleX's post-quantum augmentation ("PQDR"): every DH ratchet step also carries an
ML-KEM-768 encapsulation key and/or a ciphertext in the encrypted header, two KEM exchanges
run as a "parallel ping-pong", and each KEM secret is appended to the DH output that goes
into the root KDF. See docs/crypto.md for the byte layouts.

Both `encrypt` and `decrypt` are transactional: on any error the state is exactly as before.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from simplextui.crypto.errors import (
    AuthenticationError,
    CryptoError,
    DuplicateMessage,
    MalformedInput,
    RatchetStateError,
    TooManySkippedMessages,
)
from simplextui.crypto.kdf import hkdf_sha512, make_chain_kdf
from simplextui.crypto.x3dh import (
    DH_KEY_LEN,
    KEM_CIPHERTEXT_LEN,
    KEM_PUBLIC_KEY_LEN,
    KEM_SEED_LEN,
    SYSTEM_KEYS,
    InvitationParams,
    InviterKeys,
    KeySource,
    X3DHResult,
    dh,
    kem_decapsulate,
    kem_public_key,
    new_kem_key_pair,
    new_key_pair,
)

__all__ = [
    "CHAIN_INFO",
    "HEADER_LEN",
    "MAX_PLAINTEXT_LEN",
    "MAX_SKIP",
    "MESSAGE_VERSION",
    "OVERHEAD",
    "PQ_HEADER_LEN",
    "ROOT_INFO",
    "STATE_VERSION",
    "Ratchet",
    "message_overhead",
]

MESSAGE_VERSION = 1
STATE_VERSION = 1
MAX_SKIP = 512
MAX_PLAINTEXT_LEN = 1 << 16
ROOT_INFO = b"simplextui/crypto/v1/root"
CHAIN_INFO = b"simplextui/crypto/v1/chain"

_KEY = 32
_NONCE = 12
_TAG = 16
_MK = _KEY + _NONCE  # a stored message key: AES key || body nonce
_U32_MAX = 0xFFFFFFFF
_MAX_SKIP_LIMIT = 0xFFFF

# Plaintext header: flags(1) dh(32) pn(4) n(4) [kem_pub(1184)] [kem_ct(1088)] zero padding.
_H_KEM_PUB = 0x01
_H_KEM_CT = 0x02
_H_FIXED = 1 + DH_KEY_LEN + 4 + 4
HEADER_LEN = _H_FIXED  # classic (no KEM) header: 41 bytes
PQ_HEADER_LEN = _H_FIXED + KEM_PUBLIC_KEY_LEN + KEM_CIPHERTEXT_LEN  # 2313 bytes
_KIND_CLASSIC = 0
_KIND_PQ = 1
_HEADER_LENS = (HEADER_LEN, PQ_HEADER_LEN)
# Message: version(1) kind(1) header_nonce(12) enc_header(len + 16) body(len + 16).
_PREFIX = 2 + _NONCE
_PN_N = struct.Struct(">II")
_CLASSIC = struct.Struct(">B32sII")
_chain_kdf = make_chain_kdf(CHAIN_INFO)


def message_overhead(pq: bool) -> int:
    """Bytes a ratchet message adds to its plaintext: 87 classic, 2359 with a PQ header."""
    return _PREFIX + _HEADER_LENS[pq] + _TAG + _TAG


OVERHEAD = message_overhead(False)


class _Header(NamedTuple):
    dh: bytes
    pn: int
    n: int
    kem_pub: bytes | None
    kem_ct: bytes | None


def _parse_header(data: bytes) -> _Header:
    flags = data[0]
    if not flags and len(data) == HEADER_LEN:  # classic header: the common case
        _, dh_pub, pn, n = _CLASSIC.unpack(data)
        return _Header(dh_pub, pn, n, None, None)
    if flags & ~(_H_KEM_PUB | _H_KEM_CT) or (flags & _H_KEM_CT and not flags & _H_KEM_PUB):
        raise MalformedInput(f"bad ratchet header flags {flags:#x}")
    pn, n = _PN_N.unpack_from(data, 1 + DH_KEY_LEN)
    pos = _H_FIXED
    kem_pub = kem_ct = None
    if flags & _H_KEM_PUB:
        kem_pub = data[pos : pos + KEM_PUBLIC_KEY_LEN]
        pos += KEM_PUBLIC_KEY_LEN
    if flags & _H_KEM_CT:
        kem_ct = data[pos : pos + KEM_CIPHERTEXT_LEN]
        pos += KEM_CIPHERTEXT_LEN
    if pos > len(data) or data.count(0, pos) != len(data) - pos:
        raise MalformedInput("bad ratchet header length or padding")
    return _Header(data[1 : 1 + DH_KEY_LEN], pn, n, kem_pub, kem_ct)


def _root_kdf(root_key: bytes, dh_out: bytes, kem_secret: bytes) -> tuple[bytes, bytes, bytes]:
    """KDF_RK_HE: (root key, chain key, next header key)."""
    okm = hkdf_sha512(dh_out + kem_secret, salt=root_key, info=ROOT_INFO, length=96)
    return okm[:32], okm[32:64], okm[64:]


def _try_header(cipher: AESGCM, nonce: bytes, enc_header: bytes, ad: bytes) -> bytes | None:
    try:
        return cipher.decrypt(nonce, enc_header, ad)
    except InvalidTag:
        return None


def _open_body(msg_key: bytes, body: bytes, ad: bytes) -> bytes:
    try:
        return AESGCM(msg_key[:_KEY]).decrypt(msg_key[_KEY:], body, ad)
    except InvalidTag:
        raise AuthenticationError("ratchet message body failed authentication") from None


class _Step(NamedTuple):
    """The state changes of one DH ratchet step, applied only when the message decrypts."""

    rk: bytes
    ckr: bytes
    hkr: bytes
    nhkr: bytes
    cks: bytes
    hks: bytes
    nhks: bytes
    dhrs: X25519PrivateKey
    dhrs_priv: bytes
    dhrs_pub: bytes
    kem: MLKEM768PrivateKey | None
    kem_seed: bytes | None
    kem_pub: bytes | None
    kem_ct: bytes | None
    pq_recv: bool


class Ratchet:
    """One side of a double-ratchet session. Not thread-safe; persist `to_bytes()` after use.

    `init_initiator` is for the inviter, who must receive the first message before it can
    send; `init_responder` is for the joiner, who can send at once.
    """

    __slots__ = (
        "_ad",
        "_ciphers",
        "_ckr",
        "_cks",
        "_dhrs",
        "_dhrs_priv",
        "_dhrs_pub",
        "_hkr",
        "_hks",
        "_kem",
        "_kem_ct",
        "_kem_pub",
        "_kem_seed",
        "_keys",
        "_max_skip",
        "_nhkr",
        "_nhks",
        "_nr",
        "_ns",
        "_pn",
        "_pq",
        "_pq_recv",
        "_rk",
        "_skipped",
        "_skipped_hks",
    )

    _ad: bytes
    _pq: bool
    _pq_recv: bool
    _max_skip: int
    _dhrs: X25519PrivateKey | None
    _dhrs_priv: bytes
    _dhrs_pub: bytes
    _rk: bytes
    _cks: bytes | None
    _hks: bytes | None
    _ckr: bytes | None
    _hkr: bytes | None
    _nhks: bytes
    _nhkr: bytes
    _ns: int
    _nr: int
    _pn: int
    _kem: MLKEM768PrivateKey | None
    _kem_seed: bytes | None
    _kem_pub: bytes | None
    _kem_ct: bytes | None
    _skipped: dict[tuple[bytes, int], bytes]
    _skipped_hks: dict[bytes, int]
    _ciphers: dict[bytes, AESGCM]
    _keys: KeySource

    def __init__(self) -> None:
        raise TypeError("use Ratchet.init_initiator, Ratchet.init_responder or Ratchet.from_bytes")

    @classmethod
    def _blank(cls, ad: bytes, pq: bool, max_skip: int, key_source: KeySource | None) -> Ratchet:
        if not 0 <= max_skip <= _MAX_SKIP_LIMIT:
            raise CryptoError(f"max_skip out of range: {max_skip}")
        if len(ad) != 2 * DH_KEY_LEN:
            raise MalformedInput("ratchet associated data must be 64 bytes")
        self = object.__new__(cls)
        self._ad = ad
        self._pq = pq
        self._pq_recv = False
        self._max_skip = max_skip
        self._cks = self._hks = self._ckr = self._hkr = None
        self._ns = self._nr = self._pn = 0
        self._dhrs = None
        self._kem = None
        self._kem_seed = self._kem_pub = self._kem_ct = None
        self._skipped = {}
        self._skipped_hks = {}
        self._ciphers = {}
        self._keys = key_source or SYSTEM_KEYS
        return self

    # -----------------------------------------------------------------------------------------
    # Initialisation

    @classmethod
    def init_initiator(
        cls,
        shared: X3DHResult,
        keys: InviterKeys,
        *,
        pq: bool = True,
        max_skip: int = MAX_SKIP,
        key_source: KeySource | None = None,
    ) -> Ratchet:
        """The inviter's ratchet (Signal's Bob): its invitation `key2` is the first ratchet
        key and its invitation KEM key (if any) answers the joiner's first KEM ciphertext."""
        self = cls._blank(shared.associated_data, pq, max_skip, key_source)
        self._dhrs_priv = keys.key2
        self._dhrs_pub = keys.params().key2
        self._rk = shared.root_key
        self._nhks = shared.next_header_key
        self._nhkr = shared.header_key
        if keys.kem_seed is not None:
            self._kem = keys.kem_private_key
            self._kem_seed = keys.kem_seed
            self._kem_pub = keys.params().kem_public_key
        return self

    @classmethod
    def init_responder(
        cls,
        shared: X3DHResult,
        invitation: InvitationParams,
        *,
        pq: bool = True,
        max_skip: int = MAX_SKIP,
        key_source: KeySource | None = None,
    ) -> Ratchet:
        """The joiner's ratchet (Signal's Alice), which sends the first message. With `pq`
        it offers a KEM key and, if the invitation has a KEM key, encapsulates to it."""
        self = cls._blank(shared.associated_data, pq, max_skip, key_source)
        self._dhrs, self._dhrs_priv, self._dhrs_pub = new_key_pair(self._keys)
        kem_secret = b""
        if pq:
            self._kem, self._kem_seed, self._kem_pub = new_kem_key_pair(self._keys)
            if invitation.kem_public_key is not None:
                kem_secret, self._kem_ct = self._keys.encapsulate(
                    kem_public_key(invitation.kem_public_key)
                )
        dh_out = dh(self._dhrs, invitation.key2)
        self._rk, self._cks, self._nhks = _root_kdf(shared.root_key, dh_out, kem_secret)
        self._hks = shared.header_key
        self._nhkr = shared.next_header_key
        return self

    # -----------------------------------------------------------------------------------------
    # Properties

    @property
    def associated_data(self) -> bytes:
        """Inviter key1 || joiner key1: the input of the connection safety code."""
        return self._ad

    @property
    def pq_enabled(self) -> bool:
        """Whether this side adds KEM keys/ciphertexts at its DH ratchet steps."""
        return self._pq

    @property
    def pq_active(self) -> bool:
        """Whether both the current sending and the last receiving chain mixed in a KEM
        secret, i.e. both directions are currently post-quantum protected."""
        return self._kem_ct is not None and self._pq_recv

    @property
    def can_send(self) -> bool:
        return self._cks is not None

    @property
    def max_skip(self) -> int:
        return self._max_skip

    @property
    def skipped_count(self) -> int:
        return len(self._skipped)

    def set_pq(self, enabled: bool) -> None:
        """Turn the KEM augmentation on or off from the next DH ratchet step on; the peer
        follows: it stops encapsulating when our headers carry no KEM key."""
        self._pq = enabled

    def __repr__(self) -> str:
        return (
            f"<Ratchet pq={self._pq} pq_active={self.pq_active} ns={self._ns} nr={self._nr} "
            f"pn={self._pn} skipped={len(self._skipped)}>"
        )

    # -----------------------------------------------------------------------------------------
    # Encrypt

    def encrypt(self, plaintext: bytes, associated_data: bytes = b"") -> bytes:
        """Encrypt one message: version, kind, header nonce, encrypted header, body.

        The caller pads `plaintext` (at most `MAX_PLAINTEXT_LEN` bytes) to hide its length;
        the header is padded here to a fixed size per kind (classic or PQ).
        """
        cks = self._cks
        if cks is None:
            raise RatchetStateError("cannot send before the first message is received")
        if len(plaintext) > MAX_PLAINTEXT_LEN:
            raise CryptoError(f"plaintext longer than {MAX_PLAINTEXT_LEN} bytes")
        if self._ns >= _U32_MAX:
            raise RatchetStateError("sending chain exhausted")
        out = _chain_kdf(cks)
        kem_pub, kem_ct = self._kem_pub, self._kem_ct
        if kem_pub is None:
            kind = _KIND_PQ if self._pq else _KIND_CLASSIC
            flags = 0
            kem = b""
        else:
            kind = _KIND_PQ
            flags = _H_KEM_PUB
            if kem_ct is None:
                kem = kem_pub
            else:
                flags |= _H_KEM_CT
                kem = kem_pub + kem_ct
        header = b"".join(
            (bytes((flags,)), self._dhrs_pub, _PN_N.pack(self._pn, self._ns), kem)
        ).ljust(_HEADER_LENS[kind], b"\0")
        assert self._hks is not None
        cipher = self._cipher(self._hks)
        prefix = bytes((MESSAGE_VERSION, kind))
        head_nonce = out[76:88]
        head = prefix + head_nonce + cipher.encrypt(head_nonce, header, self._ad + prefix)
        body = AESGCM(out[32:64]).encrypt(out[64:76], plaintext, self._ad + head + associated_data)
        self._cks = out[:32]
        self._ns += 1
        return head + body

    # -----------------------------------------------------------------------------------------
    # Decrypt

    def decrypt(self, message: bytes, associated_data: bytes = b"") -> bytes:
        """Decrypt one message, in any order within the skip bound.

        Raises `DuplicateMessage` for a message whose key was already used,
        `TooManySkippedMessages` past `max_skip`, `AuthenticationError` when no key fits or
        the body is tampered, `MalformedInput` for bad framing; the state is then unchanged.
        """
        if len(message) < 2:
            raise MalformedInput("ratchet message too short")
        if message[0] != MESSAGE_VERSION:
            raise MalformedInput(f"unsupported ratchet message version {message[0]}")
        kind = message[1]
        if kind > _KIND_PQ:
            raise MalformedInput(f"unknown ratchet header kind {kind}")
        head_end = _PREFIX + _HEADER_LENS[kind] + _TAG
        if len(message) < head_end + _TAG:
            raise MalformedInput("ratchet message too short")
        nonce = message[2:_PREFIX]
        enc_header = message[_PREFIX:head_end]
        header_ad = self._ad + message[:2]

        # 1. The current receiving chain (the common case), including its skipped keys.
        hkr = self._hkr
        if hkr is not None:
            plain = _try_header(self._cipher(hkr), nonce, enc_header, header_ad)
            if plain is not None:
                header = _parse_header(plain)
                if header.n < self._nr:
                    return self._decrypt_skipped(hkr, header.n, message, head_end, associated_data)
                return self._decrypt_same_chain(header, message, head_end, associated_data)
        # 2. The next receiving chain: a DH ratchet step.
        plain = _try_header(self._cipher(self._nhkr), nonce, enc_header, header_ad)
        if plain is not None:
            header = _parse_header(plain)
            return self._decrypt_new_chain(header, message, head_end, associated_data)
        # 3. Earlier chains that still have skipped keys.
        for hk in self._skipped_hks:
            if hk == hkr:
                continue
            plain = _try_header(AESGCM(hk), nonce, enc_header, header_ad)
            if plain is not None:
                header = _parse_header(plain)
                return self._decrypt_skipped(hk, header.n, message, head_end, associated_data)
        raise AuthenticationError("no header key fits the ratchet message")

    def _cipher(self, key: bytes) -> AESGCM:
        """AES-GCM instances of the current header keys are cached (1.6 µs each to make)."""
        cipher = self._ciphers.get(key)
        if cipher is None:
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher

    def _body_ad(self, message: bytes, head_end: int, associated_data: bytes) -> bytes:
        return self._ad + message[:head_end] + associated_data

    def _decrypt_skipped(
        self, hk: bytes, n: int, message: bytes, head_end: int, associated_data: bytes
    ) -> bytes:
        msg_key = self._skipped.get((hk, n))
        if msg_key is None:
            raise DuplicateMessage(f"message {n} was already received (or its key dropped)")
        plaintext = _open_body(
            msg_key, message[head_end:], self._body_ad(message, head_end, associated_data)
        )
        del self._skipped[(hk, n)]
        left = self._skipped_hks[hk] - 1
        if left:
            self._skipped_hks[hk] = left
        else:
            del self._skipped_hks[hk]
        return plaintext

    def _decrypt_same_chain(
        self, header: _Header, message: bytes, head_end: int, associated_data: bytes
    ) -> bytes:
        n, nr = header.n, self._nr
        if n - nr > self._max_skip:
            raise TooManySkippedMessages(f"message {n} would skip {n - nr} keys")
        assert self._ckr is not None and self._hkr is not None
        ckr, skipped = self._skip_keys(self._ckr, self._hkr, nr, n)
        out = _chain_kdf(ckr)
        plaintext = _open_body(
            out[32:76], message[head_end:], self._body_ad(message, head_end, associated_data)
        )
        self._ckr = out[:32]
        self._nr = n + 1
        self._store_skipped(skipped)
        return plaintext

    def _decrypt_new_chain(
        self, header: _Header, message: bytes, head_end: int, associated_data: bytes
    ) -> bytes:
        to_skip = header.n
        if self._ckr is not None and header.pn > self._nr:
            to_skip += header.pn - self._nr
        if to_skip > self._max_skip:
            raise TooManySkippedMessages(f"message would skip {to_skip} keys")
        skipped: list[tuple[tuple[bytes, int], bytes]] = []
        if self._ckr is not None and self._hkr is not None:
            _, skipped = self._skip_keys(self._ckr, self._hkr, self._nr, header.pn)
        step = self._dh_step(header)
        ckr, skipped_new = self._skip_keys(step.ckr, step.hkr, 0, header.n)
        out = _chain_kdf(ckr)
        plaintext = _open_body(
            out[32:76], message[head_end:], self._body_ad(message, head_end, associated_data)
        )
        # Commit.
        self._pn = self._ns
        self._ns = 0
        self._nr = header.n + 1
        self._rk = step.rk
        self._ckr = out[:32]
        self._hkr = step.hkr
        self._nhkr = step.nhkr
        self._cks = step.cks
        self._hks = step.hks
        self._ciphers = {}
        self._nhks = step.nhks
        self._dhrs = step.dhrs
        self._dhrs_priv = step.dhrs_priv
        self._dhrs_pub = step.dhrs_pub
        self._kem = step.kem
        self._kem_seed = step.kem_seed
        self._kem_pub = step.kem_pub
        self._kem_ct = step.kem_ct
        self._pq_recv = step.pq_recv
        skipped.extend(skipped_new)
        self._store_skipped(skipped)
        return plaintext

    def _dh_step(self, header: _Header) -> _Step:
        """DHRatchetPQ2HE of the PQDR spec, computed without touching the state."""
        kem_secret = b""
        if header.kem_ct is not None:
            if self._kem_seed is None:
                raise CryptoError("KEM ciphertext for a KEM key this side never sent")
            kem = self._kem
            if kem is None:
                kem = MLKEM768PrivateKey.from_seed_bytes(self._kem_seed)
            kem_secret = kem_decapsulate(kem, header.kem_ct)
        peer_kem = kem_public_key(header.kem_pub) if header.kem_pub is not None else None
        own = self._dhrs if self._dhrs is not None else self._dhrs_priv
        rk, ckr, nhkr = _root_kdf(self._rk, dh(own, header.dh), kem_secret)
        dhrs, dhrs_priv, dhrs_pub = new_key_pair(self._keys)
        new_kem: MLKEM768PrivateKey | None = None
        kem_seed = kem_pub = kem_ct = None
        kem_secret = b""
        if self._pq:
            new_kem, kem_seed, kem_pub = new_kem_key_pair(self._keys)
            if peer_kem is not None:
                kem_secret, kem_ct = self._keys.encapsulate(peer_kem)
        rk, cks, nhks = _root_kdf(rk, dh(dhrs, header.dh), kem_secret)
        return _Step(
            rk=rk,
            ckr=ckr,
            hkr=self._nhkr,
            nhkr=nhkr,
            cks=cks,
            hks=self._nhks,
            nhks=nhks,
            dhrs=dhrs,
            dhrs_priv=dhrs_priv,
            dhrs_pub=dhrs_pub,
            kem=new_kem,
            kem_seed=kem_seed,
            kem_pub=kem_pub,
            kem_ct=kem_ct,
            pq_recv=header.kem_ct is not None,
        )

    @staticmethod
    def _skip_keys(
        ck: bytes, hk: bytes, start: int, until: int
    ) -> tuple[bytes, list[tuple[tuple[bytes, int], bytes]]]:
        """Advance a receiving chain from `start` to `until`, collecting the skipped keys."""
        skipped = []
        for i in range(start, until):
            out = _chain_kdf(ck)
            skipped.append(((hk, i), out[32:76]))
            ck = out[:32]
        return ck, skipped

    def _store_skipped(self, entries: list[tuple[tuple[bytes, int], bytes]]) -> None:
        """Add skipped keys, dropping the oldest beyond `max_skip` stored keys."""
        store, hks = self._skipped, self._skipped_hks
        for key, msg_key in entries:
            store[key] = msg_key
            hks[key[0]] = hks.get(key[0], 0) + 1
        while len(store) > self._max_skip:
            old = next(iter(store))
            del store[old]
            left = hks[old[0]] - 1
            if left:
                hks[old[0]] = left
            else:
                del hks[old[0]]

    # -----------------------------------------------------------------------------------------
    # Serialisation

    def to_bytes(self) -> bytes:
        """The whole state, deterministic and versioned (see docs/crypto.md)."""
        flags = (
            (_S_PQ if self._pq else 0)
            | (_S_SEND if self._cks is not None else 0)
            | (_S_RECV if self._ckr is not None else 0)
            | (_S_KEM if self._kem_seed is not None else 0)
            | (_S_KEM_CT if self._kem_ct is not None else 0)
            | (_S_PQ_RECV if self._pq_recv else 0)
        )
        parts = [
            bytes((STATE_VERSION, flags)),
            _U32.pack(self._max_skip),
            self._ad,
            self._dhrs_priv,
            self._dhrs_pub,
            self._rk,
            self._nhks,
            self._nhkr,
            _U32X3.pack(self._ns, self._nr, self._pn),
        ]
        if self._cks is not None:
            assert self._hks is not None
            parts += (self._cks, self._hks)
        if self._ckr is not None:
            assert self._hkr is not None
            parts += (self._ckr, self._hkr)
        if self._kem_seed is not None:
            assert self._kem_pub is not None
            parts += (self._kem_seed, self._kem_pub)
        if self._kem_ct is not None:
            parts.append(self._kem_ct)
        index: dict[bytes, int] = {}
        entries = []
        for (hk, n), msg_key in self._skipped.items():
            i = index.setdefault(hk, len(index))
            entries.append(_ENTRY.pack(i, n) + msg_key)
        parts.append(_U16.pack(len(index)))
        parts.extend(index)
        parts.append(_U32.pack(len(entries)))
        parts.extend(entries)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes, *, key_source: KeySource | None = None) -> Ratchet:
        """Strict inverse of `to_bytes`: any deviation raises `MalformedInput`."""
        reader = _Reader(bytes(data))
        version, flags = reader.take(1)[0], reader.take(1)[0]
        if version != STATE_VERSION:
            raise MalformedInput(f"unsupported ratchet state version {version}")
        if flags & ~_S_ALL:
            raise MalformedInput(f"unknown ratchet state flags {flags:#x}")
        if flags & _S_KEM_CT and not flags & _S_KEM:
            raise MalformedInput("KEM ciphertext without a KEM key in ratchet state")
        if flags & _S_KEM_CT and not flags & _S_SEND:
            raise MalformedInput("KEM ciphertext without a sending chain in ratchet state")
        (max_skip,) = _U32.unpack(reader.take(4))
        ad = reader.take(2 * DH_KEY_LEN)
        if max_skip > _MAX_SKIP_LIMIT:
            raise MalformedInput("max_skip out of range in ratchet state")
        self = cls._blank(ad, bool(flags & _S_PQ), max_skip, key_source)
        self._dhrs_priv = reader.take(_KEY)
        self._dhrs_pub = reader.take(_KEY)
        self._rk = reader.take(_KEY)
        self._nhks = reader.take(_KEY)
        self._nhkr = reader.take(_KEY)
        self._ns, self._nr, self._pn = _U32X3.unpack(reader.take(12))
        if flags & _S_SEND:
            self._cks, self._hks = reader.take(_KEY), reader.take(_KEY)
        if flags & _S_RECV:
            self._ckr, self._hkr = reader.take(_KEY), reader.take(_KEY)
        if flags & _S_KEM:
            self._kem_seed = reader.take(KEM_SEED_LEN)
            self._kem_pub = reader.take(KEM_PUBLIC_KEY_LEN)
        if flags & _S_KEM_CT:
            self._kem_ct = reader.take(KEM_CIPHERTEXT_LEN)
        self._pq_recv = bool(flags & _S_PQ_RECV)
        (n_hks,) = _U16.unpack(reader.take(2))
        table = [reader.take(_KEY) for _ in range(n_hks)]
        if len(set(table)) != n_hks:
            raise MalformedInput("duplicate header key in ratchet state")
        (n_entries,) = _U32.unpack(reader.take(4))
        if n_entries > max_skip:
            raise MalformedInput("more skipped keys than max_skip in ratchet state")
        seen = 0
        for _ in range(n_entries):
            i, n = _ENTRY.unpack(reader.take(_ENTRY.size))
            # Canonical form: the table lists header keys in order of first use.
            if i > seen or i >= n_hks:
                raise MalformedInput("bad header key index in ratchet state")
            if i == seen:
                seen += 1
            key = (table[i], n)
            if key in self._skipped:
                raise MalformedInput("duplicate skipped key in ratchet state")
            self._skipped[key] = reader.take(_MK)
            self._skipped_hks[table[i]] = self._skipped_hks.get(table[i], 0) + 1
        if seen != n_hks:
            raise MalformedInput("unused header key in ratchet state")
        reader.done()
        return self


_S_PQ = 0x01
_S_SEND = 0x02
_S_RECV = 0x04
_S_KEM = 0x08
_S_KEM_CT = 0x10
_S_PQ_RECV = 0x20
_S_ALL = _S_PQ | _S_SEND | _S_RECV | _S_KEM | _S_KEM_CT | _S_PQ_RECV
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U32X3 = struct.Struct(">III")
_ENTRY = struct.Struct(">HI")


class _Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise MalformedInput("ratchet state truncated")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def done(self) -> None:
        if self._pos != len(self._data):
            raise MalformedInput("trailing bytes after ratchet state")
