"""QR codes as text: two modules per character cell with half blocks (segno does the coding)."""

from __future__ import annotations

import segno

__all__ = ["qr_lines"]

QUIET_ZONE = 2  # modules of light border; scanners need some, terminals have little room
_CHARS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def qr_lines(data: str, border: int = QUIET_ZONE) -> list[str]:
    """The QR code of ``data`` as lines; "█" is a dark pair of modules (draw dark on light)."""
    qr = segno.make(data, error="l", micro=False, boost_error=False)
    matrix = [[bool(m) for m in row] for row in qr.matrix_iter(scale=1, border=border)]
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    return ["".join(_CHARS[(top, bottom)] for top, bottom in zip(upper, lower, strict=True))
            for upper, lower in zip(matrix[::2], matrix[1::2], strict=True)]
