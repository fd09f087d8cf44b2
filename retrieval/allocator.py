"""Giving the memory the C allocator keeps back to the operating system.

glibc's allocator keeps most freed blocks for later. So while the model encodes an
ingest's texts a batch at a time, the process's resident memory climbs batch by
batch past what it uses (each batch's activations are freed when it ends), and
after an ingest the process keeps what it freed (the texts read, an index it
replaced) for the rest of its life. `malloc_trim` hands the free pages back. Every
ingest calls it when it ends (milliseconds); `Embedder` also after each batch
(`SANAD_EMBEDDING_RELEASE_MEMORY`), which keeps the peak of a MiniLM ingest of the
bundled corpus 32 MB lower for 5% of its time (the next batch's pages are mapped
afresh): README "Speed".

Only glibc has `malloc_trim`; elsewhere (macOS, musl, Windows) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

__all__ = ["release_freed_memory"]


def release_freed_memory() -> bool:
    """Hand the allocator's free pages back to the system; whether any went back."""
    trim = _malloc_trim()
    return trim is not None and bool(trim(0))


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, if this process has it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        process = ctypes.CDLL(None)  # the symbols the process has loaded, libc's among them
    except OSError:
        return None
    trim = getattr(process, "malloc_trim", None)
    if trim is None:  # musl
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim
