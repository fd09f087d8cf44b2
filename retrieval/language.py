"""Language detection for documents and short questions.

General-purpose detectors confuse Persian and Arabic on five-word questions (they
share most letters) and rarely know Pashto. Within the Arabic script the
languages differ in a few letters and in their function words, which even a
short question carries, so that is what this module counts. Other scripts are
told apart by their letters; Latin text is taken as English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "LANGUAGES",
    "LanguageSignals",
    "detect_language",
    "language_signals",
    "letter_script",
]

#: Codes this module returns. "und" = undetermined (no letters, or another script).
LANGUAGES: Final = ("fa", "ar", "ps", "ur", "en", "und")

#: The letters of the Arabic-script blocks (not their digits, punctuation or marks).
_ARABIC_LETTER = re.compile(
    "["
    + "".join(
        re.escape(chr(c))
        for lo, hi in ((0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
        for c in range(lo, hi + 1)
        if chr(c).isalpha()
    )
    + "]"
)
#: Latin letters: ASCII and Latin-1 to Latin Extended-B, without × and ÷.
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]")
# The words (runs of [\w\u200c]) holding at least one Arabic-script letter, found in
# one pass: the lazy run stops at the word's first such letter, and a word without one
# fails at each of its positions. Latin words are only counted: one match each, from
# its first Latin letter to its end.
_ARABIC_WORD = re.compile(r"[\w\u200c]*?" + _ARABIC_LETTER.pattern + r"[\w\u200c]*")
_LATIN_WORD_TAIL = re.compile(_LATIN_LETTER.pattern + r"[\w\u200c]*")

_PASHTO_LETTERS = set("ټډړږښځڅګڼېۍ")
_URDU_LETTERS = set("ںےٹڈڑھۓ")
_PERSIAN_LETTERS = set("پچژگ")
_ARABIC_LETTERS = set("ةىأإؤ")
# Persian ی and ک against Arabic ي and ك: the same letters in two encodings. Each
# keyboard types its own, so they tell the languages apart in a short question,
# though less surely than the letters only one language has (some Arabic text is
# typed on a Persian keyboard).
_PERSIAN_FORMS = set("یک")
_ARABIC_FORMS = set("يك")

_FA_WORDS = frozenset(
    [
        "در",
        "از",
        "به",
        "که",
        "را",
        "است",
        "این",
        "آن",
        "با",
        "برای",
        "چه",
        "چی",
        "کدام",
        "چند",
        "آیا",
        "شد",
        "بود",
        "های",
        "ها",
        "می",
        "هم",
        "نیز",
        "چگونه",
        "چرا",
        "کجا",
        "کی",
        "چیست",
        "کرد",
        "کرد؟",
        "شده",
        "اند",
        "یک",
        "هر",
        "بر",
        "تا",
        "پس",
        "روی",
        "گفت",
        "دارد",
        "داشت",
        "اولین",
        "نخستین",
        "کسی",
        "چیزی",
        "هستند",
        "بودند",
        "شود",
        "کند",
        "توسط",
        "همچنین",
        "رابطه",
        "درباره",
    ]
)
_AR_WORDS = frozenset(
    [
        "في",
        "من",
        "على",
        "إلى",
        "الى",
        "عن",
        "ما",
        "ماذا",
        "هل",
        "كيف",
        "متى",
        "أين",
        "لماذا",
        "الذي",
        "التي",
        "الذين",
        "كم",
        "هو",
        "هي",
        "أن",
        "إن",
        "قد",
        "لقد",
        "ثم",
        "كان",
        "كانت",
        "هذا",
        "هذه",
        "ذلك",
        "تلك",
        "مع",
        "بين",
        "عند",
        "حول",
        "أي",
        "وما",
        "وماذا",
        "بماذا",
        "وهل",
        "فهل",
        "هم",
    ]
)
_PS_WORDS = frozenset(
    [
        "د",
        "په",
        "چې",
        "ته",
        "کې",
        "دی",
        "ده",
        "او",
        "یې",
        "نه",
        "دا",
        "هغه",
        "سره",
        "څه",
        "ولې",
        "کوم",
    ]
)
_UR_WORDS = frozenset(["کے", "کی", "ہے", "ہیں", "میں", "نے", "کو", "سے", "اور", "کیا"])


_FOLD_PAIRS = (("ي", "ی"), ("ى", "ی"), ("ك", "ک"))


def _fold(word: str) -> str:
    for letter, folded in _FOLD_PAIRS:
        if letter in word:
            word = word.replace(letter, folded)
    return word


#: The letters whose counts tell the languages apart (and ZWNJ).
_COUNTED_LETTERS = frozenset(
    _PASHTO_LETTERS
    | _URDU_LETTERS
    | _PERSIAN_LETTERS
    | _ARABIC_LETTERS
    | _PERSIAN_FORMS
    | _ARABIC_FORMS
    | {"\u200c"}
)


def _languages_of_words() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for lang, vocabulary in (
        ("fa", _FA_WORDS),
        ("ar", _AR_WORDS),
        ("ps", _PS_WORDS),
        ("ur", _UR_WORDS),
    ):
        for word in {_fold(w) for w in vocabulary}:
            out[word] = (*out.get(word, ()), lang)
    return out


#: Each function word (folded) → the languages whose vocabulary holds it.
_LANGUAGES_OF_WORD = _languages_of_words()
_FA_PREFIXES = ("می", "نمی")
_AR_PREFIXES = ("ال", "وال", "بال", "لل")


def letter_script(char: str) -> str:
    """The script of one character: "arabic", "latin", or "" (a digit, a mark,
    punctuation, another script)."""
    if _ARABIC_LETTER.match(char):
        return "arabic"
    if _LATIN_LETTER.match(char):
        return "latin"
    return ""


def detect_language(text: str) -> str:
    """Return `fa`, `ar`, `ps`, `ur`, `en` or `und` for `text`.

    >>> detect_language("من هو أول والٍ لتنظيم الدولة في أفغانستان؟")
    'ar'
    >>> detect_language("جنگ میان طالبان و داعش چه زمانی آغاز شد؟")
    'fa'
    """
    return language_signals(text).language()


@dataclass(frozen=True, slots=True)
class LanguageSignals:
    """What `detect_language` counts in a text: words, telling letters, function words.

    Counts add up, so the signals of a text split between words are the sum of its
    parts' signals: a document's language comes from its passages' at no extra cost.
    """

    arabic_words: int = 0  # words with an Arabic-script letter
    latin_words: int = 0
    pashto: int = 0  # letters only Pashto has, and so on
    urdu: int = 0
    persian: int = 0
    arabic: int = 0
    persian_forms: int = 0  # Persian ی ک
    arabic_forms: int = 0  # Arabic ي ك
    zwnj: int = 0
    fa_said: int = 0  # function words of each language
    ar_said: int = 0
    ps_said: int = 0
    ur_said: int = 0
    fa_prefixed: int = 0  # words with a Persian verb prefix (می‌, نمی‌)
    ar_prefixed: int = 0  # words with the Arabic article

    def __add__(self, other: LanguageSignals) -> LanguageSignals:
        return LanguageSignals(*(getattr(self, f) + getattr(other, f) for f in _SIGNALS))

    def language(self) -> str:
        """The language these signals point to (see `detect_language`)."""
        if not self.arabic_words:
            return "en" if self.latin_words else "und"
        if self.latin_words > 2 * self.arabic_words:
            return "en"
        scores = {
            "ps": 3.0 * self.pashto + self.ps_said,
            "ur": 3.0 * self.urdu + self.ur_said,
            "fa": 2.0 * self.persian
            + 1.0 * self.persian_forms
            + 2.0 * self.fa_said
            + 1.0 * self.zwnj  # ZWNJ is a Persian typing habit
            + 0.5 * self.fa_prefixed,
            "ar": 2.0 * self.arabic
            + 1.0 * self.arabic_forms
            + 2.0 * self.ar_said
            + 1.0 * self.ar_prefixed,
        }
        # Pashto and Urdu text also uses Persian letters and words; they win only when
        # their own letters are a clear part of the text, not a stray name or two.
        for lang in ("ps", "ur"):
            rivals = max(scores["fa"], scores["ar"])
            if scores[lang] >= 3.0 and scores[lang] >= 0.5 * rivals:
                return lang
        if scores["ar"] > scores["fa"]:
            return "ar"
        return "fa"


_SIGNALS = tuple(LanguageSignals.__dataclass_fields__)


def language_signals(text: str) -> LanguageSignals:
    """Count in `text` what tells the languages apart."""
    words = _ARABIC_WORD.findall(text) if _ARABIC_LETTER.search(text) else []  # English
    latin_words = len(_LATIN_WORD_TAIL.findall(text))
    if not words:
        return LanguageSignals(latin_words=latin_words)
    joined = "".join(words)
    letters = {c: joined.count(c) for c in _COUNTED_LETTERS}  # str.count: 3× a Counter
    # Function words count whichever keyboard typed them («كي» is Persian «کی»); one
    # pass over the words counts them and the words with a verb prefix or article.
    said = dict.fromkeys(("fa", "ar", "ps", "ur"), 0)
    fa_prefixed = ar_prefixed = 0
    for word in _fold(" ".join(words).replace("\u200c", "")).split(" "):
        for lang in _LANGUAGES_OF_WORD.get(word, ()):
            said[lang] += 1
        if len(word) > 3 and word.startswith(_AR_PREFIXES):
            ar_prefixed += 1
        if len(word) > 4 and word.startswith(_FA_PREFIXES):
            fa_prefixed += 1

    def count(chars: set[str]) -> int:
        return sum(letters[c] for c in chars)

    return LanguageSignals(
        arabic_words=len(words),
        latin_words=latin_words,
        pashto=count(_PASHTO_LETTERS),
        urdu=count(_URDU_LETTERS),
        persian=count(_PERSIAN_LETTERS),
        arabic=count(_ARABIC_LETTERS),
        persian_forms=count(_PERSIAN_FORMS),
        arabic_forms=count(_ARABIC_FORMS),
        zwnj=letters["\u200c"],
        fa_said=said["fa"],
        ar_said=said["ar"],
        ps_said=said["ps"],
        ur_said=said["ur"],
        fa_prefixed=fa_prefixed,
        ar_prefixed=ar_prefixed,
    )
