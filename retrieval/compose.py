"""Extractive answers: the sentences of the best passages that answer the question,
quoted verbatim in their own language, each followed by its citation marker."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.evidence import EvidenceScorer, PassageSentence
from retrieval.search import SearchResponse, SearchResult

__all__ = ["Quote", "ScoredSentence", "pick_quotes", "score_sentences"]

#: Passages whose sentences are considered for quoting.
QUOTE_PASSAGES = 3
#: How far below the best sentence (in combined-score units) a quote may be.
_QUOTE_MARGIN = 0.25


@dataclass(frozen=True)
class ScoredSentence:
    sentence: PassageSentence
    result: SearchResult
    lexical: float
    dense: float | None  # cosine similarity
    dense_z: float | None  # relative to the corpus's unrelated-sentence similarity
    score: float


@dataclass(frozen=True)
class Quote:
    """An exact span `chunk.text[start:end]`, possibly a trimmed part of a long sentence."""

    sentence: ScoredSentence
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.sentence.sentence.chunk.text[self.start : self.end]

    @property
    def trimmed_before(self) -> bool:
        return self.start > self.sentence.sentence.start

    @property
    def trimmed_after(self) -> bool:
        return self.end < self.sentence.sentence.end


def score_sentences(
    scorer: EvidenceScorer, question: str, response: SearchResponse
) -> list[ScoredSentence]:
    """Every sentence of the top passages, best first.

    The score mixes lexical support (weighted, as in fusion, by how much of the
    question's vocabulary the corpus knows), dense evidence relative to the
    corpus's unrelated-sentence similarity, and a small preference for
    higher-ranked passages.
    """
    sentences: list[tuple[SearchResult, PassageSentence]] = [
        (r, s) for r in response.results[:QUOTE_PASSAGES] for s in scorer.sentences(r.chunk)
    ]
    if not sentences:
        return []
    embedder = scorer.index.embedder
    dense: np.ndarray | None = None
    null = None
    if embedder is not None and response.mode != "lexical":
        dense = scorer.dense_similarities(embedder.embed_query(question), [s for _, s in sentences])
        null = scorer.null()
    out = []
    for i, (result, sentence) in enumerate(sentences):
        lexical = scorer.lexical_support(question, sentence.text)
        cosine = float(dense[i]) if dense is not None else None
        z = null.z(cosine) if null is not None and cosine is not None else None
        weight = 1.0 if response.mode == "lexical" else response.lexical_coverage
        score = weight * lexical + 0.1 / result.rank
        if z is not None:
            score += z / 3
        out.append(ScoredSentence(sentence, result, lexical, cosine, z, score))
    return sorted(out, key=lambda s: -s.score)


def pick_quotes(
    scored: list[ScoredSentence],
    *,
    max_quotes: int,
    max_chars: int,
    relevance: Callable[[str], float] | None = None,
) -> list[Quote]:
    """The best sentences, at most `max_quotes` and about `max_chars` in all.

    `relevance(text)` scores the clauses of an overlong sentence, so that the
    part of it that answers the question is the part quoted.
    """
    if not scored:
        return []
    best = scored[0].score
    quotes: list[Quote] = []
    used = 0
    seen: set[tuple[str, int]] = set()
    for s in scored:
        if len(quotes) == max_quotes or (quotes and s.score < best - _QUOTE_MARGIN):
            break
        # Neighbouring chunks overlap by a sentence: quote each place once.
        place = (s.sentence.chunk.doc_id, s.sentence.chunk.start + s.sentence.start)
        if place in seen:
            continue
        quote = _trim(s, max(120, min(max_chars - used, max_chars // 2)), relevance)
        if quotes and used + len(quote.text) > max_chars:
            continue
        seen.add(place)
        quotes.append(quote)
        used += len(quote.text)
    return quotes


_CLAUSE_END = re.compile(r"[،,;:؛]\s+")


def _trim(s: ScoredSentence, limit: int, relevance: Callable[[str], float] | None) -> Quote:
    """The whole sentence or, if longer than `limit`, its most relevant run of clauses."""
    start, end = s.sentence.start, s.sentence.end
    if end - start <= limit:
        return Quote(s, start, end)
    text = s.sentence.chunk.text
    cuts = [start] + [start + m.end() for m in _CLAUSE_END.finditer(text[start:end])] + [end]
    clauses = list(itertools.pairwise(cuts))
    scores = [relevance(text[a:b]) if relevance else 0.0 for a, b in clauses]
    # With nothing to tell clauses apart (a cross-lingual question), the opening
    # clauses: a sentence's subject and verb come first in Persian and Arabic prose.
    anchor = max(range(len(clauses)), key=lambda i: (scores[i], -i))
    lo = hi = anchor
    while True:
        grow = [
            i for i in (lo - 1, hi + 1)
            if 0 <= i < len(clauses)
            and clauses[max(hi, i)][1] - clauses[min(lo, i)][0] <= limit
        ]  # fmt: skip
        if not grow:
            break
        pick = max(grow, key=lambda i: (scores[i], -abs(i - anchor), -i))
        lo, hi = min(lo, pick), max(hi, pick)
    a, b = clauses[lo][0], clauses[hi][1]
    if b - a > limit:
        cut = text[a : a + limit].rfind(" ")
        b = a + cut if cut > 0 else a + limit
    return Quote(s, a, _rstrip(text, a, b))


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in " ،,;:؛":
        end -= 1
    return end
