"""Hybrid search: one question in, ranked citable passages out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from retrieval.catalog import ChunkRecord, DocumentRecord
from retrieval.embeddings import Embedder
from retrieval.errors import StoreUnavailable
from retrieval.fusion import Fused, fuse, near_duplicate
from retrieval.index import SanadIndex
from retrieval.lexical import LexicalIndex
from retrieval.question import Notice, Question, prepare_question
from retrieval.view import IndexView

__all__ = ["Mode", "SearchResponse", "SearchResult", "as_searched", "search"]

Mode = Literal["hybrid", "lexical", "dense"]

log = logging.getLogger(__name__)

#: How many candidates each retriever proposes before fusion, at the least.
_CANDIDATES = 50
#: Weight of a passage's best sentence in its dense score (the rest: the passage's
#: vector). Chosen on the public development sets (XQuAD and ARCD, EmbeddingGemma,
#: passages of 150–350 tokens, in a one-off experiment not kept): 0 gave
#: English-question MRR@10 0.88, 0.7 gave 0.95, 1.0 0.94. With passage vectors
#: made as their sentences' mean (`SANAD_PASSAGE_VECTORS=sentence-mean`, passages of
#: 250–500 tokens): 0 gives 0.882, 0.7 gives 0.955.
SENTENCE_WEIGHT = 0.7


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
    question: Question
    mode: Mode
    results: list[SearchResult]
    timings_ms: dict[str, float]
    #: The state of the index the results come from, for scoring them consistently.
    view: IndexView = field(repr=False)
    #: What the asker should know about this search (the question's own notices too).
    notices: list[Notice] = field(default_factory=list)
    lexical_coverage: float = 0.0

    @property
    def query(self) -> str:
        return self.question.text

    @property
    def language(self) -> str:
        return self.question.language

    @property
    def lexical_weight(self) -> float:
        """How much keyword evidence counts for this question (as in fusion)."""
        return 1.0 if self.mode == "lexical" else self.lexical_coverage

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "language": self.language,
            "mode": self.mode,
            "results": [r.to_json() for r in self.results],
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }


def as_searched(question: Question, lexical: LexicalIndex) -> Question:
    """`question` with the tokens it is searched by in this corpus: words the corpus
    never holds, one typo from words it does, respelled as those, an Arabic
    indefinite defective noun as the corpus writes it («والٍ» as «والي»), a Persian
    compound searched as the corpus writes it (joined or spaced), in place of a
    spelling of it the corpus never uses. Sentences are ranked and answers judged on
    these tokens too: they are the words that found the passages."""
    spellings = lexical.compound_spellings(question.text) if question.language == "fa" else []
    unused = set(lexical.unknown(w for written, _ in spellings for w in written))
    defective = lexical.defective_spellings(question.text)
    kept = tuple(defective.get(t, t) for t in question.tokens if t not in unused)
    compounds = tuple(t for _, spelled in spellings for t in spelled)
    return replace(question, tokens=lexical.respell(kept) + compounds)


def search(
    index: SanadIndex, query: str | Question, *, k: int = 5, mode: Mode | None = None
) -> SearchResponse:
    """Search the index; `mode` defaults to hybrid when a model is loaded, else lexical."""
    started = time.perf_counter()
    question = (
        query
        if isinstance(query, Question)
        else prepare_question(query, index.settings.max_query_chars)
    )
    text = question.text
    notices = list(question.notices)
    index.ensure_ready()
    view = index.view()
    embedder = index.embedder
    if mode is None:
        mode = "hybrid" if embedder is not None else "lexical"
        if embedder is None and index.settings.dense_enabled:
            notices.append(Notice("dense_unavailable"))  # configured, but it did not load
    elif mode != "lexical" and embedder is None:
        notices.append(Notice("dense_unavailable"))
        mode = "lexical"
    timings = {"encode": 0.0, "dense": 0.0, "lexical": 0.0, "fuse": 0.0}
    want = max(_CANDIDATES, 4 * k)

    lexical_ranking: list[tuple[int, float]] = []
    lexical = view.lexical
    question = as_searched(question, lexical)
    tokens = list(question.tokens)
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
            extra = [i for i, _ in lexical_ranking] if mode == "hybrid" else []
            dense_ranking = _dense(index, view, embedder, vector, want, extra=extra)
        except StoreUnavailable as e:
            if mode == "dense":
                raise
            # A Chroma server that went away must not take the answers with it.
            log.warning("%s", e)
            notices.append(Notice("store_fallback", (("where", index.store.location),)))
            mode = "lexical"
        timings["dense"] = _ms(t)
    similarity = dict(dense_ranking)

    t = time.perf_counter()
    weight = {"hybrid": coverage, "lexical": 1.0, "dense": 0.0}[mode]
    fused = fuse(lexical_ranking, dense_ranking, lexical_weight=weight)
    results = _distinct(view, fused, similarity, k)
    timings["fuse"], timings["total"] = _ms(t), _ms(started)
    return SearchResponse(question, mode, results, timings, view, notices, coverage)


def _distinct(
    view: IndexView, fused: list[Fused], similarity: dict[int, float], k: int
) -> list[SearchResult]:
    """The first `k` fused passages, leaving out near-duplicates of those kept."""
    results: list[SearchResult] = []
    for f in fused:
        chunk = view.chunks[f.index]
        mine = view.shingles(f.index)
        if any(
            near_duplicate(mine, view.shingles(view.position[r.chunk.chunk_id])) for r in results
        ):
            continue
        results.append(
            SearchResult(
                rank=len(results) + 1,
                score=f.score,
                chunk=chunk,
                document=view.documents[chunk.doc_id],
                lexical_rank=f.lexical_rank,
                dense_rank=f.dense_rank,
                dense_similarity=similarity.get(f.index),
            )
        )
        if len(results) == k:
            break
    return results


def _dense(
    index: SanadIndex,
    view: IndexView,
    embedder: Embedder,
    vector: np.ndarray,
    want: int,
    *,
    extra: list[int],
) -> list[tuple[int, float]]:
    """(chunk position, dense score) of the nearest passages, best first.

    The vector store (or, for a small corpus, the view's exact in-memory copy of
    its vectors) proposes the passages whose vectors are nearest; with the
    sentence evidence built for this model, each candidate (and each keyword
    candidate in `extra`) is then scored by its best sentence as well: a factual
    question is close to the one sentence that answers it, which a whole
    passage's vector blurs. A keyword candidate the store did not propose gets
    the lowest passage similarity the store returned.
    """
    copy = view.passages
    if copy is not None and copy.model == embedder.name:
        matches = copy.search(vector, want)  # exact, in memory (a small corpus)
    else:
        index.store.open(embedder.name, embedder.dim)
        matches = index.store.query(vector, want)
    position = view.position
    passage: dict[int, float] = {}
    for match in matches:
        i = position.get(match.chunk_id)
        if i is not None:
            passage[i] = match.similarity
    evidence = view.evidence
    if not passage or not evidence.has_vectors(embedder.name):
        return sorted(passage.items(), key=lambda x: -x[1])
    floor = min(passage.values())
    scored = []
    candidates = sorted(passage.keys() | set(extra))
    bests = evidence.best_similarities([view.chunks[i].chunk_id for i in candidates], vector)
    for i, best in zip(candidates, bests, strict=True):
        near = passage.get(i, floor)
        score = near if best is None else SENTENCE_WEIGHT * best + (1 - SENTENCE_WEIGHT) * near
        scored.append((i, score))
    return sorted(scored, key=lambda x: (-x[1], x[0]))


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
