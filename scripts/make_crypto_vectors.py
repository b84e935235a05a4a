"""Regenerate the crypto known-answer vectors in tests/crypto/vectors/ (crypto v1).

    python scripts/make_crypto_vectors.py

All keys come from `DeterministicKeySource` seeds. ML-KEM-768 encapsulation cannot be seeded,
so its results are recorded here and replayed by the tests (decapsulation, which is
deterministic, then checks them). HKDF vectors are computed with `cryptography`'s own HKDF,
an implementation independent of `simplextui.crypto.kdf`. Rerunning changes only the
recorded encapsulations and everything derived from them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simplextui.crypto.ratchet import Ratchet  # noqa: E402
from simplextui.crypto.x3dh import (  # noqa: E402
    DeterministicKeySource,
    InviterKeys,
    derive_initial_keys,
    inviter_agree,
    joiner_agree,
)

OUT = ROOT / "tests" / "crypto" / "vectors"

# A conversation that covers in-order, out-of-order, skipped keys across DH steps and AD.
# ("send", side, plaintext, associated data) or ("recv", side, index of the message sent).
SCRIPT: list[tuple[str, ...]] = [
    ("send", "joiner", "hello", ""),
    ("send", "joiner", "second", "ad"),
    ("send", "joiner", "third", ""),
    ("recv", "inviter", "2"),
    ("recv", "inviter", "0"),
    ("send", "inviter", "reply 1", ""),
    ("send", "inviter", "reply 2", ""),
    ("recv", "joiner", "4"),
    ("send", "joiner", "new chain", ""),
    ("recv", "inviter", "5"),
    ("recv", "inviter", "1"),
    ("recv", "joiner", "3"),
    ("send", "inviter", "", "x"),
    ("recv", "joiner", "6"),
]


def _det(label: str, n: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha512(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


def _enc(records: list[tuple[bytes, bytes, bytes]]) -> list[dict[str, str]]:
    return [{"pk_sha256": d.hex(), "secret": s.hex(), "ciphertext": c.hex()} for d, s, c in records]


def kdf_vectors() -> dict[str, Any]:
    cases = []
    for i, (ikm_len, salt_len, info_len, length) in enumerate(
        [(32, 0, 0, 32), (96, 32, 25, 96), (128, 64, 26, 88), (13, 200, 0, 300), (0, 16, 10, 64)]
    ):
        ikm = _det(f"kdf/ikm/{i}", ikm_len)
        salt = _det(f"kdf/salt/{i}", salt_len)
        info = _det(f"kdf/info/{i}", info_len)
        okm = HKDF(hashes.SHA512(), length, salt or None, info).derive(ikm)
        cases.append(
            {
                "ikm": ikm.hex(),
                "salt": salt.hex(),
                "info": info.hex(),
                "length": length,
                "okm": okm.hex(),
            }
        )
    combiner = []
    for pq in (False, True):
        dh1, dh2, dh3 = (_det(f"combiner/dh{i}", 32) for i in (1, 2, 3))
        kem = _det("combiner/kem", 32) if pq else None
        ad = _det("combiner/ad", 64)
        res = derive_initial_keys(dh1, dh2, dh3, kem, ad)
        combiner.append(
            {
                "dh1": dh1.hex(),
                "dh2": dh2.hex(),
                "dh3": dh3.hex(),
                "kem_secret": kem.hex() if kem else None,
                "root_key": res.root_key.hex(),
                "header_key": res.header_key.hex(),
                "next_header_key": res.next_header_key.hex(),
            }
        )
    return {"hkdf_sha512": cases, "x3dh_combiner": combiner}


def x3dh_vectors() -> dict[str, Any]:
    cases = []
    for name, inv_pq, join_pq in [
        ("classic", False, False),
        ("pq", True, True),
        ("pq-declined", True, False),
    ]:
        inviter_seed, joiner_seed = _det(f"x3dh/{name}/i", 32), _det(f"x3dh/{name}/j", 32)
        ks_i, ks_j = DeterministicKeySource(inviter_seed), DeterministicKeySource(joiner_seed)
        keys = InviterKeys.generate(pq=inv_pq, key_source=ks_i)
        join, res = joiner_agree(keys.params(), pq=join_pq, key_source=ks_j)
        assert inviter_agree(keys, join) == res
        cases.append(
            {
                "name": name,
                "inviter_pq": inv_pq,
                "joiner_pq": join_pq,
                "inviter_seed": inviter_seed.hex(),
                "joiner_seed": joiner_seed.hex(),
                "joiner_encapsulations": _enc(ks_j.recorded),
                "inviter_keys": keys.to_bytes().hex(),
                "invitation": keys.params().to_bytes().hex(),
                "join": join.to_bytes().hex(),
                "root_key": res.root_key.hex(),
                "header_key": res.header_key.hex(),
                "next_header_key": res.next_header_key.hex(),
                "associated_data": res.associated_data.hex(),
                "pq": res.pq,
            }
        )
    return {"cases": cases}


def ratchet_vectors() -> dict[str, Any]:
    conversations = []
    for name, inv_pq, join_pq in [
        ("classic", False, False),
        ("pq", True, True),
        ("pq-joiner-only", False, True),
    ]:
        inviter_seed, joiner_seed = _det(f"ratchet/{name}/i", 32), _det(f"ratchet/{name}/j", 32)
        ks_i, ks_j = DeterministicKeySource(inviter_seed), DeterministicKeySource(joiner_seed)
        keys = InviterKeys.generate(pq=inv_pq, key_source=ks_i)
        join, shared_j = joiner_agree(keys.params(), pq=join_pq, key_source=ks_j)
        shared_i = inviter_agree(keys, join)
        sides = {
            "joiner": Ratchet.init_responder(shared_j, keys.params(), pq=join_pq, key_source=ks_j),
            "inviter": Ratchet.init_initiator(shared_i, keys, pq=inv_pq, key_source=ks_i),
        }
        sent: list[tuple[bytes, bytes, bytes]] = []
        steps = []
        for op in SCRIPT:
            if op[0] == "send":
                _, side, text, ad = op
                msg = sides[side].encrypt(text.encode(), ad.encode())
                sent.append((msg, text.encode(), ad.encode()))
                steps.append(
                    {
                        "op": "send",
                        "side": side,
                        "plaintext": text.encode().hex(),
                        "ad": ad.encode().hex(),
                        "message": msg.hex(),
                    }
                )
            else:
                _, side, index = op
                msg, text, ad = sent[int(index)]
                assert sides[side].decrypt(msg, ad) == text
                steps.append({"op": "recv", "side": side, "index": int(index)})
        conversations.append(
            {
                "name": name,
                "inviter_pq": inv_pq,
                "joiner_pq": join_pq,
                "inviter_seed": inviter_seed.hex(),
                "joiner_seed": joiner_seed.hex(),
                "inviter_encapsulations": _enc(ks_i.recorded),
                "joiner_encapsulations": _enc(ks_j.recorded),
                "steps": steps,
                "final_state_joiner": sides["joiner"].to_bytes().hex(),
                "final_state_inviter": sides["inviter"].to_bytes().hex(),
            }
        )
    return {"conversations": conversations}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, build in [("kdf", kdf_vectors), ("x3dh", x3dh_vectors), ("ratchet", ratchet_vectors)]:
        data = {"crypto_version": 1, **build()}
        path = OUT / f"{name}.json"
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
