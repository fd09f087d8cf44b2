"""Sentence-aware chunks with exact offsets into the original text.

A chunk is a run of whole sentences of roughly `min_tokens`–`max_tokens` model
tokens, overlapping the previous chunk by one sentence. Chunks never span page
furniture, so `original[start:end]` is always clean, citable text.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import filterfalse
from typing import NamedTuple

from retrieval.clean import Paragraph
from retrieval.sentence_split import RUN_ON_LINE_CHARS, sentence_spans, trimmed

__all__ = [
    "Chunk",
    "ChunkSentences",
    "LineSpans",
    "Sentence",
    "chunk_paragraphs",
    "chunk_with_sentences",
    "count_pieces",
    "estimate_tokens",
    "max_chunk_chars",
    "split_sentences",
]

# Calibrated on the bundled corpus against the EmbeddingGemma and e5 tokenizers
# (see benchmarks/token_ratio.py): about 1.5 subword tokens per word or symbol.
_TOKENS_PER_PIECE = 1.5
#: Prose has about 4 characters a token; text with very long "words" (a run without
#: white space, a base64 blob) is counted at no fewer tokens than one per 6 characters,
#: so that no chunk grows without bound whatever the text.
_MAX_CHARS_PER_TOKEN = 6
#: A piece: a run of word characters, or one character that is neither a word
#: character nor white space.
_PIECE = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str, words: list[str] | None = None) -> int:
    """Approximate a multilingual subword tokenizer's count, model-independently.
    `words`: `text.split()`, if already made.

    Chunk boundaries (and so chunk ids) must not change with the embedding model,
    or switching to lexical-only would re-chunk the corpus.
    """
    pieces = count_pieces(text, words)
    return math.ceil(max(pieces * _TOKENS_PER_PIECE, len(text) / _MAX_CHARS_PER_TOKEN))


def count_pieces(text: str, words: list[str] | None = None) -> int:
    """How many `_PIECE`s `text` has.

    Most white-space-separated words are all word characters (`str.isalnum` is the
    regex's `\\w` but for "_"), one piece each: only the others are read by the
    pattern, joined by spaces (which no piece crosses). About 1.5× as fast as the
    pattern over the whole text: `str.split` and `str.isalnum` run in C without
    trying the pattern's alternatives at every character. `str.split`'s white space
    is the regex's `\\s`; a property test holds the count to the pattern's.
    `words`: `text.split()`, if already made.
    """
    words = text.split() if words is None else words
    odd = list(filterfalse(str.isalnum, words))
    if not odd:
        return len(words)
    return len(words) - len(odd) + _PIECE.subn("", " ".join(odd))[1]


def max_chunk_chars(max_tokens: int) -> int:
    """The hard bound on a chunk's length for a `max_tokens` setting."""
    return max_tokens * _MAX_CHARS_PER_TOKEN


class Sentence(NamedTuple):
    """A sentence's offsets and its estimated token count (a tuple: chunking makes one
    per sentence, and a frozen dataclass costs several times as much to make)."""

    start: int
    end: int
    tokens: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A citable passage: `text` is exactly `original[start:end]`."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    lang: str
    #: `chunk_id` once worked out (an ingest reads it several times; hashing the text
    #: costs microseconds). Not an argument: `dataclasses.replace` makes a chunk
    #: that works its id out again.
    _id: str = field(default="", init=False, repr=False, compare=False)

    @property
    def chunk_id(self) -> str:
        """Derived from content and position, so re-ingesting changes nothing."""
        if not self._id:
            digest = hashlib.sha256(
                f"{self.doc_id}\0{self.start}\0{self.end}\0{self.text}".encode()
            )
            object.__setattr__(self, "_id", f"{self.doc_id}:{digest.hexdigest()[:16]}")
        return self._id

    def identified(self, chunk_id: str) -> Chunk:
        """This chunk, `chunk_id` taken as its id: worked out where the same chunk was
        made (an ingest's worker process), rather than hashing its text again."""
        object.__setattr__(self, "_id", chunk_id)
        return self


def split_sentences(
    text: str,
    offset: int = 0,
    spans: list[tuple[int, int]] | None = None,
    estimate: Callable[[str], int] = estimate_tokens,
) -> list[Sentence]:
    """Sentences of `text` as offsets into the original (shifted by `offset`), with
    their estimated token counts; see `sentence_spans`. `spans`: the sentences, if
    already known; `estimate`: a sentence's tokens (`estimate_tokens`)."""
    found = sentence_spans(text) if spans is None else spans
    return [Sentence(offset + a, offset + b, estimate(text[a:b])) for a, b in found]


def _sentence(text: str, start: int, end: int, offset: int) -> Iterator[Sentence]:
    span = trimmed(text, start, end)
    if span is not None:
        a, b = span
        yield Sentence(offset + a, offset + b, estimate_tokens(text[a:b]))


def _split_long(original: str, sentence: Sentence, max_tokens: int) -> list[Sentence]:
    """Break a sentence longer than `max_tokens` at commas, else between words, else
    (a run without white space) every few hundred characters."""
    if sentence.tokens <= max_tokens:
        return [sentence]
    text = original[sentence.start : sentence.end]
    step = max(1, max_tokens * _MAX_CHARS_PER_TOKEN // 2)
    cuts = (
        [m.end() for m in re.finditer(r"[،,;:]\s+", text)]
        or [m.end() for m in re.finditer(r"\s+", text)]
        or list(range(step, len(text), step))
    )
    pieces: list[Sentence] = []
    begin = 0
    last_good = None
    for cut in [*cuts, len(text)]:
        if estimate_tokens(text[begin:cut]) > max_tokens and last_good is not None:
            pieces.extend(_sentence(text, begin, last_good, sentence.start))
            begin = last_good
        last_good = cut
    pieces.extend(_sentence(text, begin, len(text), sentence.start))
    return [p for s in pieces for p in _split_long(original, s, max_tokens)] if cuts else pieces


def _runs(paragraphs: Sequence[Paragraph]) -> Iterator[list[Paragraph]]:
    """Consecutive kept paragraphs: a chunk may join them, never cross furniture."""
    run: list[Paragraph] = []
    for p in paragraphs:
        if p.kept:
            run.append(p)
        elif run:
            yield run
            run = []
    if run:
        yield run


#: A line's sentences (`sentence_spans` of the line's text).
LineSpans = Callable[[str], list[tuple[int, int]]]


def chunk_paragraphs(
    original: str,
    paragraphs: Sequence[Paragraph],
    *,
    doc_id: str,
    lang: str,
    min_tokens: int = 150,
    max_tokens: int = 350,
) -> list[Chunk]:
    """Group the kept paragraphs' sentences into overlapping chunks."""
    found = chunk_with_sentences(
        original, paragraphs, doc_id=doc_id, lang=lang, min_tokens=min_tokens, max_tokens=max_tokens
    )
    return [f.chunk for f in found]


class ChunkSentences(NamedTuple):
    """A chunk, with its sentences as offsets into its text.

    `known`: the sentences where they are `sentence_spans` of the chunk's text, found
    without reading it again (else None). `parts`: the sentences the chunker grouped
    into it, which cover its text but for the white space between them, where no
    sentence was cut (else None); a chunk that starts on a line that may run on has
    these though its own reading may differ."""

    chunk: Chunk
    known: list[tuple[int, int]] | None
    parts: list[tuple[int, int]] | None


def chunk_with_sentences(
    original: str,
    paragraphs: Sequence[Paragraph],
    *,
    doc_id: str,
    lang: str,
    min_tokens: int = 150,
    max_tokens: int = 350,
    line_spans: LineSpans = sentence_spans,
    sentence_tokens: Callable[[str], int] = estimate_tokens,
) -> list[ChunkSentences]:
    """`chunk_paragraphs`, each chunk with its sentences (`ChunkSentences`).

    `line_spans`: a paragraph's sentences (an ingest passes those cleaning found), and
    `sentence_tokens` the estimate of one of them (`estimate_tokens`; an ingest passes
    one that splits each sentence once for all it works out of it). A run
    of paragraphs is split into sentences line by line, except where a line may run on
    into the next (`_run_sentences`); a chunk of whole sentences whose first line does
    not run on has the run's sentences. A test holds both to reading the text afresh.
    """
    out: list[ChunkSentences] = []
    for run in _runs(paragraphs):
        found, may_run_on = _run_sentences(original, run, line_spans, sentence_tokens)
        sentences: list[Sentence] = []
        pieces: set[Sentence] = set()  # those cut from a longer sentence
        for whole in found:
            cut = _split_long(original, whole, max_tokens)
            if len(cut) > 1:
                pieces.update(cut)
            sentences += cut
        for group in _group(sentences, min_tokens, max_tokens):
            a, b = group[0].start, group[-1].end
            parts = [(x.start - a, x.end - a) for x in group] if pieces.isdisjoint(group) else None
            starts_on_run_on = any(after <= a < end for after, end in may_run_on)
            known = None if starts_on_run_on else parts
            chunk = Chunk(doc_id, len(out), a, b, original[a:b], lang)
            out.append(ChunkSentences(chunk, known, parts))
    return out


def _run_sentences(
    original: str,
    run: Sequence[Paragraph],
    line_spans: LineSpans,
    sentence_tokens: Callable[[str], int],
) -> tuple[list[Sentence], list[tuple[int, int]]]:
    """`split_sentences` of the run's text, and where the lines that may run on into
    the next lie (from the end of the line before to their own end).

    A line's sentence can only go on below if the line is long and ends in a letter
    (`_runs_on`). Where none of a group of lines can, each line's sentences are its
    own (`line_spans` of its paragraph); the lines that may run on and the line after
    each are read together from the original text, as `sentence_spans` reads the run.
    So is a line with a byte-order mark before it or in it: cleaning trims the mark off
    a paragraph (a line of marks alone is none), but to `sentence_spans` it is no white
    space.
    """
    start, end = run[0].start, run[-1].end
    sentences: list[Sentence] = []
    may_run_on: list[tuple[int, int]] = []
    joined_from: int | None = None  # where the lines read together begin
    after = start  # where the line before ended: blank lines (or a mark's) between
    for i, p in enumerate(run):
        last = i + 1 == len(run)
        line_start = start if i == 0 else original.rfind("\n", start, p.start) + 1
        line_end = end if last else original.find("\n", p.end, end)
        if not last and p.text[-1].isalpha() and p.end - line_start >= RUN_ON_LINE_CHARS:
            may_run_on.append((after, line_end))
            joined_from = after if joined_from is None else joined_from
        elif joined_from is None and "\ufeff" not in original[after:line_end]:
            sentences += split_sentences(p.text, p.start, line_spans(p.text), sentence_tokens)
        else:
            begin = after if joined_from is None else joined_from
            sentences += split_sentences(original[begin:line_end], begin)
            joined_from = None
        after = line_end
    return sentences, may_run_on


def _group(sentences: list[Sentence], min_tokens: int, max_tokens: int) -> list[list[Sentence]]:
    """Consecutive sentences grouped into chunks, in order."""
    groups: list[list[Sentence]] = []
    current: list[Sentence] = []
    max_chars = max_chunk_chars(max_tokens)
    for s in sentences:
        size = sum(x.tokens for x in current)
        full = size + s.tokens > max_tokens and size >= min_tokens // 2
        if current and (full or s.end - current[0].start > max_chars):
            groups.append(current)
            # One sentence of overlap, unless it would crowd out the new sentence.
            overlap = current[-1]
            fits = overlap.tokens + s.tokens <= max_tokens and s.end - overlap.start <= max_chars
            current = [overlap] if fits else []
        current.append(s)
    if current:
        tail = sum(x.tokens for x in current)
        previous = groups[-1] if groups else None
        if previous and tail < min_tokens and _fits(previous, current, max_tokens):
            # Too short to stand alone: give it to the previous chunk.
            groups[-1] = previous + [x for x in current if x not in previous]
        elif not previous or any(x not in previous for x in current):
            groups.append(current)
    return groups


def _fits(previous: list[Sentence], tail: list[Sentence], max_tokens: int) -> bool:
    merged = {(s.start, s.end): s.tokens for s in previous + tail}
    span = tail[-1].end - previous[0].start
    return sum(merged.values()) <= max_tokens and span <= max_chunk_chars(max_tokens)
