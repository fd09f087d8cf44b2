"""Sentence-level evidence, built at ingest: every chunk's sentences with their
offsets, search tokens and (with a model) vectors, plus the corpus's dense null
(`retrieval.sentence_vectors` makes those two).

Quoting, declining and citation checks all score sentences of retrieved
passages. Doing that work when the index is built, not on a user's question,
keeps the first question as fast as any other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from retrieval.catalog import ChunkRecord
from retrieval.folders import write_lines, written_whole
from retrieval.lexical import NumberedTokens
from retrieval.normalize import tokenize
from retrieval.prepare import MIN_SENTENCE_CHARS, ChunkTokens, Numbering, kept_tokens
from retrieval.quantize import Int8Rows
from retrieval.sentence_split import sentence_spans, tokenize_sentences
from retrieval.sentence_tokens import SentenceTokens
from retrieval.sentence_vectors import (
    DenseNull,
    EmbedBlocks,
    EmbedDocuments,
    EmbedQueries,
    embed_sentence_rows,
)

__all__ = ["SENTENCES_DIR", "PassageSentence", "SentenceEvidence", "TokenizedSentences"]

#: The evidence's folder in a data dir.
SENTENCES_DIR = "sentences"
#: In the sentences folder: one line of tokens a sentence, in row order.
TOKENS_FILE = "tokens.txt"


@dataclass(frozen=True, slots=True)
class PassageSentence:
    """A sentence of a chunk: `chunk.text[start:end]`, with its search tokens."""

    chunk: ChunkRecord
    start: int
    end: int
    tokens: frozenset[str]
    row: int  # its row in the evidence's vectors

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]


def chunk_sentences(chunk: ChunkRecord) -> list[tuple[int, int]]:
    """(start, end) of the chunk's sentences worth scoring, within its text."""
    return [(a, b) for a, b in sentence_spans(chunk.text) if b - a >= MIN_SENTENCE_CHARS]


#: Chunks whose sentence vectors `sentence_sums` converts at a time.
_SUM_BLOCK = 2048


class TokenizedSentences:
    """Every chunk's search tokens as the keyword index and the sentence evidence take
    them (`ChunkTokens`), so an ingest tokenizes each text once: all of a chunk's
    tokens numbered (`numbered`), and its sentences worth scoring with a line of
    tokens each. A chunk's tokens are its sentences' tokens in order: sentences cover
    all of its text but the white space between them, so this is tokenizing the whole
    text, except that a Persian affix on a line of its own no longer joins the word
    across the line break (identical on every chunk of the public and bundled
    corpora, and on 10k synthetic ones)."""

    def __init__(
        self,
        chunks: Sequence[ChunkRecord],
        known: Mapping[str, ChunkTokens] | None = None,
        numbers: Numbering | None = None,
    ) -> None:
        """`known`: chunk id → its `ChunkTokens`, where an ingest prepared it already,
        numbered in `numbers`; any other chunk's text is tokenized here."""
        known = known or {}
        self.numbered = NumberedTokens(numbers)
        self._of: dict[str, ChunkTokens] = {}
        for c in chunks:
            kept = known.get(c.chunk_id)
            if kept is None:
                kept = kept_tokens(tokenize_sentences(c.text), self.numbered.vocab)
            self.numbered.add_numbers(c.chunk_id, kept.numbers)
            self._of[c.chunk_id] = kept

    def kept(self, chunk_id: str) -> ChunkTokens:
        """The chunk's tokens, with the sentences `chunk_sentences` keeps."""
        return self._of[chunk_id]


class SentenceEvidence:
    """The sentences of every chunk, ready to score."""

    def __init__(
        self,
        spans: dict[str, list[tuple[int, int]]],
        tokens: SentenceTokens | Sequence[frozenset[str]],
        vectors: np.ndarray | Int8Rows | None = None,
        model: str = "",
        null: DenseNull | None = None,
    ) -> None:
        self.spans = spans  # chunk id → [(start, end)], rows numbered in this order
        self.tokens = (
            tokens if isinstance(tokens, SentenceTokens) else SentenceTokens.of_sets(tokens)
        )
        # One row per sentence, or None.
        self.quantized = (
            vectors
            if vectors is None or isinstance(vectors, Int8Rows)
            else Int8Rows.quantize(vectors)
        )
        self.model = model
        self.null = null
        self._first_row: dict[str, int] = {}
        row = 0
        for chunk_id, chunk_spans in spans.items():
            self._first_row[chunk_id] = row
            row += len(chunk_spans)

    def __len__(self) -> int:
        return len(self.tokens)

    def sentences(self, chunk: ChunkRecord) -> list[PassageSentence]:
        first = self._first_row.get(chunk.chunk_id)
        if first is None:  # a chunk this evidence predates: score it on the fly
            return [
                PassageSentence(chunk, a, b, frozenset(tokenize(chunk.text[a:b])), -1)
                for a, b in chunk_sentences(chunk)
            ]
        return [
            PassageSentence(chunk, a, b, self.tokens[first + i], first + i)
            for i, (a, b) in enumerate(self.spans[chunk.chunk_id])
        ]

    def best_similarities(self, chunk_ids: Sequence[str], query: np.ndarray) -> list[float | None]:
        """For each chunk, the highest similarity of any of its sentences to `query`
        (None: no sentences, or a chunk this evidence predates); all chunks with one
        conversion and one product."""
        if self.quantized is None:
            return [None] * len(chunk_ids)
        rows: list[int] = []
        counts: list[int] = []  # sentences per chunk (0: none, or a chunk it predates)
        for chunk_id in chunk_ids:
            first = self._first_row.get(chunk_id)
            n = 0 if first is None else len(self.spans[chunk_id])
            counts.append(n)
            if first is not None:
                rows.extend(range(first, first + n))
        if not rows:
            return [None] * len(chunk_ids)
        sims = self.quantized.dot(rows, query)
        best = np.maximum.reduceat(sims, np.cumsum([0, *[n for n in counts if n]])[:-1])
        found = iter(best.tolist())
        return [float(next(found)) if n else None for n in counts]

    def sentence_sums(self, chunk_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """For each chunk, the sum of its sentences' vectors and how many they are (0: no
        sentences, or a chunk this evidence predates); converted a block of chunks at a
        time, so a large corpus never needs all its sentences as float32 at once."""
        if self.quantized is None:
            raise ValueError("this sentence evidence has no vectors")
        sums = np.zeros((len(chunk_ids), self.quantized.codes.shape[1]), dtype=np.float32)
        counts = np.zeros(len(chunk_ids), dtype=np.intp)
        for a in range(0, len(chunk_ids), _SUM_BLOCK):
            rows: list[int] = []
            for i, chunk_id in enumerate(chunk_ids[a : a + _SUM_BLOCK], a):
                first = self._first_row.get(chunk_id)
                if first is not None:
                    counts[i] = len(self.spans[chunk_id])
                    rows.extend(range(first, first + counts[i]))
            have = np.flatnonzero(counts[a : a + _SUM_BLOCK]) + a
            if len(have):
                starts = np.cumsum([0, *counts[have][:-1]])
                sums[have] = np.add.reduceat(self.quantized.rows(rows), starts)
        return sums, counts

    @property
    def vectors(self) -> np.ndarray | None:
        """Every sentence's vector as float16 (the stored form), or None; made on
        each call: for saving and sharing, not for scoring."""
        return self.quantized.as_float16() if self.quantized is not None else None

    def has_vectors(self, model: str) -> bool:
        return self.quantized is not None and self.model == model

    def vectors_of(self, sentences: Sequence[PassageSentence], embed: EmbedDocuments) -> np.ndarray:
        """Vectors of `sentences`; any not stored (rows of -1) are embedded now."""
        if not sentences:
            return np.zeros((0, 0), dtype=np.float32)
        stored = self.quantized
        if stored is not None and all(s.row >= 0 for s in sentences):
            return stored.rows([s.row for s in sentences])
        return np.asarray(embed([s.text for s in sentences]), dtype=np.float32)

    # -- building -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        chunks: Sequence[ChunkRecord],
        *,
        model: str = "",
        embed: EmbedBlocks | None = None,
        embed_queries: EmbedQueries | None = None,
        previous: SentenceEvidence | None = None,
        tokenized: TokenizedSentences | None = None,
    ) -> SentenceEvidence:
        """Split, tokenize and (given `embed`) embed every chunk's sentences.

        Tokens and vectors `previous` already holds for the same sentences (and,
        for vectors, the same model) are reused, so an incremental ingest works
        only on new sentences, and an unchanged corpus keeps its dense null.
        `tokenized`: the chunks' sentences already split and tokenized.
        `embed_queries`: for the dense null, sentences embedded as queries; without
        it (a model that embeds queries as it does passages) their own vectors.
        """
        old = previous.rows() if previous is not None else {}
        if tokenized is not None:
            kept = [tokenized.kept(c.chunk_id) for c in chunks]
            spans = {c.chunk_id: k.spans for c, k in zip(chunks, kept, strict=True)}
            tokens = SentenceTokens(list(chain.from_iterable(k.lines for k in kept)))
        else:
            spans = {c.chunk_id: chunk_sentences(c) for c in chunks}
            old_tokens = previous.tokens if previous is not None else SentenceTokens([])
            tokens = SentenceTokens(
                [
                    old_tokens.line(old[(c.chunk_id, a, b)])
                    if (c.chunk_id, a, b) in old
                    else " ".join(tokenize(c.text[a:b]))
                    for c in chunks
                    for a, b in spans[c.chunk_id]
                ]
            )
        if embed is None:
            return cls(spans, tokens)
        keys = [(c.chunk_id, a, b) for c in chunks for a, b in spans[c.chunk_id]]
        texts = [c.text[a:b] for c in chunks for a, b in spans[c.chunk_id]]
        reused = None  # the previous vectors, when made by this model
        if previous is not None and previous.has_vectors(model):
            reused = previous.quantized
            if previous.null is not None and list(old) == keys:  # nothing changed
                return cls(spans, tokens, reused, model, previous.null)
        doc_of = [c.doc_id for c in chunks for _ in spans[c.chunk_id]]
        quantized, null = embed_sentence_rows(
            keys,
            texts,
            doc_of,
            old=old,
            reused=reused,
            embed=embed,
            embed_queries=embed_queries,
            model=model,
        )
        return cls(spans, tokens, quantized, model, null)

    def rows(self) -> dict[tuple[str, int, int], int]:
        """(chunk id, start, end) of each sentence → its row, in row order."""
        return {
            (chunk_id, a, b): self._first_row[chunk_id] + i
            for chunk_id, chunk_spans in self.spans.items()
            for i, (a, b) in enumerate(chunk_spans)
        }

    # -- shared through a database (replicas) -----------------------------------------

    def stored_rows(self, skip: dict[str, str] | None = None) -> list[tuple[str, str, int, bytes]]:
        """(chunk id, spans as JSON, dimension, float16 vectors) per chunk, for a shared
        catalogue; chunks whose spans `skip` already holds are left out."""
        vectors = self.vectors
        if vectors is None:
            return []
        dim = int(vectors.shape[1])
        rows = []
        for chunk_id, chunk_spans in self.spans.items():
            spans = json.dumps(chunk_spans)
            if skip is not None and skip.get(chunk_id) == spans:
                continue
            first = self._first_row[chunk_id]
            block = vectors[first : first + len(chunk_spans)]
            rows.append((chunk_id, spans, dim, block.tobytes()))
        return rows

    @classmethod
    def from_stored(
        cls,
        chunks: Sequence[ChunkRecord],
        stored: dict[str, tuple[str, int, bytes]],
        model: str,
        null: DenseNull | None,
        tokens_of: SentenceEvidence | None = None,
    ) -> SentenceEvidence:
        """The evidence a shared catalogue holds for `chunks` (those it has rows for), to
        pass as `previous` to `build`: what it lacks is embedded then. Tokens come from
        `tokens_of` where it has the same sentences."""
        known = tokens_of.rows() if tokens_of is not None else {}
        spans: dict[str, list[tuple[int, int]]] = {}
        blocks: list[np.ndarray] = []
        lines: list[str] = []
        dim = 0
        for chunk in chunks:
            row = stored.get(chunk.chunk_id)
            if row is None:
                continue
            chunk_spans = [(int(a), int(b)) for a, b in json.loads(row[0])]
            dim = row[1]
            block = np.frombuffer(row[2], dtype=np.float16).reshape(len(chunk_spans), dim)
            spans[chunk.chunk_id] = chunk_spans
            blocks.append(block)
            for a, b in chunk_spans:
                k = known.get((chunk.chunk_id, a, b))
                lines.append(
                    tokens_of.tokens.line(k)
                    if tokens_of is not None and k is not None
                    else " ".join(tokenize(chunk.text[a:b]))
                )
        vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float16)
        return cls(spans, SentenceTokens(lines), vectors, model, null)

    # -- persistence ----------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Spans, model and null in `meta.json`; each sentence's tokens a line of
        `tokens.txt` (in the order the sentence has them, so the file is the same for
        the same index): plain lines write and read several times faster than a JSON
        list of the same strings."""
        meta = {
            "spans": self.spans,
            "model": self.model,
            "null": asdict(self.null) if self.null else None,
        }
        with written_whole(folder) as tmp:
            (tmp / "meta.json").write_bytes(json.dumps(meta, ensure_ascii=False).encode("utf-8"))
            write_lines(tmp / TOKENS_FILE, self.tokens.lines)
            if self.quantized is not None:
                np.save(tmp / "codes.npy", self.quantized.codes)
                np.save(tmp / "scales.npy", self.quantized.scales)

    @classmethod
    def load(cls, folder: Path) -> SentenceEvidence | None:
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            vectors: np.ndarray | Int8Rows | None = None
            if (folder / "codes.npy").is_file():
                vectors = Int8Rows(np.load(folder / "codes.npy"), np.load(folder / "scales.npy"))
            elif (folder / "vectors.npy").is_file():  # saved by 0.x releases before int8
                vectors = np.load(folder / "vectors.npy")
            spans = {k: list(map(tuple, v)) for k, v in meta["spans"].items()}
            rows = sum(map(len, spans.values()))
            tokens: SentenceTokens | None
            if "tokens" in meta:  # saved before tokens.txt: a JSON list
                lines = meta["tokens"]
                tokens = SentenceTokens(list(lines)) if len(lines) == rows else None
            else:  # each line decoded, and made a set, when a search first reads it
                tokens = SentenceTokens.of_file(folder / TOKENS_FILE, rows)
            if tokens is None:
                return None  # not one line a sentence: rebuilt, as a missing file is
            null = DenseNull(**meta["null"]) if meta.get("null") else None
            return cls(spans, tokens, vectors, str(meta.get("model", "")), null)
        except (OSError, ValueError, KeyError, TypeError):
            return None
