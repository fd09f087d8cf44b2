"""Memory the C allocator keeps goes back to the system when asked."""

import sys

import pytest

from benchmarks.measure import resident_mb
from retrieval.allocator import _malloc_trim, release_freed_memory

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _malloc_trim() is None,
    reason="malloc_trim is glibc's",
)


def test_freed_blocks_the_allocator_kept_go_back_to_the_system():
    # 96 MB in blocks below glibc's mmap threshold, the last kept: freeing the others
    # leaves their pages with the process, as an encoding batch's activations are.
    blocks = [bytearray(64 * 1024) for _ in range(1500)]
    kept = blocks[-1]
    del blocks
    before = resident_mb()
    assert release_freed_memory() is True
    assert resident_mb() < before - 60
    assert len(kept) == 64 * 1024
