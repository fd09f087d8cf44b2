"""Extractive answers: the sentences of the best passages that answer the question,
quoted verbatim in their own language, each followed by its citation marker."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.evidence import ScoredSentence
from retrieval.normalize import search_key
from retrieval.sentence_split import SENTENCE_CLOSERS

__all__ = ["QUOTE_MARGIN", "Quote", "pick_quotes"]

#: How far below the best sentence (in combined-score units) a quote may be.
QUOTE_MARGIN = 0.25


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
        """Does the quote start inside a sentence (so it is shown after "…")?"""
        s = self.sentence.sentence
        return self.start > s.start or not _opens(s.chunk.text, s.start)

    @property
    def trimmed_after(self) -> bool:
        s = self.sentence.sentence
        return self.end < s.end or not _closes(s.chunk.text, s.end)


def _opens(text: str, start: int) -> bool:
    """Does a sentence start at `start` (after a line break or a sentence mark)?"""
    before = text[:start].rstrip(" \t")
    return not before or before[-1] == "\n" or before[-1] in SENTENCE_CLOSERS


def _closes(text: str, end: int) -> bool:
    stripped = text[:end].rstrip()
    after = text[end:].lstrip(" \t")
    return stripped[-1:] in SENTENCE_CLOSERS or not after or after[0] == "\n"


def pick_quotes(
    scored: list[ScoredSentence],
    *,
    max_quotes: int,
    max_chars: int,
    relevance: Callable[[str], float] | None = None,
    floor: float | None = None,
) -> list[Quote]:
    """The best sentences, at most `max_quotes` and about `max_chars` in all.

    `relevance(text)` scores the clauses of an overlong sentence, so that the
    part of it that answers the question is the part quoted. No quote scores
    below `floor` (default: the best sentence's score less `QUOTE_MARGIN`).
    """
    if not scored:
        return []
    lowest = scored[0].score - QUOTE_MARGIN if floor is None else floor
    quotes: list[Quote] = []
    used = 0
    seen: set[tuple[str, int]] = set()
    said: set[str] = set()  # a sentence repeated in the text is still quoted once
    for s in scored:
        if len(quotes) == max_quotes or s.score < lowest:
            break
        # Neighbouring chunks overlap by a sentence: quote each place once.
        place = (s.sentence.chunk.doc_id, s.sentence.chunk.start + s.sentence.start)
        if place in seen:
            continue
        quote = _trim(s, max(120, min(max_chars - used, max_chars // 2)), relevance)
        if quotes and used + len(quote.text) > max_chars:
            continue
        key = search_key(quote.text)
        if key in said:
            continue
        said.add(key)
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
