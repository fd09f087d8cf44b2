"""The search key folds what a reader does not see as different spellings."""

import pytest

from retrieval.normalize import search_key, tokenize


def test_zwnj_joined_and_spaced_verb_forms_share_one_key():
    assert search_key("میرسید") == search_key("می\u200cرسید") == search_key("می رسید")


def test_plural_suffix_written_apart_matches_joined():
    assert search_key("کشور ها") == search_key("کشورها") == search_key("کشور\u200cها")


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("علي", "علی"),  # Arabic yeh
        ("مصطفى", "مصطفی"),  # alef maksura
        ("كابل", "کابل"),  # Arabic kaf
        ("أفغانستان", "افغانستان"),
        ("إسلام", "اسلام"),
        ("آسیا", "اسیا"),
        ("ٱلله", "الله"),
        ("الدولة", "الدوله"),  # teh marbuta
        ("خانۀ", "خانه"),  # heh with yeh above
    ],
)
def test_letter_forms_fold(variant, canonical):
    assert search_key(variant) == search_key(canonical)


def test_diacritics_tatweel_and_superscript_alef_are_removed():
    assert search_key("مُحَمَّدٌ") == search_key("محمد")
    assert search_key("طــالبان") == search_key("طالبان")
    assert search_key("هٰذا") == search_key("هذا")


def test_eastern_digits_become_ascii():
    assert search_key("۱۴۰ و ١٥٠٠ و ۱۲٫۵") == "140 و 1500 و 12.5"


def test_presentation_forms_are_folded_by_nfkc():
    assert search_key("\ufedf\ufe8e") == search_key("لا")


def test_display_text_is_untouched_by_tokenizing():
    text = "می‌رسید"
    tokenize(text)
    assert text == "می\u200cرسید"


def test_tokens_drop_question_words_and_strip_arabic_article():
    tokens = tokenize("ما هي الأقليات التي استهدفها التنظيم؟")
    assert "ما" not in tokens
    assert "التی" not in tokens
    assert "اقلیات" in tokens  # الأقليات with the article stripped, in key form
    assert "تنظیم" in tokens


def test_spoken_and_joined_question_words_are_not_search_tokens():
    # Typed as people speak («کدوم», «چیه», «میکنه») or joined and misspelt («بماذا»,
    # «اللتي»): the corpus never holds them, so as tokens they would weigh most.
    assert tokenize("فیفا کدوم ورزش رو اداره می کنه؟") == tokenize("فیفا ورزش اداره")
    assert tokenize("قطب نما های جدید اسمشون چیه؟") == tokenize("قطب نما های جدید اسمشون")
    assert tokenize("بماذا ينصح الأطباء اللتي") == tokenize("ينصح الأطباء")
    # «ماهی» is the Persian for fish, not only «ما هي» written joined.
    assert tokenize("کدام بخش از بدن پری دریایی ماهی است؟") == tokenize("بخش بدن پری دریایی ماهی")
