"""bm25s's BM25, its index built a block of texts at a time in whole-array steps.

bm25s builds its score matrix with a Python loop over every text (a `Counter`, a
set intersection and a few small arrays each): at 10k passages that is most of the
keyword index's build, and the build runs after the ingest's workers, on one core.
bm25s documents `build_index_from_tokens` as the place to build the index another
way; this builds the same matrix with numpy over blocks of texts. The scores are the
ones bm25s computes, bit for bit: the same float64 steps in the same order, the IDF
through `math.log` (numpy's `log` may differ in the last place), the same CSC
layout, counted column by column so that it needs no sort of the whole matrix
(bm25s sorts every entry by column; at ~100k passages that sort and its copies were
half the build). A test checks the two indexes are equal; any other scoring method,
or a NumPy before 2 (whose scalar promotion would round differently) or a scipy
matrix builder, is left to bm25s.
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
#: Matrix entries scored at a time: their float64 temporaries stay in a core's cache.
_SCORE_ENTRIES = 1 << 16
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

    def index_numbered(self, ids: np.ndarray, lengths: np.ndarray, vocab: dict[str, int]) -> None:
        """`index` texts whose tokens are numbered already: `ids` every text's token
        numbers one text after another, `lengths` how many each text has, `vocab`
        each token's number (0, 1, … in order). The same index as `index` of the
        tokens, but for the order of its vocabulary (and so of its columns): the same
        scores."""
        ours = self.method == self.idf_method == "lucene" and self.csc_backend == "numpy"
        if not (_NUMPY_2 and ours):
            words = np.array(list(vocab), dtype=object)[ids]
            texts = np.split(words, np.cumsum(lengths)[:-1]) if len(lengths) else []
            self.index([list(t) for t in texts], show_progress=False)
            return
        self.nonoccurrence_array = None  # what bm25s sets for Lucene scoring
        self.scores = self._scores(ids, lengths, len(vocab))
        # What `index` adds: an empty token past the last, for texts without tokens.
        self.vocab_dict = {**vocab, "": len(vocab)} if "" not in vocab else dict(vocab)
        self.unique_token_ids_set = set(self.vocab_dict.values())

    def _scores(self, ids: np.ndarray, lengths: np.ndarray, n_vocab: int) -> dict[str, Any]:
        n_docs = len(lengths)
        avg_doc_len = lengths.mean()  # as bm25s: the mean of an integer array, float64
        starts = np.concatenate([[0], np.cumsum(lengths)])
        # Each (text, token) pair of a block is one int32 key, token first: np.unique
        # counts them about 3× faster than int64 keys, and returns them in the matrix's
        # own order within the block (by token, then text), so no sort of the whole
        # matrix is needed to lay it out by column, as bm25s's builder does.
        block = max(1, min(_BLOCK_TEXTS, _INT32_KEYS // n_vocab))
        blocks = []
        per_token = np.zeros(n_vocab, dtype=np.int64)  # each column's entries: its df
        for first in range(0, n_docs, block):
            width = min(n_docs, first + block) - first
            owner = np.repeat(np.arange(width, dtype=np.int32), lengths[first : first + width])
            pairs, counts = np.unique(
                ids[starts[first] : starts[first + width]] * np.int32(width) + owner,
                return_counts=True,
            )
            tokens, in_docs = np.divmod(pairs, width)
            # The block's columns, where each one's entries begin in it, and how many.
            columns, begins, sizes = np.unique(tokens, return_index=True, return_counts=True)
            # Kept as bm25s's term counts (float32, exact), half np.unique's int64.
            blocks.append((first, in_docs, counts.astype(self.dtype), columns, begins, sizes))
            per_token[columns] += sizes
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(per_token, out=indptr[1:])
        # A column holds its texts in order: block by block, each block's after the
        # earlier blocks' entries of that column.
        docs = np.empty(int(indptr[-1]), dtype=self.int_dtype)
        tf = np.empty(int(indptr[-1]), dtype=self.dtype)  # bm25s's term counts: float32
        taken = indptr[:-1].copy()  # where a column's next block goes
        for first, in_docs, counts, columns, begins, sizes in blocks:
            # An entry's place: its column's next free place, plus its rank in the column.
            at = np.arange(len(in_docs), dtype=np.int64) + np.repeat(taken[columns] - begins, sizes)
            docs[at] = in_docs + first
            tf[at] = counts
            taken[columns] += sizes
        del blocks
        # IDF as bm25s's Lucene formula gives it, in Python floats, once per frequency.
        frequencies, which = np.unique(per_token, return_inverse=True)
        idf_of = np.array(
            [
                math.log(1 + (n_docs - int(d) + 0.5) / (int(d) + 0.5)) if d else 0.0
                for d in frequencies
            ],
            dtype=np.float64,
        )
        idf = np.repeat(idf_of[which].astype(self.dtype), per_token)  # each entry's column
        # bm25s's term-frequency component per text: k1 * ((1 - b) + b * l_d / l_avg)
        # is a float64 scalar there, so the float32 counts are promoted to float64.
        k1, b = self.k1, self.b
        length_part = k1 * ((1 - b) + (b * lengths.astype(np.float64)) / avg_doc_len)
        # score = idf * tf / (length part + tf), in bm25s's float64 steps, a slice of
        # entries at a time, each written over its counts: whole-array temporaries
        # came to ~800 MB of new pages at ~100k passages, and took up to 1.5 s.
        scores = tf
        for at in range(0, len(tf), _SCORE_ENTRIES):
            part = slice(at, at + _SCORE_ENTRIES)
            counts = tf[part].astype(np.float64)
            denominator = length_part[docs[part]]
            denominator += counts
            counts /= denominator
            counts *= idf[part]
            scores[part] = counts  # to float32, rounded as bm25s's `astype`
        return {"data": scores, "indices": docs, "indptr": indptr, "num_docs": n_docs}
