"""Double ratchet with header encryption and optional ML-KEM: behaviour and error paths."""

from __future__ import annotations

import pytest

from simplextui.crypto.errors import (
    AuthenticationError,
    CryptoError,
    DuplicateMessage,
    MalformedInput,
    RatchetStateError,
    TooManySkippedMessages,
)
from simplextui.crypto.ratchet import (
    HEADER_LEN,
    MAX_PLAINTEXT_LEN,
    MAX_SKIP,
    OVERHEAD,
    PQ_HEADER_LEN,
    Ratchet,
    message_overhead,
)
from simplextui.crypto.safety_code import connection_safety_code
from simplextui.crypto.x3dh import InviterKeys, inviter_agree, joiner_agree


def make_pair(
    inviter_pq: bool = False, joiner_pq: bool | None = None, max_skip: int = MAX_SKIP
) -> tuple[Ratchet, Ratchet]:
    """(inviter, joiner) ratchets of one fresh connection."""
    joiner_pq = inviter_pq if joiner_pq is None else joiner_pq
    keys = InviterKeys.generate(pq=inviter_pq)
    join, shared_j = joiner_agree(keys.params(), pq=joiner_pq)
    shared_i = inviter_agree(keys, join)
    inviter = Ratchet.init_initiator(shared_i, keys, pq=inviter_pq, max_skip=max_skip)
    joiner = Ratchet.init_responder(shared_j, keys.params(), pq=joiner_pq, max_skip=max_skip)
    return inviter, joiner


def exchange(a: Ratchet, b: Ratchet, text: bytes = b"ping") -> None:
    assert b.decrypt(a.encrypt(text)) == text


def assert_rejected(r: Ratchet, message: bytes, error: type[CryptoError], ad: bytes = b"") -> None:
    before = r.to_bytes()
    with pytest.raises(error):
        r.decrypt(message, ad)
    assert r.to_bytes() == before


@pytest.mark.parametrize("pq", [False, True])
def test_conversation(pq: bool) -> None:
    inviter, joiner = make_pair(pq)
    assert not inviter.can_send and joiner.can_send
    for i in range(4):
        exchange(joiner, inviter, b"j%d" % i)
        exchange(joiner, inviter, b"j%d'" % i)
        exchange(inviter, joiner, b"i%d" % i)
    assert inviter.pq_active is pq and joiner.pq_active is pq
    assert inviter.associated_data == joiner.associated_data
    assert connection_safety_code(inviter.associated_data) == connection_safety_code(
        joiner.associated_data
    )


def test_inviter_cannot_send_first() -> None:
    inviter, _ = make_pair()
    with pytest.raises(RatchetStateError):
        inviter.encrypt(b"too early")


@pytest.mark.parametrize("pq", [False, True])
def test_fixed_sizes(pq: bool) -> None:
    inviter, joiner = make_pair(pq)
    overhead = message_overhead(pq)
    assert overhead == (2359 if pq else 87)
    assert OVERHEAD == 87 and HEADER_LEN == 41 and PQ_HEADER_LEN == 2313
    sizes = set()
    for _ in range(3):
        for sender, receiver in ((joiner, inviter), (inviter, joiner)):
            for length in (0, 100):
                msg = sender.encrypt(bytes(length))
                sizes.add(len(msg) - length)
                assert receiver.decrypt(msg) == bytes(length)
    assert sizes == {overhead}


def test_pq_header_size_is_kept_while_negotiating() -> None:
    """A PQ side's headers are PQ-sized even before the peer has accepted (no ciphertext)."""
    inviter, joiner = make_pair(inviter_pq=False, joiner_pq=True)
    for _ in range(3):
        msg = joiner.encrypt(b"x")
        assert len(msg) == 1 + message_overhead(True)
        inviter.decrypt(msg)
        msg = inviter.encrypt(b"y")
        assert len(msg) == 1 + message_overhead(False)
        joiner.decrypt(msg)
    assert not joiner.pq_active and not inviter.pq_active


def test_pq_upgrade_and_downgrade() -> None:
    inviter, joiner = make_pair(inviter_pq=False, joiner_pq=False)
    exchange(joiner, inviter)
    exchange(inviter, joiner)
    assert not joiner.pq_active
    joiner.set_pq(True)
    inviter.set_pq(True)
    for _ in range(3):
        exchange(joiner, inviter)
        exchange(inviter, joiner)
    assert joiner.pq_active and inviter.pq_active and joiner.pq_enabled
    inviter.set_pq(False)
    for _ in range(3):
        exchange(joiner, inviter)
        exchange(inviter, joiner)
    assert not joiner.pq_active and not inviter.pq_active
    assert len(inviter.encrypt(b"")) == message_overhead(False)


def test_pq_invitation_declined_by_joiner() -> None:
    inviter, joiner = make_pair(inviter_pq=True, joiner_pq=False)
    for _ in range(3):
        exchange(joiner, inviter)
        exchange(inviter, joiner)
    assert not inviter.pq_active and not joiner.pq_active


def test_kem_ciphertext_for_unknown_key_rejected() -> None:
    """A header carrying a KEM ciphertext when this side never sent a KEM key."""
    keys = InviterKeys.generate(pq=True)
    join, shared_j = joiner_agree(keys.params(), pq=False)
    joiner = Ratchet.init_responder(shared_j, keys.params(), pq=True)  # encapsulates in header
    no_kem = InviterKeys(keys.key1, keys.key2)
    inviter = Ratchet.init_initiator(inviter_agree(no_kem, join), no_kem, pq=True)
    assert_rejected(inviter, joiner.encrypt(b"x"), CryptoError)


@pytest.mark.parametrize("pq", [False, True])
def test_out_of_order_and_duplicates(pq: bool) -> None:
    inviter, joiner = make_pair(pq)
    first = [joiner.encrypt(b"a%d" % i) for i in range(5)]
    assert inviter.decrypt(first[3]) == b"a3"
    assert inviter.skipped_count == 3
    assert_rejected(inviter, first[3], DuplicateMessage)
    assert inviter.decrypt(first[0]) == b"a0"
    assert_rejected(inviter, first[0], DuplicateMessage)
    reply = inviter.encrypt(b"r")
    assert joiner.decrypt(reply) == b"r"
    second = [joiner.encrypt(b"b%d" % i) for i in range(3)]
    assert inviter.decrypt(second[2]) == b"b2"  # DH step; skips first[4] and second[0:2]
    assert inviter.skipped_count == 2 + 1 + 2
    for msg, text in [(first[4], b"a4"), (second[0], b"b0"), (first[1], b"a1")]:
        assert inviter.decrypt(msg) == text
    assert_rejected(inviter, first[4], DuplicateMessage)
    assert inviter.decrypt(first[2]) == b"a2"
    assert inviter.decrypt(second[1]) == b"b1"
    assert inviter.skipped_count == 0
    # All keys of the first chain are used up: its header key is gone too.
    assert_rejected(inviter, first[1], AuthenticationError)
    assert_rejected(inviter, second[1], DuplicateMessage)
    assert_rejected(joiner, reply, DuplicateMessage)


@pytest.mark.parametrize("pq", [False, True])
def test_tampered_message_leaves_state_unchanged(pq: bool) -> None:
    inviter, joiner = make_pair(pq)
    exchange(joiner, inviter)
    exchange(inviter, joiner)
    msg = joiner.encrypt(b"secret", b"ctx")
    for pos in (0, 1, 2, 13, 14, 40, len(msg) - 17, len(msg) - 1):
        bad = bytearray(msg)
        bad[pos] ^= 0x80
        assert_rejected(inviter, bytes(bad), CryptoError, b"ctx")
    assert_rejected(inviter, msg, AuthenticationError, b"other ctx")
    assert_rejected(inviter, msg[:-1], CryptoError, b"ctx")
    assert_rejected(inviter, msg + b"\x00", AuthenticationError, b"ctx")
    assert inviter.decrypt(msg, b"ctx") == b"secret"


def test_tampered_dh_step_leaves_state_unchanged() -> None:
    """A bad body after a valid new-chain header: the DH step must be rolled back."""
    inviter, joiner = make_pair(True)
    exchange(joiner, inviter)
    msg = inviter.encrypt(b"new chain")
    bad = msg[:-1] + bytes((msg[-1] ^ 1,))
    assert_rejected(joiner, bad, AuthenticationError)
    assert joiner.decrypt(msg) == b"new chain"


def test_malformed_messages() -> None:
    inviter, joiner = make_pair()
    msg = joiner.encrypt(b"x")
    assert_rejected(inviter, b"", MalformedInput)
    assert_rejected(inviter, b"\x01", MalformedInput)
    assert_rejected(inviter, b"\x02" + msg[1:], MalformedInput)
    assert_rejected(inviter, msg[:1] + b"\x02" + msg[2:], MalformedInput)
    assert_rejected(inviter, msg[:1] + b"\x01" + msg[2:], MalformedInput)  # too short for PQ
    assert_rejected(inviter, msg[: OVERHEAD - 1], MalformedInput)
    assert_rejected(inviter, b"\x01\x00" + bytes(200), AuthenticationError)


def test_plaintext_limit() -> None:
    _, joiner = make_pair()
    assert len(joiner.encrypt(bytes(MAX_PLAINTEXT_LEN))) == MAX_PLAINTEXT_LEN + OVERHEAD
    with pytest.raises(CryptoError):
        joiner.encrypt(bytes(MAX_PLAINTEXT_LEN + 1))


def test_max_skip_same_chain() -> None:
    inviter, joiner = make_pair(max_skip=10)
    msgs = [joiner.encrypt(b"%d" % i) for i in range(13)]
    assert_rejected(inviter, msgs[11], TooManySkippedMessages)
    assert inviter.decrypt(msgs[10]) == b"10"  # exactly max_skip skipped
    assert inviter.skipped_count == 10
    assert inviter.decrypt(msgs[12]) == b"12"
    assert inviter.skipped_count == 10  # bounded: the oldest key (message 0) was dropped
    assert_rejected(inviter, msgs[0], DuplicateMessage)
    assert inviter.decrypt(msgs[1]) == b"1"


def test_max_skip_across_dh_step() -> None:
    inviter, joiner = make_pair(max_skip=5)
    exchange(joiner, inviter)
    lost = [joiner.encrypt(b"lost") for _ in range(3)]  # messages 1-3 of the first chain
    exchange(inviter, joiner)  # the joiner's next chain starts with pn = 4
    nxt = [joiner.encrypt(b"%d" % i) for i in range(4)]
    # 3 skipped in the old chain + 3 in the new one = 6 > 5.
    assert_rejected(inviter, nxt[3], TooManySkippedMessages)
    assert inviter.decrypt(nxt[2]) == b"2"  # 3 + 2 = 5
    assert inviter.skipped_count == 5
    assert [inviter.decrypt(m) for m in lost] == [b"lost"] * 3
    assert [inviter.decrypt(m) for m in nxt[:2]] == [b"0", b"1"]
    assert inviter.skipped_count == 0


def test_max_skip_zero() -> None:
    inviter, joiner = make_pair(max_skip=0)
    msgs = [joiner.encrypt(b"%d" % i) for i in range(2)]
    assert_rejected(inviter, msgs[1], TooManySkippedMessages)
    assert inviter.decrypt(msgs[0]) == b"0"
    assert inviter.decrypt(msgs[1]) == b"1"


def test_invalid_max_skip() -> None:
    keys = InviterKeys.generate(pq=False)
    _, shared = joiner_agree(keys.params())
    with pytest.raises(CryptoError):
        Ratchet.init_responder(shared, keys.params(), max_skip=-1)
    with pytest.raises(CryptoError):
        Ratchet.init_responder(shared, keys.params(), max_skip=1 << 16)
    with pytest.raises(TypeError):
        Ratchet()


@pytest.mark.parametrize("pq", [False, True])
def test_serialisation_round_trip(pq: bool) -> None:
    inviter, joiner = make_pair(pq, max_skip=100)
    states = [inviter.to_bytes(), joiner.to_bytes()]
    pending = [joiner.encrypt(b"%d" % i) for i in range(4)]
    inviter.decrypt(pending[2])
    exchange(inviter, joiner)
    states += [inviter.to_bytes(), joiner.to_bytes()]
    for state in states:
        assert Ratchet.from_bytes(state).to_bytes() == state
    restored = Ratchet.from_bytes(inviter.to_bytes())
    assert restored.skipped_count == 2 and restored.max_skip == 100
    assert restored.decrypt(pending[0]) == b"0"
    assert restored.decrypt(pending[3]) == b"3"
    joiner = Ratchet.from_bytes(joiner.to_bytes())
    exchange(joiner, restored)
    exchange(restored, joiner)
    assert restored.pq_active is pq and joiner.pq_active is pq


@pytest.mark.parametrize("pq", [False, True])
def test_serialisation_is_strict(pq: bool) -> None:
    inviter, joiner = make_pair(pq)
    msgs = [joiner.encrypt(b"x") for _ in range(3)]
    inviter.decrypt(msgs[2])
    exchange(inviter, joiner)
    state = inviter.to_bytes()
    cuts = set(range(0, 300, 7)) | {len(state) - 1, len(state) - 50}
    for cut in sorted(cuts):
        with pytest.raises(MalformedInput):
            Ratchet.from_bytes(state[:cut])
    for bad in (
        state + b"\x00",
        b"\x02" + state[1:],  # version
        state[:1] + bytes((state[1] | 0x40,)) + state[2:],  # unknown flag
        state[:1] + bytes((state[1] ^ 0x10,)) + state[2:],  # KEM ciphertext flag flipped
        state[:2] + (0xFFFFFF).to_bytes(4, "big") + state[6:],  # max_skip too large
        state[:2] + (1).to_bytes(4, "big") + state[6:],  # more skipped keys than max_skip
    ):
        with pytest.raises(MalformedInput):
            Ratchet.from_bytes(bad)


def test_serialisation_rejects_non_canonical_skipped_table() -> None:
    inviter, joiner = make_pair()
    msgs = [joiner.encrypt(b"x") for _ in range(2)]
    inviter.decrypt(msgs[1])
    state = inviter.to_bytes()
    # Tail: n_hks(2) hk(32) n_entries(4) entry(2 + 4 + 44); point the entry at index 1.
    entry = len(state) - 50
    bad_index = state[:entry] + b"\x00\x01" + state[entry + 2 :]
    with pytest.raises(MalformedInput):
        Ratchet.from_bytes(bad_index)
    table = len(state) - 50 - 4 - 32 - 2
    two_hks = state[:table] + b"\x00\x02" + state[table + 2 : table + 34] * 2 + state[table + 34 :]
    with pytest.raises(MalformedInput):
        Ratchet.from_bytes(two_hks)


def test_repr_shows_no_keys() -> None:
    inviter, _ = make_pair()
    text = repr(inviter)
    assert "Ratchet" in text and inviter.associated_data.hex() not in text
