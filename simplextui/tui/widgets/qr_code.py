"""A QR code drawn with half blocks, always dark on light (whatever the theme) for scanners."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from simplextui.tui.qr import qr_lines

__all__ = ["QRCode"]

QR_STYLE = Style(color="black", bgcolor="white")


class QRCode(Static):
    DEFAULT_CSS = """
    QRCode { width: auto; height: auto; }
    """

    def __init__(self, data: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = data
        if data:
            self.show(data)

    def show(self, data: str) -> None:
        self.data = data
        if not data:
            self.update("")
            self.display = False
            return
        self.display = True
        self.update(Text("\n".join(qr_lines(data)), QR_STYLE, no_wrap=True, overflow="crop"))
