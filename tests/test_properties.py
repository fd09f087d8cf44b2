"""Property-based tests of the text machinery, on random Unicode with Arabic script,
ZWNJ/ZWJ, bidi controls, byte-order marks, emoji and combining marks."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import retrieval.language
import retrieval.normalize
from retrieval.chunking import _PIECE, count_pieces
from retrieval.clean import _trimmed
from retrieval.language import detect_language, language_signals
from retrieval.lexical import LexicalIndex
from retrieval.normalize import (
    _PREFIX_GAP,
    _SUFFIX_GAP,
    _WORD,
    _join_prefix,
    _join_suffix,
    _single_spaced,
    key_words,
    search_key,
    tokenize,
)
from retrieval.quantize import Int8Rows
from retrieval.ranked import best_first
from retrieval.sentence_split import _SENTENCE_END, sentence_spans
from retrieval.sentences import SentenceEvidence

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


#: What joining Persian affixes means, said plainly: the fast patterns (letters first,
#: the word before checked in Python) must do exactly this.
_PLAIN_PREFIX_GAP = re.compile(r"(?<!\w)(ن?می) (?=\w)")
_PLAIN_SUFFIX_GAP = re.compile(r"(?<=\w) (ها|های|هایی|هائی|ترین|تری|تر)(?!\w)")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.lists(
            st.sampled_from(["نمی", "می", "ها", "ترین", "تر", "ک", "«", "_", "1", " ", " "])
        ).map("".join),
        text_strategy,
    )
)
@example("نمی رود و «می رسد» کمی دیر؛ کتاب ها بزرگ ترین")
def test_persian_affixes_are_joined_as_the_plain_patterns_join_them(text):
    assert _PREFIX_GAP.sub(_join_prefix, text) == _PLAIN_PREFIX_GAP.sub(r"\1", text)
    assert _SUFFIX_GAP.sub(_join_suffix, text) == _PLAIN_SUFFIX_GAP.sub(r"\1", text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(text_strategy, st.text(alphabet=_HARD + "_\u00a0\u2028\u3000\x1c", max_size=60)))
def test_pieces_are_counted_as_the_pattern_finds_them(text):
    assert count_pieces(text) == len(_PIECE.findall(text))


def test_a_word_of_letters_and_digits_is_one_piece_for_every_character():
    # Between two letters, any character but white space: a word character keeps
    # the three one piece (the count reads such words without the pattern), anything
    # else makes three. Any character counted differently changes the total.
    chars = (chr(c) for c in range(0x110000))
    text = " ".join(f"a{c}a" for c in chars if not c.isspace())
    assert count_pieces(text) == len(_PIECE.findall(text))


@settings(max_examples=500, deadline=None)
@given(st.one_of(text_strategy, st.text(alphabet="ab \u00a0\u2028\u3000\x1c\x85\t", max_size=12)))
def test_single_spaced_text_is_found_as_splitting_and_joining_would(text):
    # Text with other unprintable characters (a joiner) is split and joined anyway.
    single = " ".join(text.split()) == text
    assert _single_spaced(text) == (single and text.isprintable())


def test_no_white_space_but_the_ascii_space_is_printable():
    # What `_single_spaced` relies on to skip splitting: read for every character.
    chars = map(chr, range(0x110000))
    assert [c for c in chars if c.isspace() and c.isprintable()] == [" "]


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


_RUNS = st.text(alphabet="ابپتکگی\u200cx", min_size=200, max_size=3000)  # no white space


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(text_strategy, _RUNS), min_size=1, max_size=8),
    st.booleans(),
    st.integers(min_value=20, max_value=120),
)
def test_every_chunk_is_its_slice_of_the_file_and_bounded(pieces, bom, max_tokens):
    """What a user checks a citation against: the file's own characters, in a passage of
    bounded size whatever the text (runs without white space included)."""
    import tempfile
    from pathlib import Path

    from retrieval.chunking import chunk_paragraphs, max_chunk_chars
    from retrieval.corpus import read_document

    raw = ("\ufeff" if bom else "") + "\n".join(pieces)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "doc.txt"
        file.write_bytes(raw.encode("utf-8", "surrogatepass"))
        try:
            doc = read_document(file)
        except UnicodeDecodeError:
            return  # lone surrogates are not UTF-8: refused, as uploads are
        original = file.read_bytes().decode("utf-8")
    chunks = chunk_paragraphs(
        doc.text, doc.paragraphs, doc_id="d", lang="fa", min_tokens=10, max_tokens=max_tokens
    )
    for c in chunks:
        assert original[c.start : c.end] == c.text
        assert len(c.text) <= max_chunk_chars(max_tokens)


_MARKUP_PIECE = st.one_of(
    st.text(alphabet=_HARD + "<>&\"'", max_size=300),
    st.text(alphabet="ابپت", min_size=500, max_size=5000),  # no break at all
    st.just("\n\n"),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["", "b", "i", "blockquote"]), _MARKUP_PIECE), max_size=12),
    st.integers(min_value=30, max_value=4096),
)
def test_split_messages_fit_the_limit_and_are_valid_html(pieces, limit):
    """Whatever a passage holds, each message is valid Telegram HTML within the limit,
    and together they show all of it (less the white space a cut falls on)."""
    from bot.render import escape_text, split_html, to_plain, utf16_len
    from tests.fake_telegram import parse_html

    markup = "".join(
        f"<{tag}>{escape_text(text, 'fa')}</{tag}>" if tag else escape_text(text, "fa")
        for tag, text in pieces
    )
    parts = split_html(markup, limit)
    shown = ""
    for part in parts:
        text, _, error = parse_html(part)
        assert error is None
        assert utf16_len(text) <= limit
        shown += text
    assert "".join(shown.split()) == "".join(to_plain(markup).split())


_CONTROLS = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x85\x9f"


@settings(max_examples=300, deadline=None)
@given(st.one_of(text_strategy, st.text(alphabet=_HARD + _CONTROLS + "<>&", max_size=60)))
def test_escaped_text_reads_back_as_the_text_without_control_characters(text):
    """Escaping round-trips; NUL, BEL and their kind never reach Telegram."""
    import unicodedata

    from bot.render import escape_text, printable
    from tests.fake_telegram import parse_html

    markup = escape_text(text, "fa")
    visible, _, error = parse_html(markup)
    assert error is None
    assert all(unicodedata.category(ch) != "Cc" for ch in visible if ch not in "\n\t")
    marks = str.maketrans("", "", "\u200e\u200f\u2066\u2067\u2068\u2069")
    assert visible.translate(marks) == printable(text).translate(marks)
    assert printable(text).translate(marks) == "".join(
        ch
        for ch in text.replace("\r\n", "\n").replace("\r", "\n")
        if unicodedata.category(ch) != "Cc" or ch in "\n\t"
    ).translate(marks)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 4), max_size=6),
    st.lists(st.text(alphabet="abc", min_size=1, max_size=3), max_size=4),
    st.integers(0, 2**32 - 1),
)
def test_sentence_similarities_at_once_match_one_chunk_at_a_time(sizes, asked, seed):
    # The dense search scores every candidate's best sentence in one product; it must
    # give each chunk what scoring it alone gives (chunks without sentences, or not in
    # the evidence, get None).
    spans = {f"c{i}": [(j, j + 1) for j in range(n)] for i, n in enumerate(sizes)}
    rows = sum(sizes)
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, 8)).astype(np.float16)
    evidence = SentenceEvidence(spans, [frozenset()] * rows, vectors, "m")
    query = rng.standard_normal(8).astype(np.float32)
    chunk_ids = [*spans, *asked]
    together = evidence.best_similarities(chunk_ids, query)
    firsts = dict(zip(spans, np.cumsum([0, *sizes]).tolist(), strict=False))
    assert evidence.quantized is not None
    stored = evidence.quantized
    alone = [
        float((stored.rows(slice(firsts[c], firsts[c] + len(spans[c]))) @ query).max())
        if spans.get(c)
        else None
        for c in chunk_ids
    ]
    assert [x is None for x in together] == [x is None for x in alone]
    assert np.allclose(
        [x for x in together if x is not None], [x for x in alone if x is not None], atol=1e-4
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 64), st.integers(0, 2**32 - 1))
def test_int8_sentence_vectors_score_within_their_rounding_and_round_trip(rows, dim, seed):
    # Sentence vectors are held as int8 codes with a scale per row. Each score is off
    # by at most half a step per component, and the float16 form a shared catalogue
    # keeps quantizes back to the very same codes (replicas score exactly alike).
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    vectors[rng.random(rows) < 0.1] = 0.0  # an empty sentence's vector
    query = rng.standard_normal(dim).astype(np.float32)
    held = Int8Rows.quantize(vectors)
    exact = vectors @ query
    bound = np.abs(query).sum() * np.abs(vectors).max(axis=1) / 254 * 1.001 + 1e-5
    assert np.all(np.abs(held.dot(list(range(rows)), query) - exact) <= bound)
    again = Int8Rows.quantize(held.as_float16())
    assert np.array_equal(again.codes, held.codes)
    assert np.array_equal(again.as_float16(), held.as_float16())


@settings(max_examples=300, deadline=None)
@given(text_strategy, st.sampled_from([" ", "\n", "\t"]))
def test_language_signals_are_their_tokens_signals_seen_first_or_again(text, gap):
    # Each white-space-separated token's signals are worked out once and kept: a text
    # counts the same whether its tokens are new, already kept, or too long to keep.
    retrieval.language._PACKED.clear()
    first = language_signals(text)
    assert language_signals(text) == first
    tokens = text.split()
    total = retrieval.language.LanguageSignals()
    for token in tokens:
        total += language_signals(token)
    assert total == first
    long = gap.join(
        t * (1 + retrieval.language._PACKED_TOKEN_CHARS // max(1, len(t))) for t in tokens
    )
    retrieval.language._PACKED.clear()
    cold = language_signals(long)
    assert cold == language_signals(long)
    assert all(len(t) <= retrieval.language._PACKED_TOKEN_CHARS for t in retrieval.language._PACKED)


#: Where a sentence ends, said plainly: the fast pattern (a character class first, so
#: the engine skips to the next mark in C) must match exactly this.
_PLAIN_SENTENCE_END = re.compile(r"(?:(?<!\d)\.(?!\d)|[!?؟؛…])+[\"'»”’)\]]*(?=\s|$)")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.lists(
            st.sampled_from(
                ["1", "۲", ".", "..", "!", "?", "؟", "؛", "…", "»", ")", "'", " ", "\n", "a", "ب"]
            )
        ).map("".join),
        text_strategy,
    )
)
def test_sentence_end_pattern_matches_what_its_plain_form_matches(text):
    fast = [m.span() for m in _SENTENCE_END.finditer(text)]
    assert fast == [m.span() for m in _PLAIN_SENTENCE_END.finditer(text)]


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.lists(
            st.sampled_from(
                [
                    *"بپکيكةـ\u064e\u0670\u200c\u200d\ufeff1۱ .!?؟؛…»”)\"'،",
                    "می ",
                    " ها",
                    "نمی ",
                    " ترین",
                    "´",
                    "\u00a0",
                    "\u3000",
                    "\x1c",
                    "\u2028",
                    "Σ",
                    "ς",
                    "ﬁ",
                    "U.S.",
                    "\t",
                ]
            )
        ).map("".join),
        text_strategy,
    ).map(lambda t: t.replace("\n", " ").strip())
)
def test_a_paragraphs_key_words_are_its_sentences_key_words(paragraph):
    # An ingest normalizes each sentence once and builds a paragraph's words (for
    # duplicate marking) from its sentences': no step of the key may join or change
    # text across the white space after a sentence's closing mark.
    from_sentences = [w for a, b in sentence_spans(paragraph) for w in key_words(paragraph[a:b])]
    assert from_sentences == key_words(paragraph)


#: Tokens whose key joins a neighbour's, or that NFKC spells as several words («﷽»,
#: «´»), between letters, marks that fold away and white space of every kind.
_JOINING_TEXT = st.lists(
    st.sampled_from(
        [
            *"بپکيكةـ\u064e\u0670\u200c\u200d\ufeff1۱ .!«»،",
            "می",
            "نمی",
            "ها",
            "های",
            "ترین",
            "تر",
            "کمی",
            "\ufdfd",
            "´",
            "\u00a0",
            "\u3000",
            "\u2028",
            "\x1c",
            "\t",
            "x" * 70,
        ]
    )
).map("".join)


@settings(max_examples=800, deadline=None)
@given(st.one_of(_JOINING_TEXT, text_strategy))
def test_key_words_are_the_words_of_the_search_key(text):
    # key_words is made from its tokens' keys, worked out once each: it must find
    # the words the key of the whole text has, the first time and once they are known.
    expected = _WORD.findall(search_key(text))
    assert key_words(text) == expected
    assert key_words(text) == expected


def test_key_words_hold_when_the_known_tokens_are_started_anew(monkeypatch):
    monkeypatch.setattr(retrieval.normalize, "_TOKEN_KEYS_MAX", 3)
    texts = ["کتاب ها را می خواند", "بزرگ ترین شهر", "نمی دانم که کمی دیر است", "﷽ و می رود"]
    for text in texts * 2:
        assert key_words(text) == _WORD.findall(search_key(text))


_PLAIN_TRIMMED = re.compile(r"[\s\ufeff]*(.*?)[\s\ufeff]*", re.DOTALL)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.lists(st.sampled_from(["\ufeff", " ", "\u3000", "\t", "a", "ب", "\u200c"])).map("".join),
        text_strategy,
    )
)
def test_a_paragraph_is_trimmed_of_white_space_and_byte_order_marks_as_said_plainly(line):
    plain = _PLAIN_TRIMMED.fullmatch(line)
    assert plain is not None
    assert _trimmed(line) == (plain.start(1), plain.group(1))


@settings(max_examples=300, deadline=None)
@given(text_strategy, text_strategy)
def test_language_signals_add_up_over_text_split_between_words(left, right):
    # A document's language is found from its passages' signals: that is only the
    # language of its whole text if counts over two parts add up to the whole's.
    whole = f"{left}\n{right}"
    assert language_signals(whole) == language_signals(left) + language_signals(right)
    assert language_signals(whole).language() == detect_language(whole)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_WORDS), max_size=14), max_size=25))
def test_document_frequencies_count_the_texts_that_hold_each_token(texts):
    # Read off bm25s's score matrix at ingest, not counted a second time: must be
    # what counting would give, a text with no tokens and a repeated token included.
    lexical = LexicalIndex.from_tokens([f"c{i}" for i in range(len(texts))], texts)
    assert lexical.df == dict(Counter(token for tokens in texts for token in set(tokens)))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=-3, max_value=3), min_size=0, max_size=40),
    st.integers(min_value=0, max_value=50),
)
def test_the_k_best_are_a_full_sort_cut_at_k_with_ties_in_index_order(scores, k):
    # Few distinct scores, so most draws have ties, at the cut too: both searches
    # (keyword and exact dense) rank equal scores alike, whatever k.
    row = np.asarray(scores, dtype=np.float32)
    got = best_first(row, k).tolist()
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    assert len(got) == min(k, len(scores))
    assert [scores[i] for i in got] == [scores[i] for i in ranked[: len(got)]]
    for a, b in itertools.pairwise(got):
        assert scores[a] > scores[b] or (scores[a] == scores[b] and a < b)


#: Lines as sources lay them out: prose lines ending in a mark, long lines broken
#: mid-sentence (a PDF's), headings, initials, decimals, indents and byte-order marks.
_LINE_PIECES = st.sampled_from(
    [
        "جنگ میان طالبان و داعش آغاز شد.",
        "J. K. Rowling wrote it in 1997. The rate was 12.5 percent!",
        "و در سال ۲۰۱۵ شاخه خراسان اعلام شد؟ «این» گفت.»",
        "فصل اول",
        "   ",
        "\ufeff",
        "م. ثيو كيرني",
        " ".join(["کلمه"] * 30),  # a long line ending in a letter: runs on
        " ".join(["word"] * 25) + ".",
        "…",
        "\ufeffمتن اول",
        "ب" * 700,  # a sentence longer than a chunk: cut into pieces
    ]
)
_LINES = st.lists(
    st.lists(_LINE_PIECES, min_size=1, max_size=4).map(" ".join), min_size=1, max_size=14
)


@settings(max_examples=300, deadline=None)
@given(_LINES, st.sampled_from(["\n", "\n\n", "\n  "]), st.integers(min_value=16, max_value=80))
def test_chunks_sentences_read_line_by_line_are_what_reading_the_chunk_gives(
    lines, gap, max_tokens
):
    """An ingest takes a chunk's sentences from its paragraphs' (found once, while
    cleaning) wherever no line can run on into the next: the chunks and their
    sentences must be what splitting each run, and each chunk, afresh gives."""
    from unittest.mock import patch

    import retrieval.chunking as chunking
    from retrieval.clean import split_paragraphs

    text = gap.join(lines)
    paragraphs = split_paragraphs(text)
    kw = {"doc_id": "d", "lang": "fa", "min_tokens": 8, "max_tokens": max_tokens}
    found = chunking.chunk_with_sentences(text, paragraphs, **kw)

    def whole_run(original, run, *_):  # each run's text read afresh, no chunk's known
        start = run[0].start
        return chunking.split_sentences(original[start : run[-1].end], start), [(0, len(original))]

    with patch.object(chunking, "_run_sentences", whole_run):
        afresh = chunking.chunk_with_sentences(text, paragraphs, **kw)
    assert [f.chunk for f in found] == [f.chunk for f in afresh]
    assert all(f.known is None for f in afresh)
    for chunk, known, parts in found:
        assert known is None or known == sentence_spans(chunk.text)
        if parts is not None:  # the chunk's text but for white space (and marks alone)
            assert _visible(chunk.text) == "".join(_visible(chunk.text[a:b]) for a, b in parts)


def _visible(text: str) -> str:
    """`text` without its white space and byte-order marks."""
    return "".join(text.replace("\ufeff", " ").split())
