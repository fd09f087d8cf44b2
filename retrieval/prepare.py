"""From a source file to what the index stores of it: the cleaned document, its
chunks (each labelled with its own language) and their tokens as the index keeps
them (`ChunkTokens`).

This is the part of an ingest that works on one document at a time;
`retrieval.workers` shares a large corpus's documents among processes.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from retrieval.chunking import Chunk, chunk_with_sentences, estimate_tokens
from retrieval.corpus import Document, Source
from retrieval.language import LanguageSignals, packed_signals, unpacked_signals
from retrieval.normalize import key_words
from retrieval.sentence_split import (
    TokenizedSentence,
    chunk_tokens,
    sentence_spans,
    tokenize_sentences,
)

__all__ = [
    "MIN_SENTENCE_CHARS",
    "ChunkTokens",
    "Numbering",
    "PreparedDocument",
    "SentenceFacts",
    "chunk_signals",
    "kept_tokens",
    "numbering",
    "prepare",
]

#: Sentences shorter than this carry no claim worth quoting (a date line, "1."): the
#: sentence evidence leaves them out.
MIN_SENTENCE_CHARS = 20

#: Token → its number: each new token gets the next number when first looked up.
Numbering = defaultdict[str, int]


def numbering() -> Numbering:
    """A new, empty `Numbering`."""
    made: Numbering = defaultdict()
    made.default_factory = made.__len__  # a new token: the next number
    return made


class ChunkTokens(NamedTuple):
    """A chunk's search tokens as the index keeps them: every token, in order, as its
    number in a `Numbering` (`numbers`: C ints, for the keyword index); and the
    sentences worth scoring (offsets in the chunk's text), each with its tokens as one
    line (for the sentence evidence). Made where the document is prepared, in a
    worker process for most of a large corpus: the ingesting process then numbers
    each word a worker found once, its own way, rather than every token."""

    numbers: bytes
    spans: list[tuple[int, int]]
    lines: list[str]


def kept_tokens(sentences: list[TokenizedSentence], numbers: Numbering) -> ChunkTokens:
    """`ChunkTokens` of a chunk whose sentences are `sentences` (`tokenize_sentences`),
    its tokens numbered in `numbers`."""
    ids = array("i", map(numbers.__getitem__, chunk_tokens(sentences))).tobytes()
    scored = [s for s in sentences if s[1] - s[0] >= MIN_SENTENCE_CHARS]
    return ChunkTokens(ids, [(a, b) for a, b, _ in scored], [" ".join(t) for *_, t in scored])


@dataclass(frozen=True)
class PreparedDocument:
    document: Document
    chunks: list[Chunk]
    #: chunk id → the chunk's tokens as the index keeps them
    tokens: dict[str, ChunkTokens]


def prepare(
    source: Source, *, min_tokens: int, max_tokens: int, numbers: Numbering | None = None
) -> PreparedDocument:
    """Clean one source, chunk it and tokenize the chunks' sentences, numbering their
    tokens in `numbers` (a new `Numbering` if not given)."""
    numbers = numbering() if numbers is None else numbers
    facts = SentenceFacts()  # each sentence read once, for cleaning, chunking and tokens
    spans: dict[str, list[tuple[int, int]]] = {}  # a paragraph's sentences, found once

    def paragraph_spans(paragraph: str) -> list[tuple[int, int]]:
        found = spans.get(paragraph)
        if found is None:
            found = spans[paragraph] = sentence_spans(paragraph)
        return found

    def paragraph_words(paragraph: str) -> list[str]:
        return [w for a, b in paragraph_spans(paragraph) for w in facts.words(paragraph[a:b])]

    doc = source.document(detect=False, words=paragraph_words)
    found = chunk_with_sentences(
        doc.text,
        doc.paragraphs,
        doc_id=doc.doc_id,
        lang=doc.lang,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        line_spans=paragraph_spans,
        sentence_tokens=facts.tokens,
    )
    chunks = [f.chunk for f in found]
    signals, kept = chunk_signals(doc.text, chunks, [f.parts for f in found], facts.signals)
    if not doc.lang:
        doc = replace(doc, lang=kept.language())
    # A page in one language may quote another: label each chunk by its own text.
    chunks = [
        replace(chunk, lang=lang if lang != "und" else doc.lang)
        for chunk, lang in zip(chunks, (s.language() for s in signals), strict=True)
    ]
    tokens = {
        c.chunk_id: kept_tokens(tokenize_sentences(c.text, facts.words, known), numbers)
        for c, (_, known, _) in zip(chunks, found, strict=True)
    }
    # The paragraphs were for chunking; the catalogue keeps text and offsets.
    return PreparedDocument(replace(doc, paragraphs=[]), chunks, tokens)


class SentenceFacts:
    """What an ingest reads out of each sentence of one document, worked out once from
    one split of it into white-space tokens: its key words (cleaning's shingles, then
    its search tokens), its estimated size (chunking) and its language signals,
    packed (each chunk's label). Cleaning, chunking and tokenizing read the same
    sentences; each would otherwise split them again, and hash every token again.

    A paragraph's key words are its sentences' key words, in order (a sentence ends
    at a mark before white space, and no step of the key joins or changes text
    across that), which a property test holds it to."""

    def __init__(self) -> None:
        self._of: dict[str, tuple[list[str], int, int]] = {}

    def _facts(self, sentence: str) -> tuple[list[str], int, int]:
        facts = self._of.get(sentence)
        if facts is None:
            tokens = sentence.split()  # white-space tokens, as each of the three splits
            facts = self._of[sentence] = (
                key_words(sentence, tokens),
                estimate_tokens(sentence, tokens),
                packed_signals(sentence, tokens),
            )
        return facts

    def words(self, sentence: str) -> list[str]:
        return self._facts(sentence)[0]

    def tokens(self, sentence: str) -> int:
        return self._facts(sentence)[1]

    def signals(self, sentence: str) -> int:
        return self._facts(sentence)[2]


def chunk_signals(
    text: str,
    chunks: Sequence[Chunk],
    sentences: Sequence[list[tuple[int, int]] | None] = (),
    sentence_signals: Callable[[str], int] = packed_signals,
) -> tuple[list[LanguageSignals], LanguageSignals]:
    """The language signals of each chunk of `text` and of the kept text they cover,
    reading each stretch of text once.

    `sentences`: the sentences covering each chunk's text (offsets in it,
    `ChunkSentences.parts`), and `sentence_signals` a sentence's packed signals: where
    every chunk's are known, a chunk's signals are its sentences' (between them is
    only white space), each sentence read once.

    Chunks overlap (by a sentence): the text is cut at every chunk's start and end,
    each piece between two cuts is counted once, and a chunk's signals are the sum of
    its pieces. Signals add up over text cut between words, and chunks begin and end
    between sentences, so the sums are what counting each chunk (and the kept text)
    whole would give.
    """
    if sentences and all(known is not None for known in sentences):
        return _signals_by_sentence(chunks, sentences, sentence_signals)
    cuts = sorted({at for chunk in chunks for at in (chunk.start, chunk.end)})
    pieces: dict[int, int] = {}  # a piece's start → its signals, packed
    total = 0
    per_chunk = []
    for chunk in chunks:
        signals = 0
        first, last = bisect.bisect_left(cuts, chunk.start), bisect.bisect_left(cuts, chunk.end)
        for start, end in itertools.pairwise(cuts[first : last + 1]):
            piece = pieces.get(start)
            if piece is None:
                piece = pieces[start] = packed_signals(text[start:end])
                total += piece
            signals += piece
        per_chunk.append(unpacked_signals(signals))
    return per_chunk, unpacked_signals(total)


def _signals_by_sentence(
    chunks: Sequence[Chunk],
    sentences: Sequence[list[tuple[int, int]] | None],
    signals: Callable[[str], int],
) -> tuple[list[LanguageSignals], LanguageSignals]:
    """`chunk_signals` from each chunk's sentences, every one of them known."""
    seen: dict[tuple[int, int], int] = {}  # a sentence's place in the text → its signals
    per_chunk = []
    for chunk, known in zip(chunks, sentences, strict=True):
        total = 0
        for a, b in known or ():
            place = (chunk.start + a, chunk.start + b)
            packed = seen.get(place)
            if packed is None:
                packed = seen[place] = signals(chunk.text[a:b])
            total += packed
        per_chunk.append(unpacked_signals(total))
    return per_chunk, unpacked_signals(sum(seen.values()))
