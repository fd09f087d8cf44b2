"""BM25 over normalized search keys (bm25s), persisted beside the vector store."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from retrieval.normalize import tokenize

__all__ = ["LexicalIndex", "LexicalMatch"]


@dataclass(frozen=True, slots=True)
class LexicalMatch:
    index: int  # position in `LexicalIndex.ids`
    score: float


class LexicalIndex:
    """A bm25s index plus the document frequencies that fusion weighs queries by."""

    def __init__(self, retriever: bm25s.BM25 | None, ids: list[str], df: dict[str, int]) -> None:
        self.retriever = retriever
        self.ids = ids
        self.df = df

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str]) -> LexicalIndex:
        tokens = [tokenize(t) for t in texts]
        df: Counter[str] = Counter()
        for toks in tokens:
            df.update(set(toks))
        retriever = None
        if tokens:
            retriever = bm25s.BM25(k1=1.2, b=0.75)
            retriever.index(tokens, show_progress=False)
        return cls(retriever, list(ids), dict(df))

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp / "bm25"))
        (tmp / "meta.json").write_text(
            json.dumps({"ids": self.ids, "df": self.df}, ensure_ascii=False), encoding="utf-8"
        )
        # Swap in whole, so a reader never sees half an index.
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        meta = folder / "meta.json"
        if not meta.is_file():
            return None
        data = json.loads(meta.read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder / "bm25")) if (folder / "bm25").exists() else None
        return cls(retriever, list(data["ids"]), dict(data["df"]))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query_tokens: list[str], k: int) -> list[LexicalMatch]:
        """The `k` best chunks with a positive BM25 score, best first."""
        if self.retriever is None or not query_tokens or not self.ids:
            return []
        scores = np.asarray(self.retriever.get_scores(query_tokens))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [LexicalMatch(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, token: str) -> float:
        """BM25-style IDF; a word the corpus lacks counts with the highest IDF, since a
        rare word is what a question hinges on."""
        n = max(1, len(self.ids))
        df = self.df.get(token, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5)) if df else math.log(1 + n)

    def unknown(self, tokens: Iterable[str]) -> list[str]:
        """The tokens no chunk of the corpus holds, in order."""
        return [t for t in tokens if not self.df.get(t)]

    def weighted_share(self, query_tokens: Iterable[str], present: Container[str]) -> float:
        """IDF-weighted share of the query's distinct tokens found in `present`, 0–1."""
        weights = {t: self.idf(t) for t in set(query_tokens)}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0

    def coverage(self, query_tokens: list[str]) -> float:
        """How much of the query's vocabulary (IDF-weighted) the corpus contains, 0–1.

        English words asked of a Persian corpus score ~0: lexical hits there are noise.
        """
        if not self.ids:
            return 0.0
        return self.weighted_share(query_tokens, self.df)
