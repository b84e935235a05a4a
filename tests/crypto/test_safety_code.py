"""Connection safety codes: 12 groups of 5 digits, the same on both sides."""

from __future__ import annotations

import re

import pytest

from simplextui.crypto.errors import MalformedInput
from simplextui.crypto.ratchet import Ratchet
from simplextui.crypto.safety_code import (
    connection_safety_code,
    safety_code,
    safety_code_groups,
)
from simplextui.crypto.x3dh import InviterKeys, inviter_agree, joiner_agree

A = bytes(range(32))
B = bytes(range(32, 64))
KNOWN = "74504 33932 27626 26327 32853 79922 82446 00848 61319 01287 06526 04390"


def test_format_and_order_independence() -> None:
    code = safety_code(A, B)
    assert re.fullmatch(r"\d{5}( \d{5}){11}", code)
    assert code == safety_code(B, A)
    assert safety_code_groups(A, B) == code.split(" ")


def test_known_answer() -> None:
    # Regression value for crypto v1 (SHA-512 of "simplextui/crypto/v1/safety" || key).
    assert safety_code(A, B) == KNOWN


def test_any_key_change_changes_the_code() -> None:
    code = safety_code(A, B)
    for pos in (0, 15, 31):
        other = bytearray(B)
        other[pos] ^= 1
        assert safety_code(A, bytes(other)) != code
    assert safety_code(A, A) != code


def test_both_sides_of_a_connection_agree() -> None:
    keys = InviterKeys.generate(pq=False)
    join, shared_j = joiner_agree(keys.params(), pq=False)
    inviter = Ratchet.init_initiator(inviter_agree(keys, join), keys, pq=False)
    joiner = Ratchet.init_responder(shared_j, keys.params(), pq=False)
    code = connection_safety_code(inviter.associated_data)
    assert code == connection_safety_code(joiner.associated_data)
    assert code == safety_code(keys.params().key1, join.key1)


def test_bad_input() -> None:
    with pytest.raises(MalformedInput):
        safety_code(A[:31], B)
    with pytest.raises(MalformedInput):
        connection_safety_code(A)
