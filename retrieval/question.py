"""A question, prepared once: its text, language, search tokens, what it asks for.

Every later step (search, sentence scoring, declining, composing) reads this one
value instead of re-deriving it, and notices about the question (it was cut, the
search fell back to keywords) travel with it to the asker, localized.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from prompts import ui_language
from retrieval.clean import has_words
from retrieval.errors import QueryError
from retrieval.language import detect_language
from retrieval.normalize import as_written, search_key, tokenize
from retrieval.notices import Notice

__all__ = [
    "Asks",
    "Notice",
    "Question",
    "asks_for",
    "carries",
    "counted_word",
    "prepare_question",
]

#: What kind of fact a question asks for, when its wording says so.
Asks = Literal["count", "time", "person", "place"] | None


@dataclass(frozen=True)
class Question:
    text: str  # stripped, cut to the configured length
    language: str  # detected: fa, ar, ps, ur, en or und
    tokens: tuple[str, ...]  # search tokens
    asks: Asks
    notices: tuple[Notice, ...] = field(default=())

    @property
    def numbers(self) -> tuple[str, ...]:
        """The numbers of two digits or more the question names (a year, "Super Bowl
        50"): a passage that answers it names them too. Single digits are often
        written out in the passage ("Apollo 1", «الأول»)."""
        return tuple(t for t in dict.fromkeys(self.tokens) if t.isdigit() and len(t) >= 2)

    @property
    def counted(self) -> str | None:
        """What a "how many" question counts, as a search token (see `counted_word`)."""
        return counted_word(self.text) if self.asks == "count" else None

    @property
    def reply_language(self) -> str:
        """The interface language answers to this question are written in."""
        return ui_language(self.language) if self.language != "und" else "en"


def prepare_question(raw: str, max_chars: int) -> Question:
    """Strip the question, refuse an empty one, cut an overlong one with a notice."""
    text = raw.strip()
    if not has_words(text):
        raise QueryError("The question is empty: type a question in Dari, Arabic or English.")
    notices: tuple[Notice, ...] = ()
    if len(text) > max_chars:
        text = text[:max_chars]
        notices = (Notice("truncated_question", (("limit", max_chars),)),)
    language = detect_language(text)
    tokens = tokenize(text)
    if language == "fa":  # Arabic writes «اسم» too
        tokens = as_written(tokens)
    return Question(text, language, tuple(tokens), asks_for(text), notices)


def _phrases(words: str) -> tuple[str, ...]:
    return tuple(f" {search_key(w)} " for w in words.split("|"))


# Question words and phrases per kind, fa | ar | en, compared on search keys.
_ASKS: tuple[tuple[Asks, tuple[str, ...]], ...] = (
    (
        "count",
        _phrases(
            "چند|چندتا|چقدر|چه تعداد|چه مقدار|كم|وكم|كم عدد|ما عدد|ما هو عدد|ما هي عدد|"
            "ما مقدار|how many|how much|number of|how long|how far|how old"
        ),
    ),
    (
        "time",
        _phrases(
            "چه زمانی|چه وقت|چه سالی|در چه سال|چه تاریخی|چه قرنی|در چه دوره|چه ماهی|چه روزی|"
            "کی|متى|في أي عام|في أي سنة|أي عام|أي سنة|في اي عام|في اي سنة|في أي قرن|في أي تاريخ|"
            "ما تاريخ|ما هو تاريخ|when|what year|which year|what date|what century"
        ),
    ),
    (
        "person",
        _phrases(
            "چه کسی|چه کسانی|کیست|کیستند|کیه|کی بود|چه شخصی|من هو|من هي|من هم|من كان|من الذي|"
            "who|whom|whose"
        ),
    ),
    (
        "place",
        _phrases(
            "کجا|کجاست|در کجا|به کجا|کدام شهر|کدام کشور|أين|اين|في أي مدينة|في أي بلد|في أي دولة|"
            "where|which city|which country"
        ),
    ),
)
# «من» opens an Arabic "who" question; elsewhere it is "from" (and Persian "I").
_ARABIC_WHO = re.compile(r"^\s*(من|ومن|فمن)\s.*[؟?]\s*$", re.S)


def asks_for(question: str) -> Asks:
    """The kind of fact a question asks for, if its wording says so.

    >>> asks_for("حمله کروکوس چند کشته داشت؟"), asks_for("متى تأسس التنظيم؟")
    ('count', 'time')
    """
    words = _WORD.findall(search_key(question))
    if words[:1] and words[0] in _NUMBER_OF:
        return "count"  # «تعداد کشته‌شدگان؟», «عدد سكان القاهرة؟»
    key = " " + " ".join(words) + " "
    for kind, phrases in _ASKS:
        if any(p in key for p in phrases):
            return kind
    if _ARABIC_WHO.match(question) and detect_language(question) == "ar":
        return "person"
    return None


_WORD = re.compile(r"\w+")
_DIGIT = re.compile(r"\d")
_YEAR_NUMBER = r"(?:1[0-9]{3}|20[0-9]{2})(?!\d)"
_YEAR = re.compile(rf"(?<!\d){_YEAR_NUMBER}")


def _keys(words: str) -> frozenset[str]:
    return frozenset(search_key(w) for w in words.split())


# Not «یک» / «واحد» / "one": Persian's indefinite article and everyday words.
_NUMBER_WORDS = _keys(
    "اثنان اثنين اثنتان ثلاث ثلاثة أربع أربعة خمس خمسة ست ستة سبع سبعة ثمان ثمانية "
    "تسع تسعة عشر عشرة عشرون عشرين ثلاثون أربعون خمسون مئة مائة مئات ألف آلاف الآلاف مليون "
    "ملايين مليار نصف ربع ثلث "
    "دو سه چهار پنج شش هفت هشت ده یازده دوازده بیست سی چهل پنجاه شصت هفتاد هشتاد "
    "نود صد دویست سیصد هزار هزاران صدها میلیون میلیارد نیم "
    "two three four five six seven eight nine ten eleven twelve twenty thirty forty "
    "fifty hundred hundreds thousand thousands million millions billion dozen half"
)
_MONTHS = _keys(
    "يناير فبراير مارس أبريل ابريل مايو يونيو يوليو أغسطس اغسطس سبتمبر أكتوبر اكتوبر "
    "نوفمبر ديسمبر كانون شباط آذار نيسان أيار حزيران تموز آب أيلول تشرين "
    "ژانویه فوریه آوریل مه ژوئن ژوئیه جولای اوت سپتامبر اکتبر نوامبر دسامبر فروردین "
    "اردیبهشت خرداد تیر مرداد شهریور مهر آبان آذر دی بهمن اسفند "
    "january february march april may june july august september october november december"
)
_TIME_WORDS = _MONTHS | _keys("القرن قرن عام سده century")
#: Words that say where something is (a kind of place, a direction, "lies in"):
#: an answer to "where" names a place, and these are the words that come with one
#: («در شهر بارسلون», «در استان آیچی», «تقع في شمال»). Names themselves cannot be told.
_PLACE_WORDS = _keys(
    "شهر شهری شهرستان استان ایالت کشور روستا روستای منطقه ناحیه محله خیابان واقع قرار "
    "مستقر محل شمال جنوب شرق غرب شمالی جنوبی شرقی غربی پایتخت جزیره رود کوه دره قاره "
    "حوالی نزدیکی "
    "مدينة المدينة بمدينة محافظة ولاية دولة بلد بلدة قرية منطقة المنطقة إقليم حي شارع "
    "تقع يقع وتقع ويقع شمال جنوب شرق غرب شمالي جنوبي شرقي غربي عاصمة العاصمة جزيرة نهر "
    "جبل مقر مقرها موقع قارة بالقرب قرب "
    "city town village country province state region located north south east west "
    "capital island river mountain"
)


def _alternatives(words: frozenset[str]) -> str:
    """A regex alternation of `words`, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


#: What a date is written with, and so is not a count: a year after a month or "in"
#: («عام 2015», «سال‌های ۲۰۰۴ و ۲۰۰۵»), the day before a month («۳۱ مارس»), a year
#: or span of years with its era («۴۰۵–۴۵۳ میلادی», «1250 هـ»).
_DATE_PARTS = re.compile(
    r"(?<!\w)(?:"
    + _alternatives(_TIME_WORDS | _keys("سنه سنة سال سالهای years year in عام عامي"))
    + rf")\s+{_YEAR_NUMBER}(?:\s*(?:و|and|[-–])\s*{_YEAR_NUMBER})?"
    + rf"|(?<!\d)\d{{1,2}}\s+(?:{_alternatives(_MONTHS)})(?:\s+{_YEAR_NUMBER})?(?!\w)"
    + r"|(?<![\d.,])\d{1,4}(?:\s*[-–]\s*\d{1,4})?\s*(?:"
    + _alternatives(_keys("میلادی هجری خورشیدی شمسی قمری ق.م AD BC"))
    + r")(?!\w)"
    # «م» and «هـ» also abbreviate metres and more: an era only after a year.
    + rf"|(?<![\d.,]){_YEAR_NUMBER}\s*(?:م|ه)(?!\w)"
)

#: A figure, table or page number points into the document; it counts nothing.
_REFERENCE = re.compile(
    r"(?<!\w)(?:"
    + _alternatives(
        _keys("الشكل شكل الجدول جدول صفحة الصفحة شکل نمودار جدول صفحه figure fig table page")
    )
    + r")\.?\s+\d+(?!\d)"
)


#: Words that open a "how many" question, and those that may stand between them
#: and the thing counted («چند تا کشته», «كم عدد الجسور», «كم كان سعر», "how many").
_COUNT_OPENERS = _keys("چند چندتا تعداد كم عدد many")
_COUNT_FILLERS = _keys("تا عدد كان كانت يبلغ تبلغ بلغ بلغت يوجد توجد هناك من")
#: "The number of", which asks for a count when it opens the question; further in,
#: it is part of a "which" or "who" question («أكبر مدينة من حيث عدد السكان»).
_NUMBER_OF = _keys("تعداد شمار عدد")


def counted_word(question: str) -> str | None:
    """The word a "how many" question counts, as a search token: «کشته» in «حمله
    کروکوس چند کشته داشت؟», «جسور» in «كم عدد الجسور في وارسو؟», "bridges" in
    "How many bridges…?". None when the wording names none ("how much")."""
    words = _WORD.findall(search_key(question))
    for i, word in enumerate(words):
        if word not in _COUNT_OPENERS or (word == "many" and words[i - 1 : i] != ["how"]):
            continue
        for after in words[i + 1 :]:
            if after in _COUNT_FILLERS:
                continue
            tokens = tokenize(after)
            return tokens[-1] if tokens else None  # the Arabic article stripped
        return None
    return None


def carries(asks: Asks, text: str) -> bool:
    """Does `text` carry a fact of the kind asked for (a number for "how many", a
    date for "when", a word that comes with a place for "where")? A name cannot be
    told, so "who" always passes."""
    if asks == "count":
        # A date («عام 2015», «۳۱ مارس», «۴۵۳ میلادی») is not a count; "figure 1" a pointer.
        key = _REFERENCE.sub(" ", _DATE_PARTS.sub(" ", search_key(text)))
        words = _WORD.findall(key)
        return bool(_DIGIT.search(key)) or any(
            w in _NUMBER_WORDS or w.removeprefix("ال") in _NUMBER_WORDS for w in words
        )
    if asks == "time":
        key = search_key(text)
        return bool(_YEAR.search(key)) or not _TIME_WORDS.isdisjoint(_WORD.findall(key))
    if asks == "place":
        return not _PLACE_WORDS.isdisjoint(_WORD.findall(search_key(text)))
    return True
