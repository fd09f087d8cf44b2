"""Property-based tests of the text machinery, on random Unicode with Arabic script,
ZWNJ/ZWJ, bidi controls, byte-order marks, emoji and combining marks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.language import detect_language
from retrieval.normalize import search_key, tokenize

#: Characters that make Persian and Arabic text hard: letters, marks, joiners, controls.
_HARD = (
    "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكةۀأإآءئؤ"
    "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0610\u0611\u0618\u0670"
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u2066\u2067\u2068\u2069\ufeff"
    "۰۱۲۳٤٥0123 \n\t.,،؛؟!«»-—"
    "a\u0301e\u0308ǰİßﬁ🙂👍🏽"
)
text_strategy = st.one_of(
    st.text(alphabet=_HARD, max_size=60),
    st.text(max_size=40),  # anything at all, including surrogates' neighbours
)


@settings(max_examples=400, deadline=None)
@given(text_strategy)
def test_search_key_is_idempotent(text):
    once = search_key(text)
    assert search_key(once) == once


@settings(max_examples=300, deadline=None)
@given(text_strategy)
def test_tokens_are_their_own_keys(text):
    for token in tokenize(text):
        assert search_key(token) == token


@settings(max_examples=300, deadline=None)
@given(text_strategy)
def test_language_detection_never_raises(text):
    assert detect_language(text) in {"fa", "ar", "en", "ps", "ur", "und"}


def test_the_cases_found_by_the_probe():
    for text in ("a\u200d\u0301", "\u0611\ufeff\u0618"):
        assert search_key(search_key(text)) == search_key(text)


def _duplicates_by_comparing_every_pair(texts: list[str]) -> list[bool]:
    """The definition, pair by pair: what the indexed marking must agree with."""
    from retrieval.normalize import shingles

    grams = [shingles(t, 5) for t in texts]
    marked = [False] * len(texts)
    for i, mine in enumerate(grams):
        for j, theirs in enumerate(grams):
            if i == j or marked[j] or not mine:
                continue
            longer = len(texts[j]) > len(texts[i]) or (len(texts[j]) == len(texts[i]) and j < i)
            if longer and len(mine & theirs) >= 0.8 * len(mine):
                marked[i] = True
                break
    return marked


_WORDS = ["کابل", "هرات", "طالبان", "نشست", "گفت", "الدولة", "أعلن", "the", "talks", "in"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=14), max_size=25))
def test_duplicate_paragraphs_are_marked_as_comparing_every_pair_would(lines):
    from retrieval.clean import split_paragraphs

    texts = [" ".join(words) + " ." for words in lines]
    # Lines marked for another reason (a button word alone) are not compared.
    live = [p for p in split_paragraphs("\n".join(texts)) if p.furniture in {None, "duplicate"}]
    assert [p.furniture == "duplicate" for p in live] == _duplicates_by_comparing_every_pair(
        [p.text for p in live]
    )
