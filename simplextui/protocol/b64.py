"""Unpadded base64url, the text form of keys and ids in links and addresses."""

from __future__ import annotations

import base64
import binascii
import re

from simplextui.protocol.errors import ErrorCode, ProtocolError

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str, size: int | None = None) -> bytes:
    """Decode strict unpadded base64url; with ``size``, the result must have that length."""
    if not _B64URL.match(text) or len(text) % 4 == 1:
        raise ProtocolError(ErrorCode.SYNTAX, "not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(ErrorCode.SYNTAX, "not unpadded base64url") from exc
    if b64encode(data) != text:
        raise ProtocolError(ErrorCode.SYNTAX, "non-canonical base64url")
    if size is not None and len(data) != size:
        raise ProtocolError(ErrorCode.SYNTAX, f"expected {size} bytes, got {len(data)}")
    return data
