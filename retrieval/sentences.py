"""Sentence-level evidence, built at ingest: every chunk's sentences with their
offsets, search tokens and (with a model) vectors, plus the corpus's dense null.

Quoting, declining and citation checks all score sentences of retrieved
passages. Doing that work when the index is built, not on a user's question,
keeps the first question as fast as any other.

The dense null is the similarity of *unrelated* sentence pairs (sentences of
different documents) for this model over this corpus: dense similarities only
mean something relative to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from retrieval.catalog import ChunkRecord
from retrieval.chunking import TokenizedSentence, sentence_spans, tokenize_sentences
from retrieval.folders import written_whole
from retrieval.normalize import tokenize
from retrieval.quantize import Int8Rows

__all__ = [
    "SENTENCES_DIR",
    "DenseNull",
    "PassageSentence",
    "SentenceEvidence",
    "TokenizedSentences",
    "embed_in_blocks",
]

#: The evidence's folder in a data dir.
SENTENCES_DIR = "sentences"

#: Sentences shorter than this carry no claim worth quoting (a date line, "1.").
MIN_SENTENCE_CHARS = 20
_NULL_QUERIES = 60
_NULL_SENTENCES = 600
#: Sentences embedded at a time at ingest, each block then held as int8 codes: at
#: 768 dimensions, 50 MB of float32 vectors at most instead of every sentence's.
_EMBED_BLOCK = 16_384


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


@dataclass(frozen=True)
class DenseNull:
    """Similarity of unrelated sentence pairs for one model over one corpus."""

    model: str
    mean: float
    std: float

    def z(self, similarity: float) -> float:
        return (similarity - self.mean) / (self.std or 1.0)

    @staticmethod
    def meta_key(model: str) -> str:
        """Where a shared catalogue's `meta` keeps the null of `model`."""
        return f"dense_null:{model}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> DenseNull:
        return cls(**json.loads(text))


def chunk_sentences(chunk: ChunkRecord) -> list[tuple[int, int]]:
    """(start, end) of the chunk's sentences worth scoring, within its text."""
    return [(a, b) for a, b in sentence_spans(chunk.text) if b - a >= MIN_SENTENCE_CHARS]


class TokenizedSentences:
    """Every sentence of each chunk, short ones too, with its search tokens: what the
    keyword index and the sentence evidence are both built from, so an ingest
    tokenizes each text once. A chunk's tokens are its sentences' tokens in order:
    sentences cover all of its text but the white space between them, so this is
    tokenizing the whole text, except that a Persian affix on a line of its own no
    longer joins the word across the line break (identical on every chunk of the
    public and bundled corpora, and on 10k synthetic ones)."""

    def __init__(
        self,
        chunks: Sequence[ChunkRecord],
        known: Mapping[str, list[TokenizedSentence]] | None = None,
    ) -> None:
        """`known`: chunk id → `tokenize_sentences` of its text, where already done
        (an ingest does it as it chunks, in the same worker process)."""
        known = known or {}
        self._of: dict[str, list[TokenizedSentence]] = {
            c.chunk_id: known[c.chunk_id] if c.chunk_id in known else tokenize_sentences(c.text)
            for c in chunks
        }

    def chunk_tokens(self, chunk_id: str) -> list[str]:
        return [token for _, _, tokens in self._of[chunk_id] for token in tokens]

    def scored(self, chunk_id: str) -> list[TokenizedSentence]:
        """The sentences `chunk_sentences` keeps, with their tokens."""
        return [s for s in self._of[chunk_id] if s[1] - s[0] >= MIN_SENTENCE_CHARS]


EmbedDocuments = Callable[[list[str]], np.ndarray]
#: Vectors of the texts given, a block of rows at a time, in order.
EmbedBlocks = Callable[[list[str]], Iterable[np.ndarray]]
#: Query vectors of many texts at once.
EmbedQueries = Callable[[list[str]], np.ndarray]


def embed_in_blocks(
    embed: EmbedDocuments, texts: Sequence[str], *, progress: bool = False
) -> Iterator[np.ndarray]:
    """`embed` a block of texts at a time, in order, under one progress bar: the
    caller keeps each block as int8 codes, so every sentence's float32 vector is
    never held at once."""
    with tqdm(
        total=len(texts), desc="Embedding sentences", unit="sentence", disable=not progress
    ) as bar:
        for start in range(0, len(texts), _EMBED_BLOCK):
            part = list(texts[start : start + _EMBED_BLOCK])
            yield embed(part)
            bar.update(len(part))


class SentenceEvidence:
    """The sentences of every chunk, ready to score."""

    def __init__(
        self,
        spans: dict[str, list[tuple[int, int]]],
        tokens: list[frozenset[str]],
        vectors: np.ndarray | Int8Rows | None = None,
        model: str = "",
        null: DenseNull | None = None,
    ) -> None:
        self.spans = spans  # chunk id → [(start, end)], rows numbered in this order
        self.tokens = tokens
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
            scored = {c.chunk_id: tokenized.scored(c.chunk_id) for c in chunks}
            spans = {cid: [(a, b) for a, b, _ in found] for cid, found in scored.items()}
            tokens = [frozenset(t) for found in scored.values() for _, _, t in found]
        else:
            spans = {c.chunk_id: chunk_sentences(c) for c in chunks}
            old_tokens = previous.tokens if previous is not None else []
            tokens = [
                old_tokens[old[(c.chunk_id, a, b)]]
                if (c.chunk_id, a, b) in old
                else frozenset(tokenize(c.text[a:b]))
                for c in chunks
                for a, b in spans[c.chunk_id]
            ]
        if embed is None:
            return cls(spans, tokens)
        keys = [(c.chunk_id, a, b) for c in chunks for a, b in spans[c.chunk_id]]
        texts = [c.text[a:b] for c in chunks for a, b in spans[c.chunk_id]]
        reused = None  # the previous vectors, when made by this model
        if previous is not None and previous.has_vectors(model):
            reused = previous.quantized
        if reused is None:
            old = {}
        elif previous is not None and previous.null is not None and list(old) == keys:
            # Nothing changed.
            return cls(spans, tokens, reused, model, previous.null)
        missing = np.asarray([i for i, k in enumerate(keys) if k not in old], dtype=np.int64)
        # Chunks overlap by a sentence, and boilerplate repeats: each distinct text is
        # embedded once, its vector going to every row that holds it.
        distinct = _DistinctTexts(texts, missing)
        kept = np.asarray([i for i, k in enumerate(keys) if k in old], dtype=np.int64)
        kept_rows = [old[keys[i]] for i in kept.tolist()]
        # Each block of new vectors goes straight to int8 codes, so neither every float32
        # vector nor a float16 copy of them is held at once (peak memory at ingest). The
        # dense null's sample keeps its rows' float16 form, which it is computed from.
        pool, picks = _null_sample(len(keys))
        pool_at = np.full(len(keys), -1, dtype=np.int64)
        pool_at[pool] = np.arange(len(pool))
        dim = reused.codes.shape[1] if reused is not None else 0
        codes = np.empty((len(keys), dim), dtype=np.int8)
        scales = np.empty(len(keys), dtype=np.float32)
        sample = np.zeros((len(pool), dim), dtype=np.float16)
        done = 0
        for block in embed(distinct.texts) if distinct.texts else ():
            vectors = np.asarray(block).astype(np.float16)
            if done == 0 and vectors.shape[1] != dim:  # the first block: no vectors reused
                dim = vectors.shape[1]
                codes = np.empty((len(keys), dim), dtype=np.int8)
                sample = np.zeros((len(pool), dim), dtype=np.float16)
            rows, held = distinct.rows_of(done, done + len(vectors))
            made = Int8Rows.quantize(vectors)
            codes[rows], scales[rows] = made.codes[held], made.scales[held]
            sampled = pool_at[rows] >= 0
            sample[pool_at[rows[sampled]]] = vectors[held[sampled]]
            done += len(vectors)
        if done != len(distinct.texts):
            raise ValueError(f"{done} vectors for {len(distinct.texts)} sentences")
        if reused is not None and kept_rows:
            # A row's codes are what quantizing its float16 form gives: reused as they are.
            codes[kept], scales[kept] = reused.codes[kept_rows], reused.scales[kept_rows]
            sampled = pool_at[kept] >= 0
            sample[pool_at[kept[sampled]]] = reused.rows(np.asarray(kept_rows)[sampled].tolist())
        doc_of = [c.doc_id for c in chunks for _ in spans[c.chunk_id]]
        null = _dense_null(
            model, texts, doc_of, pool=pool, picks=picks, sample=sample, embed_queries=embed_queries
        )
        return cls(spans, tokens, Int8Rows(codes, scales), model, null)

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
        blocks, tokens = [], []
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
                tokens.append(
                    tokens_of.tokens[k]
                    if tokens_of is not None and k is not None
                    else frozenset(tokenize(chunk.text[a:b]))
                )
        vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim), dtype=np.float16)
        return cls(spans, tokens, vectors, model, null)

    # -- persistence ----------------------------------------------------------------

    def save(self, folder: Path) -> None:
        meta = {
            "spans": self.spans,
            "tokens": [" ".join(sorted(t)) for t in self.tokens],
            "model": self.model,
            "null": asdict(self.null) if self.null else None,
        }
        with written_whole(folder) as tmp:
            (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
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
            spans = {k: [(int(a), int(b)) for a, b in v] for k, v in meta["spans"].items()}
            tokens = [frozenset(t.split()) for t in meta["tokens"]]
            null = DenseNull(**meta["null"]) if meta.get("null") else None
            return cls(spans, tokens, vectors, str(meta.get("model", "")), null)
        except (OSError, ValueError, KeyError, TypeError):
            return None


class _DistinctTexts:
    """The distinct texts of some `rows` of `texts`, first seen first, and the rows
    that hold each."""

    def __init__(self, texts: Sequence[str], rows: np.ndarray) -> None:
        first: dict[str, int] = {}
        of = np.asarray(
            [first.setdefault(texts[i], len(first)) for i in rows.tolist()], dtype=np.int64
        )
        self.texts = list(first)
        order = np.argsort(of, kind="stable")
        self._rows, self._of = rows[order], of[order]

    def rows_of(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows holding one of `self.texts[start:stop]`, and which one each holds
        (counted from `start`)."""
        lo, hi = np.searchsorted(self._of, [start, stop])
        return self._rows[lo:hi], self._of[lo:hi] - start


def _null_sample(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The sentences the dense null is computed on (rows, sorted) and, among them, the
    positions of those asked as queries: the same for the same number of sentences."""
    rng = np.random.default_rng(0)  # deterministic: same corpus, same calibration
    pool = np.arange(n)
    if n > _NULL_SENTENCES:
        pool = np.sort(rng.choice(n, _NULL_SENTENCES, replace=False))
    picks = rng.choice(len(pool), min(_NULL_QUERIES, len(pool)), replace=False)
    return pool, picks


def _dense_null(
    model: str,
    texts: list[str],
    docs: list[str],
    *,
    pool: np.ndarray,
    picks: np.ndarray,
    sample: np.ndarray,
    embed_queries: EmbedQueries | None,
) -> DenseNull:
    """Similarity of sentences (as queries) to sentences of *other* documents, on the
    `pool` of sentences `_null_sample` chose (`sample`: their vectors)."""
    if len(set(docs)) < 2:
        # One document: nothing is "unrelated"; a wide, neutral spread.
        return DenseNull(model, 0.0, 1.0)
    doc_array = np.array(docs)[pool]
    matrix = sample.astype(np.float32)
    if embed_queries is None:  # queries embed as sentences do: their sampled vectors
        queries = matrix[picks]
    else:
        queries = embed_queries([texts[pool[i]] for i in picks])  # one batch
    sims: list[float] = []
    for i, q in zip(picks, queries, strict=True):
        sims.extend((matrix[doc_array != doc_array[i]] @ q).tolist())
    return DenseNull(model, float(np.mean(sims)), float(np.std(sims)))
