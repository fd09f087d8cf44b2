"""A deterministic embedder for tests of thresholds: bag-of-words hashed vectors.

Each search token gets a fixed pseudo-random unit vector (seeded by its text); a
text's vector is the normalized sum of its tokens'. Texts sharing words are
close, unrelated texts are near-orthogonal: what dense evidence means, without
a model. It goes in through `SanadIndex(settings, embedder=...)`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from retrieval.normalize import tokenize


class FakeEmbedder:
    name = "fake-bag-of-words"
    dim = 64
    symmetric = True  # queries embed as passages do

    def __init__(self) -> None:
        self.history: list[str] = []  # every text embedded, in order
        self.calls: list[tuple[str, list[str]]] = []  # ("query" | "queries" | "documents", texts)

    def _token(self, token: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim)
        return v / np.linalg.norm(v)

    def _embed(self, text: str) -> np.ndarray:
        self.history.append(text)
        tokens = tokenize(text)
        if not tokens:
            return np.zeros(self.dim, dtype=np.float32)
        v = sum((self._token(t) for t in tokens), np.zeros(self.dim))
        return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.calls.append(("query", [text]))
        return self._embed(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(("queries", list(texts)))
        return self._stack(texts)

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        self.calls.append(("documents", list(texts)))
        return self._stack(texts)

    def _stack(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._embed(t) for t in texts]) if texts else np.zeros((0, self.dim))
