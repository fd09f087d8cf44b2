"""Keeping full garbage collections off the event loop while the bot serves.

A full collection visits every object the process holds, on whichever thread
allocated last; with an index and a model loaded it held the event loop for
~300 ms under 50 users (`benchmarks/bot_load.py --model minilm`), stalling every
chat. Once the bot has started, and again whenever the index is swapped for a new
one (an upload, a corpus version from another replica), what is loaded is frozen:
taken out of the collector's walk. Objects that die later are still freed by
reference counting; at shutdown everything goes back under collection.
"""

from __future__ import annotations

import gc

__all__ = ["release_heap", "settle_heap", "settle_heap_again"]


def settle_heap() -> None:
    """Collect once, then freeze what is left (the index, the model): at start-up."""
    gc.collect()
    gc.freeze()


def settle_heap_again() -> None:
    """After the index was swapped: settle again, if the heap was settled at all (the
    bot serving, not `sanad chat`). The one collection this takes walks the new index."""
    if gc.get_freeze_count():
        gc.unfreeze()
        settle_heap()


def release_heap() -> None:
    """Put everything back under collection (at shutdown)."""
    gc.unfreeze()
