"""Every passage's vector in memory, for an exact nearest-passage search.

Chroma's query costs about 2 ms whatever it returns (its fixed cost: a count alone
takes as long), and its HNSW graph is approximate: at 10k passages the true 50
nearest and Chroma's 50 share about 46. Up to `SANAD_EXACT_SEARCH_MAX_PASSAGES`
passages (20,000 by default), one matrix product over every passage's vector is
both faster (0.4 ms at 10k MiniLM passages, 2 ms at 30k, 8 ms at 100k on 2 cores)
and exact. Chroma stays the vector store: these are a copy of its vectors,
kept in the data dir beside the keyword index and rebuilt from the store when
missing or behind. A larger corpus, a Chroma server or a shared catalogue
(other processes may change the store) search through Chroma as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from retrieval.folders import written_whole
from retrieval.ranked import best_first
from retrieval.store import VectorMatch

__all__ = ["PASSAGES_DIR", "PassageVectors"]

#: The copy's folder in a data dir.
PASSAGES_DIR = "passages"

#: The vectors of the given passage ids, in that order (from the vector store).
FetchVectors = Callable[[list[str]], np.ndarray]


class PassageVectors:
    """One model's vector of every passage, unit length, one row per chunk id."""

    def __init__(self, ids: Sequence[str], matrix: np.ndarray, model: str) -> None:
        if matrix.shape[0] != len(ids):
            raise ValueError(f"{matrix.shape[0]} vectors for {len(ids)} passages")
        self.ids = list(ids)
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self.model = model

    def __len__(self) -> int:
        return len(self.ids)

    def covers(self, ids: Sequence[str], model: str) -> bool:
        """Does this copy hold exactly these passages' vectors from `model`?"""
        return self.model == model and len(self.ids) == len(ids) and set(self.ids) == set(ids)

    def search(self, vector: np.ndarray, k: int) -> list[VectorMatch]:
        """The `k` passages nearest to `vector` by cosine similarity, nearest first."""
        if k <= 0 or not self.ids:
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / (float(np.linalg.norm(query)) or 1.0)
        sims = self.matrix @ query
        return [VectorMatch(self.ids[i], float(sims[i])) for i in best_first(sims, k).tolist()]

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        model: str,
        *,
        fetch: FetchVectors,
        fresh: Mapping[str, np.ndarray] | None = None,
        previous: PassageVectors | None = None,
    ) -> PassageVectors:
        """The vectors of `ids`: those just embedded (`fresh`), those `previous` holds
        for the same model, and the rest fetched from the store."""
        fresh = fresh or {}
        old = (
            {cid: row for row, cid in enumerate(previous.ids)}
            if previous is not None and previous.model == model
            else {}
        )
        missing = [cid for cid in ids if cid not in fresh and cid not in old]
        fetched = dict(zip(missing, fetch(missing), strict=True)) if missing else {}
        rows = []
        for cid in ids:
            if cid in fresh:
                rows.append(np.asarray(fresh[cid], dtype=np.float32))
            elif cid in old:
                rows.append(previous.matrix[old[cid]])  # type: ignore[union-attr]
            else:
                rows.append(np.asarray(fetched[cid], dtype=np.float32))
        matrix = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return cls(
            ids, (matrix / np.where(norms == 0, 1.0, norms)).astype(np.float32, copy=False), model
        )

    # -- persistence ----------------------------------------------------------------

    def save(self, folder: Path) -> None:
        with written_whole(folder) as tmp:
            meta = {"model": self.model, "ids": self.ids}
            (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
            np.save(tmp / "vectors.npy", self.matrix)

    @classmethod
    def load(cls, folder: Path, ids: Sequence[str]) -> PassageVectors | None:
        """The copy saved in `folder` if it holds the vectors of exactly `ids`, else None
        (none saved, unreadable, or behind the catalogue)."""
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            copy = cls(meta["ids"], np.load(folder / "vectors.npy"), str(meta["model"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return copy if copy.covers(ids, copy.model) else None
