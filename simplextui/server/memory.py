"""Keep glibc from handing large buffers back to the kernel between requests.

Every SEND is padded to 16 KB, so a busy server moves hundreds of megabytes per second
through short-lived buffers of 64 KB to 4 MB (TLS reads, request bodies, stream chunks).
glibc serves allocations over its mmap threshold with fresh ``mmap`` calls and returns freed
memory at the top of the heap to the kernel, so each such buffer is page-faulted and zeroed
by the kernel again: on these machines that doubled the server's CPU time per message
(40 µs of system time per 16 KB received). Fixed thresholds keep the memory in the heap.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger("simplextui.server")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's maximum: larger blocks are still mmapped
TRIM_THRESHOLD = 256 * 1024 * 1024  # free heap kept before any is returned to the kernel


def keep_freed_memory() -> bool:
    """Set glibc's malloc thresholds (process-wide); False where that does not apply."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    if not ok:
        log.info("could not set malloc thresholds")
    return ok
