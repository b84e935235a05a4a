"""Queue server addresses: ``smp://FINGERPRINT@HOST:PORT``.

FINGERPRINT is the unpadded base64url SHA-256 of the server's TLS certificate (DER).
A client accepts a server only if the certificate it presents has that fingerprint.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

from simplextui.protocol.b64 import b64decode, b64encode
from simplextui.protocol.errors import ErrorCode, ProtocolError

SCHEME = "smp://"
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def certificate_fingerprint(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()


@dataclass(frozen=True, slots=True)
class ServerAddress:
    fingerprint: bytes
    host: str
    port: int

    def __post_init__(self) -> None:
        if len(self.fingerprint) != 32:
            raise ProtocolError(ErrorCode.SYNTAX, "fingerprint must be 32 bytes")
        if not 0 < self.port < 65536:
            raise ProtocolError(ErrorCode.SYNTAX, f"port {self.port} out of range")
        _check_host(self.host)

    @classmethod
    def parse(cls, text: str) -> ServerAddress:
        text = text.strip()
        if not text.startswith(SCHEME):
            raise ProtocolError(ErrorCode.SYNTAX, "server address must start with smp://")
        rest = text[len(SCHEME) :]
        fingerprint_text, sep, hostport = rest.partition("@")
        if not sep:
            raise ProtocolError(ErrorCode.SYNTAX, "server address needs FINGERPRINT@HOST:PORT")
        fingerprint = b64decode(fingerprint_text, 32)
        if hostport.startswith("["):
            host, close, port_part = hostport[1:].partition("]")
            if not close or not port_part.startswith(":") or ":" not in host:
                raise ProtocolError(ErrorCode.SYNTAX, "bad IPv6 host in server address")
            port_text = port_part[1:]
        else:
            host, colon, port_text = hostport.rpartition(":")
            if not colon:
                raise ProtocolError(ErrorCode.SYNTAX, "server address needs a port")
            if ":" in host:
                raise ProtocolError(ErrorCode.SYNTAX, "an IPv6 host must be in brackets")
        # isdigit() alone admits "²" (int() then fails) and non-ASCII decimal digits.
        if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
            raise ProtocolError(ErrorCode.SYNTAX, "server address port must be a number")
        return cls(fingerprint, host, int(port_text))

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{SCHEME}{b64encode(self.fingerprint)}@{host}:{self.port}"

    def short(self) -> str:
        """A log-safe short form: host, port and the first characters of the fingerprint."""
        return f"{self.host}:{self.port} ({b64encode(self.fingerprint)[:8]}…)"


def _check_host(host: str) -> None:
    if "%" in host:  # an IPv6 zone id names a local interface: meaningless to anyone else
        raise ProtocolError(ErrorCode.SYNTAX, "bad host in server address")
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    if not _HOSTNAME.fullmatch(host):  # not match(): "$" would admit a trailing newline
        raise ProtocolError(ErrorCode.SYNTAX, f"bad host {host!r} in server address")
