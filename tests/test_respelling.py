"""A question spelled otherwise than the corpus: typos (a word the corpus never holds,
one edit from one it does), Persian compounds written joined or spaced, and spoken
Persian words where written text uses others."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.answer import Answerer
from retrieval.config import load_settings
from retrieval.index import SanadIndex
from retrieval.lexical import LexicalIndex
from retrieval.normalize import search_key
from retrieval.question import prepare_question
from retrieval.search import search

MAURITANIA = (
    "تقع موريتانيا في شمال غرب أفريقيا على شاطئ المحيط الأطلسي، وعاصمتها نواكشوط. "
    "يحدها من الشمال المغرب والجزائر، ومن الجنوب السنغال."
)
SENEGAL = (
    "تقع السنغال في غرب أفريقيا. تقع داكار، عاصمة السنغال، على المحيط الأطلسي، "
    "وتقع مدن كثيرة على نهر السنغال."
)
HOSPITAL = (
    "يحتاج المريض إلى الراحة بعد العملية، ويزور الطبيب المريض كل صباح. "
    "غرفة المريض في الطابق الثاني من المستشفى."
)


@pytest.fixture
def index(tmp_path: Path) -> SanadIndex:
    return _keyword_index(
        tmp_path, {"mauritania": MAURITANIA, "senegal": SENEGAL, "hospital": HOSPITAL}
    )


def _keyword_index(tmp_path: Path, texts: dict[str, str]) -> SanadIndex:
    """A keyword-only index of one file per text, named by its key."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in texts.items():
        (corpus / f"{name}.txt").write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    settings = load_settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedding_model="none")
    return SanadIndex(settings)


def test_a_misspelled_name_finds_its_passage(index):
    # «موريطانيا» for «موريتانيا»: without respelling only «تقع» matches, and the
    # Senegal page has it three times.
    response = search(index, "أين تقع موريطانيا؟", k=3)
    assert response.results[0].chunk.doc_id == "mauritania"
    assert search_key("موريتانيا") in response.question.tokens


def test_a_near_word_with_another_meaning_is_still_declined(index):
    # «المريخ» (Mars) is one letter from «المريض» (the patient): the search may look
    # there, but a respelled word counts only half towards the verdict, so it declines.
    answer = Answerer(index).ask("ما هو المريخ؟")
    assert answer.abstained
    assert not answer.citations


def test_respelling_keeps_known_words_numbers_and_short_words():
    lexical = LexicalIndex.build(
        ["a", "b", "c"],
        ["موريتانيا بلد عربي", "موريتانيا وعاصمتها نواكشوط", "الموريتاني 2015 دار"],
    )
    key = search_key
    # The commonest token one edit away: «موريتانيا» (2 chunks), not a rarer one.
    assert lexical.respell([key("موريطانيا")]) == (key("موريتانيا"),)
    assert lexical.respell([key("نواكشوط")]) == (key("نواكشوط"),)  # known
    assert lexical.respell(["2016"]) == ("2016",)  # a number must match exactly
    assert lexical.respell([key("دور")]) == (key("دور"),)  # short: «دار» is too easy a match
    assert lexical.respell([key("قيرغيزستان")]) == (key("قيرغيزستان"),)  # nothing near


def test_a_script_few_of_the_corpus_words_use_is_not_respelled():
    # One Latin name among Arabic words: an English question's words are not turned
    # into it («unitd» stays), while Arabic typos still are.
    football = "نادي مانشستر يونايتد الإنجليزي لكرة القدم united"
    lexical = LexicalIndex.build(["a", "b", "c"], [MAURITANIA, SENEGAL, football])
    assert lexical.respell(["unitd"]) == ("unitd",)
    assert lexical.respell([search_key("مانشيستر")]) == (search_key("مانشستر"),)
    # The same name in an English corpus is respelled.
    english = LexicalIndex.build(["a"], ["Manchester United is an English football club"])
    assert english.respell(["unitd"]) == ("united",)


def _one_edit_apart(a: str, b: str) -> bool:
    """Damerau distance exactly 1, by hand: the property's own yardstick."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@given(
    vocabulary=st.lists(st.text("ابتثجحخد", min_size=3, max_size=8), min_size=1, max_size=30),
    token=st.text("ابتثجحخد", min_size=5, max_size=8),
)
def test_a_respelled_token_is_one_edit_from_a_word_the_corpus_holds(vocabulary, token):
    lexical = LexicalIndex.build([str(i) for i in range(len(vocabulary))], vocabulary)
    (respelled,) = lexical.respell([token])
    if token in lexical.df:
        assert respelled == token
    elif respelled != token:
        assert respelled in lexical.df
        assert _one_edit_apart(token, respelled)
    else:  # left alone only when nothing in the corpus is one edit away
        assert not any(_one_edit_apart(token, word) for word in lexical.df)


def test_a_misspelled_question_is_answered_from_its_passage(index):
    # The verdict is reached on the words that found the passage: judged on the typed
    # «موريطانيا», which no passage holds, the question would be declined.
    answer = Answerer(index).ask("ما هي عاصمة موريطانيا؟")
    assert not answer.abstained
    assert answer.citations[0].result.chunk.doc_id == "mauritania"
    assert "نواكشوط" in answer.answer


TIME = (
    "مجله تایم یک مجله خبری هفته‌نامه آمریکایی است که در نیویورک منتشر می‌شود.\n"
    "سردبیر این مجله ادوارد فلسنتال است.\n"
)
LIBRARY = "کتاب خانه ملی ایران در تهران است. این کتاب خانه میلیون‌ها کتاب دارد.\n"
TEHRAN = "تهران پایتخت ایران است و دانشگاه تهران در این شهر است.\n"


@pytest.fixture
def persian(tmp_path: Path) -> SanadIndex:
    return _keyword_index(tmp_path, {"time": TIME, "library": LIBRARY, "tehran": TEHRAN})


def test_a_compound_asked_with_a_space_finds_the_joined_word(persian):
    # «سر دبیر» asked, «سردبیر» written: without the joined word, the opening
    # sentence (two of the question's words) is quoted instead of the editor's name.
    answer = Answerer(persian).ask("سر دبیر مجله تایم کیست؟")
    assert not answer.abstained
    assert "ادوارد فلسنتال" in answer.quoted()[0][1]


def test_a_compound_asked_joined_finds_the_spaced_words(persian):
    response = search(persian, "کتابخانه ملی کجاست؟", k=3)
    assert response.results[0].chunk.doc_id == "library"
    assert {"کتاب", "خانه"} <= set(response.question.tokens)


def test_a_compound_asked_with_a_space_is_answered_alone(persian):
    # Judged on «سر» and «دبیر», which the corpus never writes apart, the question
    # would hold none of its words; it is judged on «سردبیر», as searched.
    answer = Answerer(persian).ask("سر دبیر آن کیست؟")
    assert not answer.abstained
    assert "ادوارد فلسنتال" in answer.quoted()[0][1]


def test_a_follow_up_compound_is_read_as_the_corpus_writes_it(tmp_path, persian):
    # A stricter keyword bar, so that the follow-up alone («its editor?») is declined
    # and is answered only when read after the previous question; its own words must
    # then be found in the passages, and «سر دبیر» is found there as «سردبیر».
    settings = persian.settings.model_copy(update={"decline_lexical": 0.6})
    answerer = Answerer(SanadIndex(settings))
    follow_up = "سر دبیر آن کیست؟"
    assert answerer.ask(follow_up).abstained
    answer = answerer.ask(follow_up, history=[("مجله تایم چیست؟", "…")])
    assert not answer.abstained
    assert "ادوارد فلسنتال" in answer.quoted()[0][1]


def test_only_compounds_the_corpus_writes_are_added():
    lexical = LexicalIndex.build(["a", "b"], ["سردبیر مجله", "کتاب خانه ملی"])
    assert lexical.compound_spellings("سر دبیر مجله") == [(("سر", "دبیر"), ("سردبیر",))]
    assert lexical.compound_spellings("کتابخانه") == [(("کتابخانه",), ("کتاب", "خانه"))]
    assert lexical.compound_spellings("مجله ملی") == []  # «مجلهملی» is no word of the corpus


# Spoken Persian: people ask «اسم بابای …» where sources write «نام پدر …».
RUMI = (
    "مولانا جلال‌الدین محمد بلخی در سال ۶۰۴ در بلخ به دنیا آمد. "
    "نام پدر او بهاءالدین ولد بود و مادرش مؤمنه خاتون نام داشت. "
    "مولانا در کودکی با خانواده به قونیه رفت."
)
MASNAVI = "اسم این کتاب مثنوی معنوی است و مولانا آن را در قونیه سرود. این کتاب شش دفتر دارد."


@pytest.fixture
def persian_index(tmp_path: Path) -> SanadIndex:
    return _keyword_index(tmp_path, {"rumi": RUMI, "masnavi": MASNAVI})


def test_a_question_asked_as_spoken_is_answered_from_written_text(persian_index):
    # «اسم» and «بابا» are spoken; the source writes «نام» and «پدر». Searched as
    # typed, the rare «اسم» of the other book's sentence would weigh most.
    answer = Answerer(persian_index).ask("اسم بابای مولانا چی بود؟")
    assert not answer.abstained
    assert "بهاءالدین" in answer.quoted()[0][1]


def test_spoken_words_are_searched_as_written_only_in_persian():
    key = search_key
    persian = prepare_question("اسم مامان مولانا چی بود؟", 500)
    assert key("نام") in persian.tokens
    assert key("مادر") in persian.tokens
    assert key("اسم") not in persian.tokens
    arabic = prepare_question("ما اسم عاصمة موريتانيا؟", 500)  # Arabic writes «اسم»
    assert key("اسم") in arabic.tokens
    assert key("نام") not in arabic.tokens


NEW_GOVERNOR = "في العام الماضي عُيِّنَ والٍ جديد يُدعى شهاب المهاجر لقيادة التنظيم في المدن.\n"
FIRST_GOVERNOR = (
    "التف المقاتلون حول حافظ سعيد خان، إذ كان أول حاكم لهذا التنظيم، ويُشار إليه باسم الوالي.\n"
)
CONFERENCE = (
    "عُقد المؤتمر الأول في الدوحة، وكانت تلك أول مرة يلتقي فيها الوفدان. "
    "وفي اليوم الأول تحدث الوفد الأول عن التنظيم.\n"
)


def test_an_indefinite_defective_noun_finds_the_definite_word(tmp_path):
    # «والٍ» is «الوالي» without its «ي»: searched as typed, the rare «وال» of the other
    # passage («والٍ جديد») outweighs the common «أول», and the new governor comes first.
    index = _keyword_index(
        tmp_path,
        {"new": NEW_GOVERNOR, "first": FIRST_GOVERNOR, "conference": CONFERENCE},
    )
    assert search(index, "من هو أول والٍ للتنظيم؟").results[0].chunk.doc_id == "first"
    answer = Answerer(index).ask("من هو أول والٍ للتنظيم؟")
    assert not answer.abstained
    assert "حافظ سعيد خان" in answer.quoted()[0][1]


def test_only_a_kasratan_word_the_corpus_writes_with_ya_is_respelled():
    lexical = LexicalIndex.build(
        ["a", "b", "c", "d"],
        ["فاز النادي بالكأس", "رئيس النادي الجديد", "قرأ كتاب التاريخ", "كتاب جديد وكتابي"],
    )
    key = search_key
    assert lexical.defective_spellings("أي نادٍ فاز؟") == {key("ناد"): key("نادي")}
    # «كتابٍ» is not «كتابي»: the corpus holds «كتاب» more often.
    assert lexical.defective_spellings("في كتابٍ قديم") == {}
    assert lexical.defective_spellings("نادي بلا تنوين") == {}
