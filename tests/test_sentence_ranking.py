"""The answer-bearing sentence first: hand-made passages in fa, ar and en."""

from __future__ import annotations

import pytest

from retrieval.answer import Answerer
from retrieval.config import load_settings
from retrieval.index import SanadIndex
from retrieval.question import asks_for, carries, prepare_question


def _answerer(tmp_path, files: dict[str, str]) -> Answerer:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedding_model="none")
    index = SanadIndex(settings)
    index.ingest()
    return Answerer(index)


FA = (
    "حمله به تالار کروکوس\n\n"
    "حمله به تالار کروکوس در نزدیکی مسکو در بهار رخ داد و توجه جهان را به داعش خراسان جلب کرد. "
    "داعش خراسان مسئولیت حمله به تالار کروکوس را پذیرفت. "
    "در این حمله بیش از ۱۴۰ نفر کشته شدند. "
    "پیش از آن، حمله‌ای دیگر در کرمان رخ داده بود.\n"
)
AR = (
    "تنظيم الدولة في أفغانستان\n\n"
    "أعلن تنظيم الدولة الإسلامية في أفغانستان عن نفسه في أوائل عام 2015 وتوسع في ولاية ننكرهار. "
    "وكان حافظ سعيد خان أول والٍ للتنظيم في أفغانستان قبل أن يُقتل في غارة. "
    "وبعد سنوات عُيّن والٍ جديد للتنظيم في أفغانستان لقيادة عودته.\n"
)
EN = (
    "The founding of the museum\n\n"
    "The museum was founded by the city council after a long public debate about the museum. "
    "The museum opened its doors in 1852 with a small collection of paintings. "
    "Today the museum holds more than 2,000 paintings and sculptures.\n"
)


@pytest.fixture
def answerer(tmp_path):
    return _answerer(tmp_path, {"fa.txt": FA, "ar.txt": AR, "en.txt": EN})


def _first_quote(answerer: Answerer, question: str) -> str:
    answer = answerer.ask(question)
    assert not answer.abstained, answer.answer
    return answer.quoted()[0][1]


def test_how_many_question_quotes_the_sentence_with_the_number(answerer):
    assert "۱۴۰" in _first_quote(answerer, "در حمله به تالار کروکوس چند نفر کشته شدند؟")


def test_when_question_prefers_the_sentence_with_the_date(answerer):
    assert "1852" in _first_quote(answerer, "When did the museum open its doors?")


def test_how_many_answer_without_a_number_is_not_passed_off(answerer):
    """A "how many" question whose passages hold no number is declined, not answered
    with quotes that hold no number."""
    answer = answerer.ask("ما عدد مقاتلي تنظيم الدولة في ولاية ننكرهار؟")
    assert answer.abstained
    assert answer.citations == []


def test_who_question_quotes_the_sentence_with_the_distinctive_words(answerer):
    assert "حافظ سعيد خان" in _first_quote(answerer, "من كان أول والٍ للتنظيم في أفغانستان؟")


@pytest.mark.parametrize(
    "question",
    ["حمله به تالار کروکوس چه بود؟", "The founding of the museum", "تنظيم الدولة في أفغانستان"],
)
def test_a_headline_is_never_the_quote(answerer, question):
    answer = answerer.ask(question)
    for _, quote in answer.quoted():
        assert quote.strip() not in {
            "حمله به تالار کروکوس",
            "The founding of the museum",
            "تنظيم الدولة في أفغانستان",
        }


def test_a_line_break_inside_a_sentence_does_not_cut_the_quote(tmp_path):
    text = (
        "على الرغم من هذه الخسائر فقد نجح التنظيم في البقاء وإعادة توحيد صفوفه، وواصل تحالفاته "
        "الفعالة مع المجموعات الإقليمية الأخرى ذات الخبرة في التجنيد كما التحق\n\n"
        "الآلاف من مقاتلي حركة طالبان الباكستانية بالتنظيم في ولاية ننكرهار.\n"
    )
    answerer = _answerer(tmp_path, {"a.txt": text, "b.txt": AR})
    answer = answerer.ask("كم عدد مقاتلي طالبان الباكستانية الذين التحقوا بالتنظيم؟")
    assert not answer.abstained
    quote = answer.quoted()[0][1]
    assert "كما التحق" in quote
    assert "الآلاف" in quote
    assert "«الآلاف" not in answer.answer  # the quote does not start mid-sentence


def test_a_quote_cut_from_a_longer_sentence_is_marked(tmp_path):
    clauses = [f"وفي المرحلة رقم {i} جرى توسيع العمليات في منطقة جديدة" for i in range(1, 30)]
    long_sentence = "، ".join([*clauses, "وبلغ عدد المقاتلين 1500 شخص في نهاية المطاف"]) + ".\n"
    answerer = _answerer(tmp_path, {"a.txt": long_sentence, "b.txt": AR})
    answer = answerer.ask("كم بلغ عدد المقاتلين في نهاية المطاف؟")
    assert "1500" in answer.answer
    assert "«…" in answer.answer  # the quote starts inside the sentence


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("حمله کروکوس چند کشته داشت؟", "count"),
        ("كم عدد مقاتلي تنظيم الدولة؟", "count"),
        ("How many people died?", "count"),
        ("متى تأسس تنظيم داعش خراسان؟", "time"),
        ("جنگ میان طالبان و داعش چه زمانی آغاز شد؟", "time"),
        ("من هو أول والٍ لتنظيم الدولة؟", "person"),
        ("Who leads the group?", "person"),
        ("مقر این گروه کجاست؟", "place"),
        ("روسیه با طالبان چه رابطه‌ای دارد؟", None),
        ("من أفغانستان إلى باكستان", None),  # «من» as "from", not "who"
        # "The number of" asks for a count when it opens the question, not further in.
        ("عدد سكان كابل؟", "count"),
        ("تعداد کشته‌شدگان حمله کروکوس؟", "count"),
        ("ما هو عدد قصائد المتنبي؟", "count"),
        ("ما هي أكبر مدينة في فلوريدا من حيث عدد السكان؟", None),
        ("من سجل أعلى عدد من الأهداف هذا الموسم؟", "person"),
        ("کدام ولایت بیشترین تعداد پناهجو را دارد؟", None),
    ],
)
def test_what_a_question_asks_for(question, kind):
    assert asks_for(question) == kind


def test_numbers_and_dates_are_recognised_in_all_scripts():
    assert carries("count", "بیش از ۱۴۰ نفر")
    assert carries("count", "قتل ثلاثة أشخاص")
    assert not carries("count", "قتل عدد من الأشخاص")
    assert carries("time", "في أوائل عام 2015")
    assert carries("time", "در ژانویه رخ داد")
    assert not carries("time", "the museum opened its doors")
    assert carries("place", "در شهر بارسلون در منطقهٔ کاتالونیا قرار دارد")
    assert carries("place", "يقع في شمال المدينة")
    assert not carries("place", "موزه ملی هر سال هزاران بازدیدکننده دارد")


def test_a_figure_or_table_number_is_not_a_count():
    # A "how many" answer must carry a count, not a pointer into the document.
    assert not carries("count", "يوضِّح الشكل 1 عدد الاشتباكات والقتلى")
    assert not carries("count", "در جدول ۳ آمده است")
    assert carries("count", "وبلغ عددهم حوالي 1500 شخصاً")
    assert carries("count", "Table 4 lists 12 groups")


@pytest.mark.parametrize(
    "sentence",
    [
        "در روز ۳۱ مارس ۱۵۹۶ میلادی زاده شد.",
        "آتیلا (۴۰۵–۴۵۳ میلادی) رهبر هون‌ها بود.",
        "در سال‌های ۲۰۰۴ و ۲۰۰۵ برگزیده شد.",
        "ولد في 13 أكتوبر 1958 في المدينة.",
        "توفي سنة 1250 هـ.",
    ],
)
def test_a_date_is_not_a_count(sentence):
    # "How many sons…?" is not answered by a birth date or a life span.
    assert not carries("count", sentence)


@pytest.mark.parametrize(
    "sentence",
    ["به مدت ۱۵۰ سال ملک شخصی بود.", "بلغ ارتفاعه 300 م.", "وهو بسنّ العشرين عاماً عام 1996"],
)
def test_a_count_beside_a_date_word_is_still_a_count(sentence):
    assert carries("count", sentence)


class _Prefer:
    """A stand-in cross-encoder that scores 1 for sentences holding `needle`, else 0."""

    name = "prefer"

    def __init__(self, needle: str) -> None:
        self.needle = needle
        self.history: list[tuple[str, int]] = []

    def scores(self, question, texts):
        self.history.append((question, len(texts)))
        return [float(self.needle in t) for t in texts]


def test_a_reranker_re_scores_the_best_candidates(answerer):
    question = "When did the museum open its doors?"
    assert "2,000" not in _first_quote(answerer, question)
    answerer.reranker = _Prefer("2,000")
    assert "2,000" in _first_quote(answerer, question)
    assert answerer.reranker.history[0][0] == question


def test_an_unavailable_reranker_is_one_notice_and_changes_nothing(tmp_path):
    notices: list[str] = []
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "en.txt").write_text(EN, encoding="utf-8")
    (corpus / "fa.txt").write_text(FA, encoding="utf-8")
    settings = load_settings(
        data_dir=tmp_path / "data",
        corpus_dir=corpus,
        embedding_model="none",
        reranker_model=str(tmp_path / "no-such-model"),
    )
    index = SanadIndex(settings, notify=lambda n: notices.append(n.render("en")))
    answerer = Answerer(index)
    assert answerer.reranker is None
    assert len(notices) == 1
    assert "SANAD_RERANKER_MODEL" in notices[0]
    answer = answerer.ask("When did the museum open its doors?")
    assert "1852" in answer.quoted()[0][1]


# Each: a hand-made passage, a question, and what its first quote must hold.
_FIRST_QUOTE_CASES = {
    # The opening sentence names the person; the answer comes later, as «وی».
    "a later sentence about the subject beats the opening that names it": (
        "فرهاد مجیدی بازیکن پیشین فوتبال و مربی اهل ایران است و سال‌ها در باشگاه استقلال بازی کرد.\n\n"
        "وی در محله‌ای در جنوب تهران به دنیا آمد و فوتبال را در کوچه آغاز کرد. "
        "او بعدها به تیم ملی راه یافت و در چند جام بازی کرد.\n",
        "فرهاد مجیدی در کجا به دنیا آمده است؟",
        "تهران",
    ),
    # «باغ‌ها» in the question, «باغ» in the answer: too short for a shared prefix.
    "a plural still matches the singular": (
        "کابل شهری کهن با بازارها و کوچه‌های قدیمی است.\n\n"
        "بازارهای کابل در سال ۱۹۹۲ ساخته و ویران شدند. "
        "باغ بابر در سال ۱۵۲۸ در کابل ساخته شد.\n",
        "باغ‌های کابل کی ساخته شد؟",
        "۱۵۲۸",
    ),
    # Both sentences carry a number; the first shares more of the question's words,
    # the second counts what is asked («کشته»).
    "how many prefers the number of the thing counted": (
        "حمله به تالار کروکوس\n\n"
        "حمله به تالار کروکوس در نزدیکی مسکو ۱۳ دقیقه طول کشید و چهار مهاجم در آن "
        "شرکت داشتند. پس از آن، مقامات از بیش از ۱۴۰ کشته خبر دادند.\n",
        "حمله به تالار کروکوس چند کشته داشت؟",
        "۱۴۰ کشته",
    ),
    # Both sentences hold the question's words; the second says where («در خیابان…
    # قرار دارد»), the first says something else about it.
    "where prefers the sentence that places it": (
        "موزه ملی هر سال میزبان هزاران بازدیدکننده از سراسر جهان است. "
        "موزه ملی در خیابان سی تیر تهران قرار دارد.\n",
        "موزه ملی کجاست؟",
        "سی تیر",
    ),
    "where prefers the sentence that places it, in Arabic": (
        "يستقبل المتحف الوطني آلاف الزوار من أنحاء العالم كل عام. "
        "المتحف الوطني في وسط مدينة الرياض قرب قصر المربع.\n",
        "أين المتحف الوطني؟",
        "الرياض",
    ),
}


@pytest.mark.parametrize("case", list(_FIRST_QUOTE_CASES))
def test_the_answer_bearing_sentence_is_quoted_first(tmp_path, case):
    text, question, held = _FIRST_QUOTE_CASES[case]
    answerer = _answerer(tmp_path, {"passage.txt": text})
    assert held in _first_quote(answerer, question)


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("حمله کروکوس چند کشته داشت؟", "کشته"),
        ("چند تا خلبان دارد؟", "خلبان"),
        ("چه تعداد سرباز کشته شدند؟", "سرباز"),
        ("كم عدد الجسور في مدينة وارسو؟", "جسور"),
        ("كم كان سعر التذكرة؟", "سعر"),
        ("How many bridges does Warsaw have?", "bridges"),
        ("How much did the ticket cost?", None),
        ("متى تأسس التنظيم؟", None),
    ],
)
def test_what_a_how_many_question_counts(question, counted):
    assert prepare_question(question, 500).counted == counted
