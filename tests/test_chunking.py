"""Sentence-aware chunks with exact offsets and content-derived ids."""

import dataclasses
import itertools

from retrieval.chunking import chunk_paragraphs, estimate_tokens, split_sentences
from retrieval.clean import split_paragraphs
from retrieval.config import BUNDLED_CORPUS_DIR
from retrieval.sentence_split import sentence_spans


def _sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_splits_on_sentence_marks_of_all_three_languages():
    text = "جمله اول. جمله دوم؟ جملة ثالثة؛ رابعة! Fifth… sixth"
    assert _sentences(text) == [
        "جمله اول.",
        "جمله دوم؟",
        "جملة ثالثة؛",
        "رابعة!",
        "Fifth…",
        "sixth",
    ]


def test_does_not_split_on_arabic_comma_or_inside_numbers():
    text = "قیمت ۱۲.۵ دلار، یا 12.5 یا ۱۲٫۵ بود، نه کمتر. بعدی"
    assert _sentences(text) == ["قیمت ۱۲.۵ دلار، یا 12.5 یا ۱۲٫۵ بود، نه کمتر.", "بعدی"]


def test_initials_and_abbreviations_do_not_end_a_sentence():
    # A name with initials is quoted whole, not cut after «جی.کی.».
    text = (
        "هری پاتر مجموعه‌ای از هفت رمان نوشتهٔ جی.کی. رولینگ است. "
        "سميت الجادة باسم م. ثيو كيرني. J. K. Rowling lives in the U.S. now. Next one."
    )
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "هری پاتر مجموعه‌ای از هفت رمان نوشتهٔ جی.کی. رولینگ است.",
        "سميت الجادة باسم م. ثيو كيرني.",
        "J. K. Rowling lives in the U.S. now.",
        "Next one.",
    ]


def test_a_line_broken_inside_a_sentence_runs_on_however_much_white_space_surrounds_it():
    # Text laid out from a PDF: a long line stops mid-sentence and the next goes on.
    # Long runs of spaces at the line's end or the next line's start change nothing.
    first = "این جمله‌ای بسیار طولانی است که در یک سند اسکن شده آمده و در میان خود شکسته شده " * 2
    text = first.strip() + " " * 100 + "\n" + " " * 100 + "و اینجا ادامه می‌یابد. بعدی."
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert len(spans) == 2
    assert spans[0].startswith("این جمله")
    assert spans[0].endswith("ادامه می‌یابد.")
    assert spans[1] == "بعدی."
    short = "سطر کوتاه" + " " * 100 + "\n" + " " * 100 + "سطر بعدی."
    assert [short[a:b] for a, b in sentence_spans(short)] == ["سطر کوتاه", "سطر بعدی."]


def test_closing_quote_stays_with_its_sentence():
    assert _sentences("او گفت: «نه!» سپس رفت.") == ["او گفت: «نه!»", "سپس رفت."]


def _chunks(name: str, **kw):
    text = (BUNDLED_CORPUS_DIR / f"{name}.txt").read_text(encoding="utf-8")
    return text, chunk_paragraphs(text, split_paragraphs(text), doc_id=name, lang="ar", **kw)


def test_chunks_point_exactly_into_the_original_and_stay_in_bounds():
    text, chunks = _chunks("004_c80c06d5ecfa0c0e")
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert estimate_tokens(c.text) <= 350
    # Only a run's last piece may fall short of the minimum.
    assert sum(estimate_tokens(c.text) >= 150 for c in chunks) >= len(chunks) - 3


def test_consecutive_chunks_overlap_by_one_sentence():
    _, chunks = _chunks("004_c80c06d5ecfa0c0e")
    overlapping = [(a, b) for a, b in itertools.pairwise(chunks) if b.start < a.end]
    assert overlapping, "expected overlapping neighbours"
    for a, b in overlapping:
        shared = a.text[b.start - a.start :]
        assert len(split_sentences(shared)) == 1


def test_chunks_never_include_furniture():
    _, chunks = _chunks("003_ff37ad843cbdfbf5")
    assert all("Facebook" not in c.text and "اكتب ناتج" not in c.text for c in chunks)


def test_ids_derive_from_content_and_position():
    _, first = _chunks("002_c21b3274f8c0af60")
    _, again = _chunks("002_c21b3274f8c0af60")
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first)
    text = "متن تازه. " * 200
    other = chunk_paragraphs(text, split_paragraphs(text), doc_id="x", lang="fa")
    assert not {c.chunk_id for c in other} & {c.chunk_id for c in first}
    # A chunk remade with other text or offsets has its own id, even once the first
    # one's id was worked out (and kept).
    moved = dataclasses.replace(first[0], start=first[0].start + 1)
    assert moved.chunk_id != first[0].chunk_id
    assert dataclasses.replace(moved, start=first[0].start).chunk_id == first[0].chunk_id


def test_an_overlong_sentence_is_cut_between_words():
    text = "کلمه " * 1000 + "."
    chunks = chunk_paragraphs(text, split_paragraphs(text), doc_id="long", lang="fa")
    assert len(chunks) > 3
    assert all(estimate_tokens(c.text) <= 350 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)
