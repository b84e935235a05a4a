"""Queue server addresses: smp://FINGERPRINT@HOST:PORT."""

from __future__ import annotations

import hashlib
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simplextui.protocol.address import ServerAddress, certificate_fingerprint
from simplextui.protocol.b64 import b64encode
from simplextui.protocol.errors import ErrorCode, ProtocolError

FAST = settings(derandomize=True, max_examples=200, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
FP = bytes(range(32))
FP_TEXT = b64encode(FP)

_ALNUM = string.ascii_letters + string.digits
_alnum = st.sampled_from(_ALNUM)
_label = st.one_of(_alnum, st.builds(lambda a, mid, b: a + mid + b, _alnum,
                                     st.text(_ALNUM + "-", max_size=10), _alnum))
hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.sampled_from(["localhost", "127.0.0.1", "::1", "smp.example.com", "A-1.B2.c"]),
)


@given(st.binary(min_size=32, max_size=32), hosts, st.integers(1, 65_535))
@FAST
def test_parse_str_round_trip(fingerprint: bytes, host: str, port: int) -> None:
    address = ServerAddress(fingerprint, host, port)
    text = str(address)
    assert text.startswith("smp://")
    assert ServerAddress.parse(text) == address
    assert str(ServerAddress.parse(text)) == text


def test_ipv4_and_hostname() -> None:
    address = ServerAddress.parse(f"smp://{FP_TEXT}@127.0.0.1:5223")
    assert (address.fingerprint, address.host, address.port) == (FP, "127.0.0.1", 5223)
    assert address.base_url == "https://127.0.0.1:5223"
    named = ServerAddress.parse(f"  smp://{FP_TEXT}@smp.example.org:443\n")
    assert (named.host, named.port) == ("smp.example.org", 443)
    assert named.base_url == "https://smp.example.org:443"


def test_ipv6() -> None:
    address = ServerAddress.parse(f"smp://{FP_TEXT}@[2001:db8::1]:5223")
    assert (address.host, address.port) == ("2001:db8::1", 5223)
    assert str(address) == f"smp://{FP_TEXT}@[2001:db8::1]:5223"
    assert address.base_url == "https://[2001:db8::1]:5223"
    assert ServerAddress.parse(f"smp://{FP_TEXT}@[::1]:1").host == "::1"


def test_short_form_hides_most_of_the_fingerprint() -> None:
    short = ServerAddress(FP, "127.0.0.1", 5223).short()
    assert "127.0.0.1:5223" in short
    assert FP_TEXT not in short
    assert FP_TEXT[:8] in short


def test_fingerprint_is_sha256_of_der() -> None:
    assert certificate_fingerprint(b"der bytes") == hashlib.sha256(b"der bytes").digest()


@pytest.mark.parametrize("text", [
    # missing or wrong scheme
    f"{FP_TEXT}@host:5223",
    f"https://{FP_TEXT}@host:5223",
    f"SMP://{FP_TEXT}@host:5223",
    f"smp:/{FP_TEXT}@host:5223",
    # bad fingerprint
    "smp://@host:5223",
    f"smp://{FP_TEXT[:-1]}@host:5223",
    f"smp://{b64encode(bytes(31))}@host:5223",
    f"smp://{b64encode(bytes(33))}@host:5223",
    f"smp://{FP_TEXT}=@host:5223",
    f"smp://{FP_TEXT.replace('A', '+')}@host:5223",
    f"smp://{FP_TEXT[:-1]}!@host:5223",
    f"smp://{FP.hex()}@host:5223",
    # missing parts
    f"smp://{FP_TEXT}",
    f"smp://{FP_TEXT}host:5223",
    f"smp://{FP_TEXT}@host",
    f"smp://{FP_TEXT}@host:",
    f"smp://{FP_TEXT}@:5223",
    # bad port
    f"smp://{FP_TEXT}@host:0",
    f"smp://{FP_TEXT}@host:65536",
    f"smp://{FP_TEXT}@host:123456",
    f"smp://{FP_TEXT}@host:-1",
    f"smp://{FP_TEXT}@host:+80",
    f"smp://{FP_TEXT}@host: 80",
    f"smp://{FP_TEXT}@host:80a",
    f"smp://{FP_TEXT}@host:0x50",
    f"smp://{FP_TEXT}@host:²",  # isdigit() but not a number int() accepts
    f"smp://{FP_TEXT}@host:٥٢٢٣",  # non-ASCII digits
    # bad host
    f"smp://{FP_TEXT}@ho st:5223",
    f"smp://{FP_TEXT}@host\n:5223",
    f"smp://{FP_TEXT}@host/path:5223",
    f"smp://{FP_TEXT}@-host:5223",
    f"smp://{FP_TEXT}@host-.com:5223",
    f"smp://{FP_TEXT}@a..b:5223",
    f"smp://{FP_TEXT}@{'a' * 64}.com:5223",
    f"smp://{FP_TEXT}@user@host:5223",
    # IPv6 without brackets, unclosed, or with a zone
    f"smp://{FP_TEXT}@::1:5223",
    f"smp://{FP_TEXT}@2001:db8::1:5223",
    f"smp://{FP_TEXT}@[::1:5223",
    f"smp://{FP_TEXT}@[::1]5223",
    f"smp://{FP_TEXT}@[::1]",
    f"smp://{FP_TEXT}@[fe80::1%eth0]:5223",
    f"smp://{FP_TEXT}@[not-ipv6]:5223",
    f"smp://{FP_TEXT}@[127.0.0.1]:5223",
])
def test_rejects(text: str) -> None:
    with pytest.raises(ProtocolError) as info:
        ServerAddress.parse(text)
    assert info.value.code == ErrorCode.SYNTAX


@pytest.mark.parametrize(("fingerprint", "host", "port"), [
    (bytes(31), "host", 1),
    (FP, "host", 0),
    (FP, "host", 65_536),
    (FP, "", 1),
    (FP, "bad host", 1),
    (FP, "host\n", 1),
])
def test_constructor_validates(fingerprint: bytes, host: str, port: int) -> None:
    with pytest.raises(ProtocolError):
        ServerAddress(fingerprint, host, port)


@given(st.text(max_size=80))
@FAST
def test_fuzz_parse_raises_only_protocol_error(text: str) -> None:
    try:
        address = ServerAddress.parse(text)
    except ProtocolError:
        return
    assert ServerAddress.parse(str(address)) == address


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=20), st.text(max_size=8))
@FAST
def test_fuzz_host_and_port_parts(host: str, port: str) -> None:
    try:
        address = ServerAddress.parse(f"smp://{FP_TEXT}@{host}:{port}")
    except ProtocolError:
        return
    assert port.isascii() and port.isdigit()
    assert "\n" not in address.host
    assert ServerAddress.parse(str(address)) == address
