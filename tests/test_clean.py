"""Page furniture stays out of the index; the article text stays in, at its offsets."""

import pytest

from retrieval.clean import split_paragraphs
from retrieval.config import BUNDLED_CORPUS_DIR


def _doc(name: str) -> str:
    return (BUNDLED_CORPUS_DIR / f"{name}.txt").read_text(encoding="utf-8")


def _kept_text(name: str) -> str:
    return "\n".join(p.text for p in split_paragraphs(_doc(name)) if p.kept)


@pytest.mark.parametrize(
    "name",
    [
        "000_2011a443d8c61b42",
        "001_941a35178b1cb8a2",
        "002_c21b3274f8c0af60",
        "003_ff37ad843cbdfbf5",
        "004_c80c06d5ecfa0c0e",
    ],
)
def test_every_paragraph_points_exactly_into_the_original(name):
    text = _doc(name)
    for p in split_paragraphs(text):
        assert text[p.start : p.end] == p.text


def test_teaser_list_before_the_article_is_dropped():
    kept = _kept_text("000_2011a443d8c61b42")
    assert "…" not in kept
    assert "کهن افسانه ها" not in kept  # a headline in the list, not cut off itself
    assert "رسول پویان" not in kept
    assert kept.startswith("روابط طالبان و پاکستان پس از فرار غنی یا سقوط کابل")


def test_repeated_paragraph_is_kept_once():
    kept = _kept_text("000_2011a443d8c61b42")
    assert kept.count("در این شکی نیست که داعش پدیدۀ سوری و عراقی است") == 1


def test_first_line_repeating_a_later_section_is_dropped():
    kept = _kept_text("001_941a35178b1cb8a2")
    assert kept.count("جنگ بین طالبان و داعش در ژانویه ۲۰۱۵ آغاز شد") == 1


def test_english_cms_furniture_is_dropped():
    kept = _kept_text("002_c21b3274f8c0af60")
    assert "Read More" not in kept
    assert "Inner related node field" not in kept
    assert "ولادیمیر پوتین" in kept


@pytest.mark.parametrize(
    "line",
    [
        "INNER RELATED NODE FIELD",
        "This Section Contains Relevant Reference Points for editors",
        "see: ınner related node fıeld",  # dotless ı matches i case-insensitively
        "thiſ ſection containſ relevant reference pointſ",  # long s matches s
    ],
)
def test_cms_boilerplate_is_found_in_any_case_the_pattern_matches(line):
    # Long paragraphs are only scanned for it when they hold one of its words: that
    # must never skip a line the case-insensitive pattern matches.
    assert [p.furniture for p in split_paragraphs(line)] == ["boilerplate"]


def test_share_print_comment_and_captcha_lines_are_dropped():
    paragraphs = split_paragraphs(_doc("003_ff37ad843cbdfbf5"))
    dropped = {p.text: p.furniture for p in paragraphs if not p.kept}
    assert dropped["Facebook Share"] == "button"
    assert dropped["طباعة عودة للأعلى"] == "button"
    assert dropped["اضافة تعليق"] == "button"
    assert dropped["* اكتب ناتج 6 + 9"] == "captcha"
    kept = "\n".join(p.text for p in paragraphs if p.kept)
    assert "مارك ميلي" in kept


def test_publisher_blurb_and_missing_figure_captions_are_dropped():
    kept = _kept_text("004_c80c06d5ecfa0c0e")
    assert "مركز مستقل" not in kept.replace("ُ", "").replace("ٌ", "").replace("ّ", "")
    assert "حقوق النشر" not in kept
    assert "bayancenter.org" not in kept
    assert "الشكل 1 - الدولة الإسلامية في أفغانستان وطالبان الأفغانية" not in kept
    assert "\nالشكل 2:" not in kept
    assert "warontherocks.com" not in kept  # the source line: it is in the manifest
    assert "تدخل حرب الدولة الإسلامية ضد طالبان" in kept


def test_clean_article_loses_nothing():
    text = "عنوان مقاله\n\nاین یک پاراگراف است. جمله دوم.\n\nپاراگراف دیگر با متن.\n"
    assert all(p.kept for p in split_paragraphs(text))
