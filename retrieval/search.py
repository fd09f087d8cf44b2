"""Hybrid search: one question in, ranked citable passages out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from retrieval.catalog import ChunkRecord, DocumentRecord
from retrieval.embeddings import Embedder
from retrieval.errors import QueryError, StoreUnavailable
from retrieval.fusion import fuse, near_duplicate
from retrieval.index import SanadIndex
from retrieval.language import detect_language
from retrieval.normalize import tokenize

__all__ = ["Mode", "SearchResponse", "SearchResult", "prepare_query", "search"]

Mode = Literal["hybrid", "lexical", "dense"]

log = logging.getLogger(__name__)

#: How many candidates each retriever proposes before fusion, at the least.
_CANDIDATES = 50


@dataclass(frozen=True)
class SearchResult:
    rank: int
    score: float
    chunk: ChunkRecord
    document: DocumentRecord
    lexical_rank: int | None = None
    dense_rank: int | None = None
    dense_similarity: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "doc_id": self.chunk.doc_id,
            "title": self.document.title,
            "url": self.document.url,
            "lang": self.chunk.lang,
            "chunk_id": self.chunk.chunk_id,
            "start": self.chunk.start,
            "end": self.chunk.end,
            "text": self.chunk.text,
        }


@dataclass
class SearchResponse:
    query: str
    language: str
    mode: Mode
    results: list[SearchResult]
    timings_ms: dict[str, float]
    notices: list[str] = field(default_factory=list)
    lexical_coverage: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "language": self.language,
            "mode": self.mode,
            "results": [r.to_json() for r in self.results],
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }


def prepare_query(query: str, max_chars: int) -> tuple[str, list[str]]:
    """Strip the query; refuse an empty one, cut an overlong one with a notice."""
    text = query.strip()
    if not text:
        raise QueryError("The question is empty: type a question in Dari, Arabic or English.")
    notices = []
    if len(text) > max_chars:
        text = text[:max_chars]
        notices.append(
            f"The question was longer than {max_chars} characters; only the start was used."
        )
    return text, notices


def search(
    index: SanadIndex, query: str, *, k: int = 5, mode: Mode | None = None
) -> SearchResponse:
    """Search the index; `mode` defaults to hybrid when a model is loaded, else lexical."""
    started = time.perf_counter()
    text, notices = prepare_query(query, index.settings.max_query_chars)
    index.ensure_ready()
    embedder = index.embedder
    if mode is None:
        mode = "hybrid" if embedder is not None else "lexical"
    if mode != "lexical" and embedder is None:
        notices.append(f"Dense retrieval is unavailable ({index.dense_note}); searched lexically.")
        mode = "lexical"
    timings = {"encode": 0.0, "dense": 0.0, "lexical": 0.0, "fuse": 0.0}
    chunks = index.chunks
    want = max(_CANDIDATES, 4 * k)

    lexical_ranking: list[tuple[int, float]] = []
    tokens = tokenize(text)
    lexical = index.lexical
    coverage = lexical.coverage(tokens)
    if mode != "dense":
        t = time.perf_counter()
        lexical_ranking = [(m.index, m.score) for m in lexical.search(tokens, want)]
        timings["lexical"] = _ms(t)

    dense_ranking: list[tuple[int, float]] = []
    if mode != "lexical" and embedder is not None:
        t = time.perf_counter()
        vector = embedder.embed_query(text)
        timings["encode"] = _ms(t)
        t = time.perf_counter()
        try:
            dense_ranking = _dense(index, embedder, vector, want)
        except StoreUnavailable as e:
            if mode == "dense":
                raise
            # A Chroma server that went away must not take the answers with it.
            log.warning("%s", e)
            notices.append(f"{e} Searched lexically.")
            mode = "lexical"
        timings["dense"] = _ms(t)
    similarity = dict(dense_ranking)

    t = time.perf_counter()
    weight = {"hybrid": coverage, "lexical": 1.0, "dense": 0.0}[mode]
    fused = fuse(lexical_ranking, dense_ranking, lexical_weight=weight)
    documents = index.catalog_documents
    results: list[SearchResult] = []
    for f in fused:
        chunk = chunks[f.index]
        mine = index.shingles(f.index)
        if any(
            near_duplicate(mine, index.shingles(index.position[r.chunk.chunk_id])) for r in results
        ):
            continue
        results.append(
            SearchResult(
                rank=len(results) + 1,
                score=f.score,
                chunk=chunk,
                document=documents[chunk.doc_id],
                lexical_rank=f.lexical_rank,
                dense_rank=f.dense_rank,
                dense_similarity=similarity.get(f.index),
            )
        )
        if len(results) == k:
            break
    timings["fuse"], timings["total"] = _ms(t), _ms(started)
    return SearchResponse(text, detect_language(text), mode, results, timings, notices, coverage)


def _dense(
    index: SanadIndex, embedder: Embedder, vector: Any, want: int
) -> list[tuple[int, float]]:
    """(chunk position, cosine similarity) of the nearest stored vectors."""
    index.store.open(embedder.name, embedder.dim)
    position = index.position
    ranking = []
    for match in index.store.query(vector, want):
        i = position.get(match.chunk_id)
        if i is not None:
            ranking.append((i, match.similarity))
    return ranking


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
