"""How well does a passage sentence answer a question? Lexical and dense signals.

Both extractive answers (which sentences to quote), declining (is anything here
an answer?) and citation checking (does the cited passage say this?) ask that
question, so they share this module.

Dense similarities are only comparable within one model, so they are judged
against the corpus's own distribution for that model: the similarity of
sentences (embedded as queries) to sentences of *other* documents, which is what
"unrelated" looks like in this corpus. `DenseNull` holds its mean and spread.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.catalog import ChunkRecord
from retrieval.chunking import split_sentences
from retrieval.index import SanadIndex
from retrieval.normalize import tokenize

__all__ = ["DenseNull", "EvidenceScorer", "PassageSentence"]

_MIN_SENTENCE_CHARS = 20
_NULL_QUERIES = 60
_NULL_SENTENCES = 600


@dataclass(frozen=True, slots=True)
class PassageSentence:
    """A sentence of a chunk: `chunk.text[start:end]`."""

    chunk: ChunkRecord
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]


@dataclass(frozen=True)
class DenseNull:
    """Similarity of unrelated sentence pairs for one model over one corpus."""

    model: str
    signature: str
    mean: float
    std: float

    def z(self, similarity: float) -> float:
        return (similarity - self.mean) / (self.std or 1.0)


class EvidenceScorer:
    """Scores sentences against a question, with caches that live as long as the index."""

    def __init__(self, index: SanadIndex) -> None:
        self.index = index
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._null: DenseNull | None = None

    # -- sentences -------------------------------------------------------------------

    @staticmethod
    def sentences(chunk: ChunkRecord) -> list[PassageSentence]:
        out = []
        for s in split_sentences(chunk.text):
            if s.end - s.start >= _MIN_SENTENCE_CHARS:
                out.append(PassageSentence(chunk, s.start, s.end))
        return out

    # -- lexical ---------------------------------------------------------------------

    def lexical_support(self, query: str, text: str) -> float:
        """IDF-weighted share of the query's content words that `text` contains (0–1)."""
        return self.index.lexical.weighted_share(tokenize(query), set(tokenize(text)))

    # -- dense -----------------------------------------------------------------------

    def sentence_vectors(self, sentences: Sequence[PassageSentence]) -> np.ndarray:
        """Document-side vectors of sentences, cached by chunk and offsets."""
        embedder = self.index.embedder
        if embedder is None:
            raise RuntimeError("no embedding model")
        keys = [f"{s.chunk.chunk_id}:{s.start}:{s.end}" for s in sentences]
        missing = [
            (k, s.text) for k, s in zip(keys, sentences, strict=True) if k not in self._vectors
        ]
        if missing:
            vectors = embedder.embed_documents([t for _, t in missing])
            for (key, _), vec in zip(missing, vectors, strict=True):
                self._vectors[key] = vec
            while len(self._vectors) > 20_000:
                self._vectors.popitem(last=False)
        return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, embedder.dim))

    def dense_similarities(
        self, query_vector: np.ndarray, sentences: Sequence[PassageSentence]
    ) -> np.ndarray:
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        return self.sentence_vectors(sentences) @ query_vector

    def null(self) -> DenseNull | None:
        """The corpus's unrelated-sentence similarity for the current model (cached on disk)."""
        embedder = self.index.embedder
        if embedder is None:
            return None
        chunks = self.index.chunks
        signature = f"{len(chunks)}:{chunks[0].chunk_id if chunks else ''}:{chunks[-1].chunk_id if chunks else ''}"
        if self._null and self._null.signature == signature and self._null.model == embedder.name:
            return self._null
        path = self.index.settings.data_dir / "dense-null.json"
        cached = _read_null(path)
        if cached and cached.signature == signature and cached.model == embedder.name:
            self._null = cached
            return cached
        self._null = self._compute_null(signature)
        path.write_text(json.dumps(self._null.__dict__), encoding="utf-8")
        return self._null

    def _compute_null(self, signature: str) -> DenseNull:
        embedder = self.index.embedder
        assert embedder is not None
        rng = np.random.default_rng(0)  # deterministic: same corpus, same calibration
        pool = [s for c in self.index.chunks for s in self.sentences(c)]
        if len(pool) > _NULL_SENTENCES:
            pool = [pool[i] for i in sorted(rng.choice(len(pool), _NULL_SENTENCES, replace=False))]
        docs = np.array([s.chunk.doc_id for s in pool])
        if len(set(docs)) < 2:
            # One document: nothing is "unrelated"; fall back to a wide, neutral spread.
            return DenseNull(embedder.name, signature, 0.0, 1.0)
        vectors = self.sentence_vectors(pool)
        picks = rng.choice(len(pool), min(_NULL_QUERIES, len(pool)), replace=False)
        sims: list[float] = []
        for i in picks:
            q = embedder.embed_query(pool[i].text)
            sims.extend((vectors[docs != docs[i]] @ q).tolist())
        return DenseNull(embedder.name, signature, float(np.mean(sims)), float(np.std(sims)))


def _read_null(path: Path) -> DenseNull | None:
    try:
        return DenseNull(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
