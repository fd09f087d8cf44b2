"""From a source file to what the index stores of it: the cleaned document, its
chunks (each labelled with its own language) and their sentences, tokenized.

This is the part of an ingest that works on one document at a time;
`retrieval.workers` shares a large corpus's documents among processes.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from retrieval.chunking import (
    Chunk,
    TokenizedSentence,
    chunk_with_sentences,
    sentence_spans,
    tokenize_sentences,
)
from retrieval.corpus import Document, Source
from retrieval.language import LanguageSignals, packed_signals, unpacked_signals
from retrieval.normalize import SentenceWords

__all__ = ["PreparedDocument", "chunk_signals", "prepare"]


@dataclass(frozen=True)
class PreparedDocument:
    document: Document
    chunks: list[Chunk]
    #: chunk id → the chunk's sentences with their search tokens
    sentences: dict[str, list[TokenizedSentence]]


def prepare(source: Source, *, min_tokens: int, max_tokens: int) -> PreparedDocument:
    """Clean one source, chunk it and tokenize the chunks' sentences."""
    words = SentenceWords()  # each sentence normalized once, for cleaning and tokens
    spans: dict[str, list[tuple[int, int]]] = {}  # a paragraph's sentences, found once

    def paragraph_spans(paragraph: str) -> list[tuple[int, int]]:
        found = spans.get(paragraph)
        if found is None:
            found = spans[paragraph] = sentence_spans(paragraph)
        return found

    def paragraph_words(paragraph: str) -> list[str]:
        return [w for a, b in paragraph_spans(paragraph) for w in words(paragraph[a:b])]

    doc = source.document(detect=False, words=paragraph_words)
    found = chunk_with_sentences(
        doc.text,
        doc.paragraphs,
        doc_id=doc.doc_id,
        lang=doc.lang,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        line_spans=paragraph_spans,
    )
    chunks = [chunk for chunk, _ in found]
    signals, kept = chunk_signals(doc.text, chunks)
    if not doc.lang:
        doc = replace(doc, lang=kept.language())
    # A page in one language may quote another: label each chunk by its own text.
    chunks = [
        replace(chunk, lang=lang if lang != "und" else doc.lang)
        for chunk, lang in zip(chunks, (s.language() for s in signals), strict=True)
    ]
    sentences = {
        c.chunk_id: tokenize_sentences(c.text, words, known)
        for c, (_, known) in zip(chunks, found, strict=True)
    }
    # The paragraphs were for chunking; the catalogue keeps text and offsets.
    return PreparedDocument(replace(doc, paragraphs=[]), chunks, sentences)


def chunk_signals(
    text: str, chunks: Sequence[Chunk]
) -> tuple[list[LanguageSignals], LanguageSignals]:
    """The language signals of each chunk of `text` and of the kept text they cover,
    reading each stretch of text once.

    Chunks overlap (by a sentence): the text is cut at every chunk's start and end,
    each piece between two cuts is counted once, and a chunk's signals are the sum of
    its pieces. Signals add up over text cut between words, and chunks begin and end
    between sentences, so the sums are what counting each chunk (and the kept text)
    whole would give.
    """
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
