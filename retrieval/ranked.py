"""The `k` best of a row of scores, best first: one rule for every search here.

Keyword search (BM25 over every passage) and exact dense search (cosine over every
passage's vector) both end with it, so equal scores rank the same way on both
sides: in index order, the order the passages were ingested in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["best_first"]


def best_first(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` highest `scores`, highest first, equal scores in index order.

    Only the best `k` are sorted (`argpartition` first), so a search over 100k
    passages for the best 50 sorts 50. Which of several scores tied at the cut
    are kept is up to `argpartition`; their order among those kept is not.
    """
    n = min(k, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.intp)
    top = np.sort(np.argpartition(-scores, n - 1)[:n]) if n < len(scores) else np.arange(n)
    return top[np.argsort(-scores[top], kind="stable")]
