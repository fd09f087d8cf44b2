"""Sentence vectors, built at ingest: each distinct sentence embedded once, kept as
int8 codes, and the corpus's dense null computed from them.

The dense null is the similarity of *unrelated* sentence pairs (sentences of
different documents) for this model over this corpus: dense similarities only
mean something relative to it. It is computed here, when the index is built,
never on a user's question.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from tqdm.auto import tqdm

from retrieval.quantize import Int8Rows

__all__ = [
    "DenseNull",
    "EmbedBlocks",
    "EmbedDocuments",
    "EmbedQueries",
    "embed_in_blocks",
    "embed_sentence_rows",
]

_NULL_QUERIES = 60
_NULL_SENTENCES = 600
#: Sentences embedded at a time at ingest, each block then held as int8 codes: at
#: 768 dimensions, 50 MB of float32 vectors at most instead of every sentence's.
_EMBED_BLOCK = 16_384

#: A sentence's place: (chunk id, start, end) in the chunk's text.
SentenceKey = tuple[str, int, int]


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


def embed_sentence_rows(
    keys: Sequence[SentenceKey],
    texts: Sequence[str],
    docs: Sequence[str],
    *,
    old: dict[SentenceKey, int],
    reused: Int8Rows | None,
    embed: EmbedBlocks,
    embed_queries: EmbedQueries | None,
    model: str,
) -> tuple[Int8Rows, DenseNull]:
    """Every row's int8 codes and the dense null, for the sentences `keys` (their
    `texts`, and the document each is from).

    Rows `old` maps to a row of `reused` keep those codes; the rest are embedded,
    each distinct text once. `embed_queries`: for the dense null, sentences
    embedded as queries; without it (a model that embeds queries as it does
    passages) their own vectors.
    """
    if reused is None:
        old = {}  # nothing to keep codes from
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
    null = _dense_null(
        model, texts, docs, pool=pool, picks=picks, sample=sample, embed_queries=embed_queries
    )
    return Int8Rows(codes, scales), null


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
    texts: Sequence[str],
    docs: Sequence[str],
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
