"""The keyword index's score matrix, built in whole-array steps, is bm25s's own."""

from __future__ import annotations

from array import array

import bm25s
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retrieval.bm25_index
from retrieval.bm25_index import BM25
from retrieval.config import BUNDLED_CORPUS_DIR
from retrieval.corpus import read_corpus
from retrieval.lexical import LexicalIndex, NumberedTokens
from retrieval.prepare import numbering, prepare


def _assert_same_index(texts: list[list[str]]) -> None:
    theirs, ours = bm25s.BM25(k1=1.2, b=0.75), BM25(k1=1.2, b=0.75)
    theirs.index(texts, show_progress=False)
    ours.index(texts, show_progress=False)
    assert ours.vocab_dict == theirs.vocab_dict
    for part in ("data", "indices", "indptr"):
        assert ours.scores[part].dtype == theirs.scores[part].dtype
        assert np.array_equal(ours.scores[part], theirs.scores[part]), part  # bit for bit
    assert ours.scores["num_docs"] == theirs.scores["num_docs"]
    for query in filter(None, (texts[0][:3], ["absent"], texts[-1][-2:])):
        assert np.array_equal(ours.get_scores(query), theirs.get_scores(query))


def test_the_bundled_corpus_gets_bm25s_own_scores():
    sources, _ = read_corpus(BUNDLED_CORPUS_DIR)
    texts = []
    numbers = numbering()
    for source in sources:
        prepared = prepare(source, min_tokens=60, max_tokens=120, numbers=numbers)
        words = list(numbers)
        texts += [
            [words[n] for n in array("i", prepared.tokens[c.chunk_id].numbers)]
            for c in prepared.chunks
        ]
    assert len(texts) > 100
    _assert_same_index([*texts, []])  # a text without a token, too


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.lists(
            st.sampled_from(["کابل", "هرات", "پل", "the", "bridge", "1", "ال", "x"]), max_size=30
        ),
        min_size=1,
        max_size=40,
    ).filter(any)
)
def test_any_texts_get_bm25s_own_scores_in_blocks_of_any_size(texts, monkeypatch_module):
    _assert_same_index(texts)


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Blocks of three texts, so that every generated corpus spans several blocks, and
    fewer where the keys would not fit (as if 13 were the largest int32): one text a
    block with all 8 tokens, two with 5 to 6. Scores five entries at a time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retrieval.bm25_index, "_BLOCK_TEXTS", 3)
        patch.setattr(retrieval.bm25_index, "_INT32_KEYS", 13)
        patch.setattr(retrieval.bm25_index, "_SCORE_ENTRIES", 5)
        yield


def _numbered(texts: list[list[str]]) -> NumberedTokens:
    numbered = NumberedTokens()
    for i, text in enumerate(texts):
        numbered.add_numbers(str(i), array("i", map(numbered.vocab.__getitem__, text)).tobytes())
    return numbered


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(
        st.lists(st.sampled_from(["کابل", "هرات", "پل", "the", "bridge", "1", "x"]), max_size=20),
        min_size=1,
        max_size=30,
    ),
    method=st.sampled_from(["lucene", "robertson"]),
)
def test_texts_numbered_as_they_come_get_the_same_scores(texts, method):
    # An ingest numbers each chunk's tokens as it stores it: its vocabulary is in
    # another order than bm25s's, every score the same. Robertson scoring (not
    # built here) goes through bm25s's own builder.
    ids = [str(i) for i in range(len(texts))]
    numbered = _numbered(texts)
    if not any(texts):
        assert LexicalIndex.from_numbered(ids, numbered).retriever is None
        return
    theirs, ours = bm25s.BM25(method=method), BM25(method=method)
    theirs.index(texts, show_progress=False)
    ours.index_numbered(
        np.concatenate([numbered.of[i] for i in ids]),
        np.array([len(t) for t in texts]),
        dict(numbered.vocab),
    )
    assert set(ours.vocab_dict) == set(theirs.vocab_dict)
    assert ours.vocab_dict[""] == len(ours.vocab_dict) - 1  # the empty token, last
    for query in ([t] for t in theirs.vocab_dict if t):
        assert np.array_equal(ours.get_scores(query), theirs.get_scores(query)), query
    whole, streamed = (
        LexicalIndex.from_tokens(ids, texts),
        LexicalIndex.from_numbered(ids, numbered),
    )
    assert streamed.df == whole.df
    query = [t for text in texts for t in text][:4]
    assert streamed.search(query, 10) == whole.search(query, 10)
