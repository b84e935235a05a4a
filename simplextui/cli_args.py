"""Argument types shared by the command-line entry points."""

from __future__ import annotations

import argparse

from simplextui.protocol.address import ServerAddress
from simplextui.protocol.errors import ProtocolError


def server_address_arg(text: str) -> ServerAddress:
    """An argparse type: ``smp://FINGERPRINT@HOST:PORT`` or a clear usage error."""
    try:
        return ServerAddress.parse(text)
    except ProtocolError as exc:
        raise argparse.ArgumentTypeError(f"bad server address {text!r}: {exc.detail}") from None
