"""Property tests: random interleavings, loss, duplication, reordering, restore, tampering."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simplextui.crypto.errors import CryptoError, DuplicateMessage, TooManySkippedMessages
from simplextui.crypto.ratchet import Ratchet
from simplextui.crypto.x3dh import InviterKeys, inviter_agree, joiner_agree

SIDES = ("inviter", "joiner")


def make_pair(pq: bool, max_skip: int = 512) -> dict[str, Ratchet]:
    keys = InviterKeys.generate(pq=pq)
    join, shared_j = joiner_agree(keys.params(), pq=pq)
    return {
        "inviter": Ratchet.init_initiator(
            inviter_agree(keys, join), keys, pq=pq, max_skip=max_skip
        ),
        "joiner": Ratchet.init_responder(shared_j, keys.params(), pq=pq, max_skip=max_skip),
    }


def other(side: str) -> str:
    return "joiner" if side == "inviter" else "inviter"


def rejects(r: Ratchet, message: bytes, ad: bytes, error: type[CryptoError] = CryptoError) -> None:
    before = r.to_bytes()
    with pytest.raises(error):
        r.decrypt(message, ad)
    assert r.to_bytes() == before


side_st = st.sampled_from(SIDES)
op_st = st.one_of(
    st.tuples(st.just("send"), side_st, st.integers(1, 4)),
    st.tuples(st.just("deliver"), side_st, st.integers(0, 1 << 16)),
    st.tuples(st.just("deliver"), side_st, st.integers(0, 1 << 16)),
    st.tuples(st.just("drop"), side_st, st.integers(0, 1 << 16)),
    st.tuples(st.just("duplicate"), side_st, st.integers(0, 1 << 16)),
    st.tuples(st.just("restore"), side_st, st.just(0)),
    st.tuples(st.just("toggle_pq"), side_st, st.just(0)),
)


@dataclass
class Network:
    ratchets: dict[str, Ratchet]
    in_flight: dict[str, list[tuple[bytes, bytes, bytes]]] = field(
        default_factory=lambda: {s: [] for s in SIDES}
    )
    delivered: dict[str, list[tuple[bytes, bytes]]] = field(
        default_factory=lambda: {s: [] for s in SIDES}
    )
    counter: int = 0

    def send(self, side: str, count: int) -> None:
        r = self.ratchets[side]
        if not r.can_send:
            return
        for _ in range(count):
            self.counter += 1
            text = b"%s message %d" % (side.encode(), self.counter)
            ad = b"ad%d" % (self.counter % 3)
            self.in_flight[other(side)].append((r.encrypt(text, ad), text, ad))

    def deliver(self, side: str, index: int) -> None:
        queue = self.in_flight[side]
        if queue:
            msg, text, ad = queue.pop(index % len(queue))
            assert self.ratchets[side].decrypt(msg, ad) == text
            self.delivered[side].append((msg, ad))

    def apply(self, op: tuple[str, str, int], allow_toggle: bool) -> None:
        kind, side, arg = op
        r = self.ratchets[side]
        if kind == "send":
            self.send(side, arg)
        elif kind == "deliver":
            self.deliver(side, arg)
        elif kind == "drop" and self.in_flight[side]:
            self.in_flight[side].pop(arg % len(self.in_flight[side]))
        elif kind == "duplicate" and self.delivered[side]:
            msg, ad = self.delivered[side][arg % len(self.delivered[side])]
            rejects(r, msg, ad)
        elif kind == "restore":
            state = r.to_bytes()
            self.ratchets[side] = Ratchet.from_bytes(state)
            assert self.ratchets[side].to_bytes() == state
        elif kind == "toggle_pq" and allow_toggle:
            r.set_pq(not r.pq_enabled)


def run_scenario(pq: bool, ops: list[tuple[str, str, int]], allow_toggle: bool) -> None:
    net = Network(make_pair(pq))
    for op in ops:
        net.apply(op, allow_toggle)
    # Everything still in flight arrives, in reverse order, and everything is rejected twice.
    for side in SIDES:
        while net.in_flight[side]:
            net.deliver(side, len(net.in_flight[side]) - 1)
        for msg, ad in net.delivered[side]:
            rejects(net.ratchets[side], msg, ad)
    # The connection still works both ways.
    net.send("joiner", 1)
    net.deliver("inviter", 0)
    net.send("inviter", 1)
    net.deliver("joiner", 0)
    if pq and not allow_toggle:
        net.send("joiner", 1)
        net.deliver("inviter", 0)
        assert net.ratchets["inviter"].pq_active and net.ratchets["joiner"].pq_active


@settings(derandomize=True, database=None, max_examples=200, deadline=None)
@given(ops=st.lists(op_st, min_size=10, max_size=60))
def test_interleavings_classic(ops: list[tuple[str, str, int]]) -> None:
    run_scenario(False, ops, allow_toggle=False)


@settings(derandomize=True, database=None, max_examples=60, deadline=None)
@given(ops=st.lists(op_st, min_size=10, max_size=40))
def test_interleavings_pq(ops: list[tuple[str, str, int]]) -> None:
    run_scenario(True, ops, allow_toggle=False)


@settings(derandomize=True, database=None, max_examples=60, deadline=None)
@given(pq=st.booleans(), ops=st.lists(op_st, min_size=10, max_size=40))
def test_interleavings_toggling_pq(pq: bool, ops: list[tuple[str, str, int]]) -> None:
    run_scenario(pq, ops, allow_toggle=True)


@cache
def tamper_fixture(pq: bool) -> tuple[bytes, list[bytes]]:
    """The inviter's state after some traffic and three messages it has not seen yet:
    same chain, a skipped one, and one that starts a new chain."""
    pair = make_pair(pq)
    inviter, joiner = pair["inviter"], pair["joiner"]
    inviter.decrypt(joiner.encrypt(b"hello"))
    joiner.decrypt(inviter.encrypt(b"hi"))
    same = joiner.encrypt(b"same chain", b"ad")
    skipped = joiner.encrypt(b"skipped", b"ad")
    inviter.decrypt(joiner.encrypt(b"after skipped", b"ad"), b"ad")
    joiner.decrypt(inviter.encrypt(b"reply"))
    new_chain = joiner.encrypt(b"new chain", b"ad")
    return inviter.to_bytes(), [same, skipped, new_chain]


@settings(derandomize=True, database=None, max_examples=200, deadline=None)
@given(
    pq=st.booleans(),
    which=st.integers(0, 2),
    position=st.integers(0, 1 << 16),
    flip=st.integers(1, 255),
    mode=st.sampled_from(["flip", "truncate", "extend"]),
)
def test_tampering_is_rejected(pq: bool, which: int, position: int, flip: int, mode: str) -> None:
    state, messages = tamper_fixture(pq)
    msg = messages[which]
    r = Ratchet.from_bytes(state)
    if mode == "flip":
        pos = position % len(msg)
        bad = msg[:pos] + bytes((msg[pos] ^ flip,)) + msg[pos + 1 :]
    elif mode == "truncate":
        bad = msg[: position % len(msg)]
    else:
        bad = msg + bytes((flip,)) * (1 + position % 40)
    rejects(r, bad, b"ad")
    rejects(r, msg, b"not ad")
    assert r.decrypt(msg, b"ad") in (b"same chain", b"skipped", b"new chain")


@settings(derandomize=True, database=None, max_examples=150, deadline=None)
@given(
    max_skip=st.integers(0, 6),
    count=st.integers(1, 14),
    order=st.lists(st.integers(0, 1 << 16), min_size=1, max_size=30),
)
def test_max_skip_bound_matches_model(max_skip: int, count: int, order: list[int]) -> None:
    """One chain, delivered in a random order (with repeats), against an exact model of
    the skipped-key store: per-message bound and oldest-first eviction."""
    pair = make_pair(False, max_skip=max_skip)
    inviter, joiner = pair["inviter"], pair["joiner"]
    msgs = [joiner.encrypt(b"%d" % i) for i in range(count)]
    nr = 0
    stored: list[int] = []  # skipped message numbers, oldest first
    for pick in order:
        n = pick % count
        if n >= nr and n - nr > max_skip:
            rejects(inviter, msgs[n], b"", TooManySkippedMessages)
        elif n >= nr:
            assert inviter.decrypt(msgs[n]) == b"%d" % n
            stored.extend(range(nr, n))
            del stored[: max(0, len(stored) - max_skip)]
            nr = n + 1
        elif n in stored:
            assert inviter.decrypt(msgs[n]) == b"%d" % n
            stored.remove(n)
        else:
            rejects(inviter, msgs[n], b"", DuplicateMessage)
        assert inviter.skipped_count == len(stored) <= max_skip
        assert Ratchet.from_bytes(inviter.to_bytes()).to_bytes() == inviter.to_bytes()
