"""bm25s's BM25, its index built a block of texts at a time in whole-array steps.

bm25s builds its score matrix with a Python loop over every text (a `Counter`, a
set intersection and a few small arrays each): at 10k passages that is most of the
keyword index's build, and the build runs after the ingest's workers, on one core.
bm25s documents `build_index_from_tokens` as the place to build the index another
way; this builds the same matrix with numpy over blocks of texts. The scores are the
ones bm25s computes, bit for bit: the same float64 steps in the same order, the IDF
through `math.log` (numpy's `log` may differ in the last place), the same CSC
layout. A test checks the two indexes are equal; any other scoring method, or a
NumPy before 2 (whose scalar promotion would round differently) or a scipy matrix
builder, is left to bm25s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from typing import Any

import bm25s
import numpy as np

__all__ = ["BM25"]

#: Texts counted at a time, at most: bounds the block's keys (~4 bytes a token).
_BLOCK_TEXTS = 4096
#: Keys below this fit an int32: a block holds at most this many texts × vocabulary.
_INT32_KEYS = 2**31 - 1
_NUMPY_2 = int(np.__version__.split(".", 1)[0]) >= 2


class BM25(bm25s.BM25):
    """`bm25s.BM25` whose (Lucene-scored) index is built in whole-array steps."""

    def build_index_from_tokens(
        self, corpus_tokens: Sequence[list[str]], show_progress: bool = True, **kw: Any
    ) -> tuple[dict[str, Any], dict[str, int]]:
        ours = self.method == self.idf_method == "lucene" and self.csc_backend == "numpy"
        if not (_NUMPY_2 and ours):
            return super().build_index_from_tokens(corpus_tokens, show_progress=show_progress, **kw)
        self.nonoccurrence_array = None  # what bm25s sets for Lucene scoring
        unique = bm25s.get_unique_tokens(corpus_tokens, show_progress=False)
        vocab = {token: i for i, token in enumerate(unique)}
        lengths = np.fromiter(map(len, corpus_tokens), dtype=np.int64, count=len(corpus_tokens))
        ids = np.fromiter(  # 4 bytes a token, as are the keys each block is counted by
            map(vocab.__getitem__, chain.from_iterable(corpus_tokens)),
            dtype=np.int32,
            count=int(lengths.sum()),
        )
        return self._scores(ids, lengths, len(vocab)), vocab

    def _scores(self, ids: np.ndarray, lengths: np.ndarray, n_vocab: int) -> dict[str, Any]:
        n_docs = len(lengths)
        avg_doc_len = lengths.mean()  # as bm25s: the mean of an integer array, float64
        starts = np.concatenate([[0], np.cumsum(lengths)])
        docs_parts, tokens_parts, tf_parts = [], [], []
        # Each (text, token) pair of a block is one int32 key (the text counted from the
        # block's first): np.unique counts them about 3× faster than int64 keys.
        block = max(1, min(_BLOCK_TEXTS, _INT32_KEYS // n_vocab))
        for first in range(0, n_docs, block):
            last = min(n_docs, first + block)
            owner = np.repeat(np.arange(last - first, dtype=np.int32), lengths[first:last])
            pairs, counts = np.unique(
                owner * np.int32(n_vocab) + ids[starts[first] : starts[last]],
                return_counts=True,
            )
            docs_parts.append(pairs // n_vocab + first)
            tokens_parts.append(pairs % n_vocab)
            tf_parts.append(counts)
        docs = np.concatenate(docs_parts).astype(self.int_dtype)
        tokens = np.concatenate(tokens_parts).astype(self.int_dtype)
        tf = np.concatenate(tf_parts).astype(self.dtype)  # bm25s's term counts: float32
        # IDF as bm25s's Lucene formula gives it, in Python floats, once per frequency.
        df = np.bincount(tokens, minlength=n_vocab)
        frequencies, which = np.unique(df, return_inverse=True)
        idf_of = np.array(
            [
                math.log(1 + (n_docs - int(d) + 0.5) / (int(d) + 0.5)) if d else 0.0
                for d in frequencies
            ],
            dtype=np.float64,
        )
        idf = idf_of[which].astype(self.dtype)
        # bm25s's term-frequency component per text: k1 * ((1 - b) + b * l_d / l_avg)
        # is a float64 scalar there, so the float32 counts are promoted to float64.
        k1, b = self.k1, self.b
        length_part = k1 * ((1 - b) + (b * lengths.astype(np.float64)) / avg_doc_len)
        tf64 = tf.astype(np.float64)
        tfc = tf64 / (length_part[docs] + tf64)
        scores = (idf[tokens] * tfc).astype(self.dtype)
        data, indices, indptr = self._np_csc(
            data=scores, rows=docs, cols=tokens, shape=(n_docs, n_vocab)
        )
        return {
            "data": data.astype(self.dtype),
            "indices": indices,
            "indptr": indptr,
            "num_docs": n_docs,
        }
