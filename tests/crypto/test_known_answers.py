"""Known-answer tests: exact bytes out for fixed keys (vectors from scripts/make_crypto_vectors.py).

A failure here means the wire format or a KDF changed: that needs a new crypto version, not
new vectors.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from simplextui.crypto.kdf import hkdf_sha512
from simplextui.crypto.ratchet import Ratchet
from simplextui.crypto.x3dh import (
    DeterministicKeySource,
    InvitationParams,
    InviterKeys,
    JoinParams,
    derive_initial_keys,
    inviter_agree,
    joiner_agree,
)

VECTORS = Path(__file__).parent / "vectors"


@cache
def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / f"{name}.json").read_text())
    assert data["crypto_version"] == 1
    return data


def replay(encapsulations: list[dict[str, str]]) -> list[tuple[bytes, bytes, bytes]]:
    return [
        (bytes.fromhex(e["pk_sha256"]), bytes.fromhex(e["secret"]), bytes.fromhex(e["ciphertext"]))
        for e in encapsulations
    ]


def key_source(case: dict[str, Any], side: str) -> DeterministicKeySource:
    return DeterministicKeySource(
        bytes.fromhex(case[f"{side}_seed"]), replay=replay(case[f"{side}_encapsulations"])
    )


@pytest.mark.parametrize("case", load("kdf")["hkdf_sha512"], ids=lambda c: str(c["length"]))
def test_hkdf_sha512(case: dict[str, Any]) -> None:
    okm = hkdf_sha512(
        bytes.fromhex(case["ikm"]),
        salt=bytes.fromhex(case["salt"]),
        info=bytes.fromhex(case["info"]),
        length=case["length"],
    )
    assert okm.hex() == case["okm"]


@pytest.mark.parametrize("case", load("kdf")["x3dh_combiner"])
def test_x3dh_combiner(case: dict[str, Any]) -> None:
    kem = bytes.fromhex(case["kem_secret"]) if case["kem_secret"] else None
    res = derive_initial_keys(
        bytes.fromhex(case["dh1"]),
        bytes.fromhex(case["dh2"]),
        bytes.fromhex(case["dh3"]),
        kem,
        bytes(64),
    )
    assert res.root_key.hex() == case["root_key"]
    assert res.header_key.hex() == case["header_key"]
    assert res.next_header_key.hex() == case["next_header_key"]


@pytest.mark.parametrize("case", load("x3dh")["cases"], ids=lambda c: c["name"])
def test_x3dh(case: dict[str, Any]) -> None:
    ks_i = DeterministicKeySource(bytes.fromhex(case["inviter_seed"]))
    keys = InviterKeys.generate(pq=case["inviter_pq"], key_source=ks_i)
    assert keys.to_bytes().hex() == case["inviter_keys"]
    assert keys.params().to_bytes().hex() == case["invitation"]
    invitation = InvitationParams.from_bytes(bytes.fromhex(case["invitation"]))
    join, joiner = joiner_agree(
        invitation, pq=case["joiner_pq"], key_source=key_source(case, "joiner")
    )
    assert join.to_bytes().hex() == case["join"]
    # The inviter side uses only the recorded bytes (decapsulation is deterministic).
    inviter = inviter_agree(
        InviterKeys.from_bytes(bytes.fromhex(case["inviter_keys"])),
        JoinParams.from_bytes(bytes.fromhex(case["join"])),
    )
    for res in (joiner, inviter):
        assert res.root_key.hex() == case["root_key"]
        assert res.header_key.hex() == case["header_key"]
        assert res.next_header_key.hex() == case["next_header_key"]
        assert res.associated_data.hex() == case["associated_data"]
        assert res.pq is case["pq"]


@pytest.mark.parametrize("case", load("ratchet")["conversations"], ids=lambda c: c["name"])
def test_ratchet_conversation(case: dict[str, Any]) -> None:
    ks_i, ks_j = key_source(case, "inviter"), key_source(case, "joiner")
    keys = InviterKeys.generate(pq=case["inviter_pq"], key_source=ks_i)
    join, shared_j = joiner_agree(keys.params(), pq=case["joiner_pq"], key_source=ks_j)
    sides = {
        "joiner": Ratchet.init_responder(
            shared_j, keys.params(), pq=case["joiner_pq"], key_source=ks_j
        ),
        "inviter": Ratchet.init_initiator(
            inviter_agree(keys, join), keys, pq=case["inviter_pq"], key_source=ks_i
        ),
    }
    sent: list[dict[str, Any]] = []
    for step in case["steps"]:
        if step["op"] == "send":
            msg = sides[step["side"]].encrypt(
                bytes.fromhex(step["plaintext"]), bytes.fromhex(step["ad"])
            )
            assert msg.hex() == step["message"]
            sent.append(step)
        else:
            sent_step = sent[step["index"]]
            plaintext = sides[step["side"]].decrypt(
                bytes.fromhex(sent_step["message"]), bytes.fromhex(sent_step["ad"])
            )
            assert plaintext.hex() == sent_step["plaintext"]
    assert sides["joiner"].to_bytes().hex() == case["final_state_joiner"]
    assert sides["inviter"].to_bytes().hex() == case["final_state_inviter"]
    assert ks_i.replay == [] and ks_j.replay == []  # every recorded encapsulation was used


@pytest.mark.parametrize("case", load("ratchet")["conversations"], ids=lambda c: c["name"])
def test_ratchet_states_restore_exactly(case: dict[str, Any]) -> None:
    for side in ("joiner", "inviter"):
        state = bytes.fromhex(case[f"final_state_{side}"])
        assert Ratchet.from_bytes(state).to_bytes() == state
