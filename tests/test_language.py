"""Language detection on documents and on short questions."""

import pytest

from retrieval.config import BUNDLED_CORPUS_DIR
from retrieval.language import detect_language


@pytest.mark.parametrize(
    "question",
    [
        "من قاد تنظيم الدولة في خراسان؟",
        "متى انسحبت القوات الأمريكية من أفغانستان؟",
        "هل تتعاون طالبان مع روسيا؟",
        "كم عدد الهجمات في باكستان؟",
        "ماذا قال بوتين عن طالبان؟",
    ],
)
def test_short_arabic_questions_are_arabic(question):
    assert detect_language(question) == "ar"


@pytest.mark.parametrize(
    "question",
    [
        "طالبان با کدام کشور رابطه دارند؟",
        "پوتین درباره طالبان چه گفت؟",
        "چرا داعش در افغانستان قوی شد؟",
        "رئیس آی اس آی کی به کابل رفت؟",
        "درگيري در ولايت زابل كي آغاز شد؟",  # Persian typed with Arabic ي and ك
        "داعش خراسان چه می‌خواهد؟",
    ],
)
def test_short_persian_questions_are_persian(question):
    assert detect_language(question) == "fa"


@pytest.mark.parametrize(
    "question",
    ["د طالبانو مشر څوک دی؟", "زما یو سم تحلیل چې غلط ثابت شو", "طالبان ولې کابل ته راغلل؟"],
)
def test_pashto_is_its_own_language(question):
    assert detect_language(question) == "ps"


@pytest.mark.parametrize(
    "question",
    [
        "اولین والی داعش خراسان",  # no function word: Persian ی decides
        "داعش خراسان",
        "والی جدید",
        "رهبر گروه",  # گ is Persian only
        "کابل",
        "نخستین رهبر طالبان",
    ],
)
def test_very_short_persian_phrases_are_persian(question):
    assert detect_language(question) == "fa"


@pytest.mark.parametrize(
    "question",
    [
        "والي داعش",  # Arabic ي
        "أول والٍ للتنظيم",
        "عدد الأبراج علی دائرة البروج",  # Arabic typed with a Persian ی here and there
        "مقاتلي طالبان",
        "تنظيم الدولة",
    ],
)
def test_very_short_arabic_phrases_are_arabic(question):
    assert detect_language(question) == "ar"


@pytest.mark.parametrize(
    "text", ["", "   ", "؟؟", "123", "\u200c\u200f", "😀", "ـــ", "\ufeff", "a\u0301"]
)
def test_detection_never_raises(text):
    assert detect_language(text) in {"fa", "ar", "ps", "ur", "en", "und"}


def test_english_and_mixed_script_questions():
    assert detect_language("When did the war between the Taliban and ISIS begin?") == "en"
    assert detect_language("What does the article say about طالبان and Pakistan?") == "en"
    assert detect_language("۱۲۳ ...") == "und"


@pytest.mark.parametrize(
    ("doc", "lang"),
    [
        ("000_2011a443d8c61b42", "fa"),  # Dari, with a few Pashto headlines
        ("001_941a35178b1cb8a2", "fa"),
        ("002_c21b3274f8c0af60", "fa"),
        ("003_ff37ad843cbdfbf5", "ar"),
        ("004_c80c06d5ecfa0c0e", "ar"),
    ],
)
def test_bundled_documents(doc, lang):
    text = (BUNDLED_CORPUS_DIR / f"{doc}.txt").read_text(encoding="utf-8")
    assert detect_language(text) == lang
