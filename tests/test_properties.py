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
