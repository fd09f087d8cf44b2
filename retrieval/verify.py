"""Check an LLM's answer against the passages it was given, sentence by sentence.

- A marker `[n]` that points to no shown passage is removed.
- A sentence that cites passages is kept only if a cited passage supports it:
  enough of its content words occur there (same language), or one of the
  passage's sentences is close in meaning (dense evidence, relative to the
  corpus, for cross-lingual cases). Unsupported citations on a kept sentence go.
- A sentence with no valid citation cannot be checked and is dropped, except a
  short lead-in ("According to the sources:").
- Citations are renumbered in order of first use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from retrieval.chunking import split_sentences
from retrieval.config import Settings
from retrieval.evidence import DenseNull, EvidenceScorer
from retrieval.normalize import search_key
from retrieval.search import SearchResult

__all__ = ["Verification", "verify_answer"]

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_MARKER = re.compile(r"\[\s*([0-9۰-۹٠-٩]+(?:\s*[,،]\s*[0-9۰-۹٠-٩]+)*)\s*\]")
# "… ended. [1]" → "… ended [1]." so the marker stays with its sentence.
_MARKER_AFTER_STOP = re.compile(r"([.!?؟؛…])(\s*(?:\[[^\]\n]{1,20}\]\s*)+)")
_LEAD_IN_WORDS = 8

#: Share of a claim's content words that a passage must contain to support it.
LEXICAL_SUPPORT = 0.5


@dataclass
class Verification:
    """The answer's sentences that survived, with citations renumbered by first use."""

    sentences: list[tuple[str, list[int]]] = field(default_factory=list)  # text, passage indexes
    dropped: int = 0
    order: list[int] = field(default_factory=list)  # passage indexes (0-based), first use first
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # best supporting span

    def render(self) -> str:
        number = {p: n for n, p in enumerate(self.order, 1)}
        parts = []
        for text, cited in self.sentences:
            markers = "".join(f"[{number[p]}]" for p in cited)
            parts.append(_attach(text, markers))
        return " ".join(parts).strip()


def _attach(sentence: str, markers: str) -> str:
    if not markers:
        return sentence
    stripped = sentence.rstrip()
    if stripped and stripped[-1] in ".!?؟؛…":
        return f"{stripped[:-1].rstrip()} {markers}{stripped[-1]}"
    return f"{stripped} {markers}"


def verify_answer(
    answer: str,
    passages: Sequence[SearchResult],
    scorer: EvidenceScorer,
    settings: Settings,
) -> Verification:
    """Check every sentence of `answer` against the passages it cites."""
    result = Verification()
    text = _MARKER_AFTER_STOP.sub(lambda m: f"{m.group(2).rstrip()}{m.group(1)} ", answer.strip())
    null = scorer.null
    for sentence in split_sentences(text):
        raw = text[sentence.start : sentence.end]
        cited = _markers(raw, len(passages))
        claim = _MARKER.sub("", raw).strip()
        claim = re.sub(r"\s+([.!?؟؛…،,])", r"\1", claim)
        if not claim:
            continue
        if not cited:
            if len(claim.split()) <= _LEAD_IN_WORDS and claim.endswith((":", "：")):
                result.sentences.append((claim, []))
            else:
                result.dropped += 1
            continue
        supporting = []
        for p in cited:
            span = _support(claim, passages[p], scorer, null, settings)
            if span is not None:
                supporting.append(p)
                result.spans.setdefault(p, span)
        if not supporting:
            result.dropped += 1
            continue
        result.sentences.append((claim, supporting))
        for p in supporting:
            if p not in result.order:
                result.order.append(p)
    return result


def _markers(sentence: str, n_passages: int) -> list[int]:
    """Passage indexes (0-based) the sentence cites; markers beyond the passages are ignored."""
    cited: list[int] = []
    for match in _MARKER.finditer(sentence):
        for number in re.split(r"\s*[,،]\s*", match.group(1).translate(_DIGITS)):
            n = int(number)
            if 1 <= n <= n_passages and n - 1 not in cited:
                cited.append(n - 1)
    return cited


def _support(
    claim: str,
    passage: SearchResult,
    scorer: EvidenceScorer,
    null: DenseNull | None,
    settings: Settings,
) -> tuple[int, int] | None:
    """The passage sentence that best supports `claim`, if the passage supports it."""
    sentences = scorer.sentences(passage.chunk)
    if not sentences:
        return None
    if scorer.lexical_support(claim, passage.chunk.text) >= LEXICAL_SUPPORT or _verbatim(
        claim, passage.chunk.text
    ):
        best = max(sentences, key=lambda s: scorer.lexical_support(claim, s.text))
        return best.start, best.end
    embedder = scorer.embedder
    if embedder is None or null is None:
        return None
    similarities = scorer.dense_similarities(embedder.embed_query(claim), sentences)
    i = int(np.argmax(similarities))
    if null.z(float(similarities[i])) >= settings.decline_dense_z:
        return sentences[i].start, sentences[i].end
    return None


def _verbatim(claim: str, text: str) -> bool:
    key = search_key(claim).strip(" .«»\"'")
    return len(key) > 15 and key in search_key(text)
