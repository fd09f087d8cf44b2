"""Language detection for documents and short questions.

General-purpose detectors confuse Persian and Arabic on five-word questions (they
share most letters) and rarely know Pashto. Within the Arabic script the
languages differ in a few letters and in their function words, which even a
short question carries, so that is what this module counts. Other scripts are
told apart by their letters; Latin text is taken as English.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "LANGUAGES",
    "LanguageSignals",
    "detect_language",
    "language_signals",
    "letter_script",
    "packed_signals",
    "unpacked_signals",
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
        return LanguageSignals(*map(operator.add, _COUNTS(self), _COUNTS(other)))

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
_COUNTS = operator.attrgetter(*_SIGNALS)  # a LanguageSignals → its counts, in field order

#: A word as `language_signals` counts it: a run of word characters and ZWNJ (ZWNJ
#: joins a Persian word's parts). A run holding an Arabic-script letter is one Arabic
#: word, and one holding a Latin letter one Latin word (it may be both).
_RUN = re.compile(r"[\w\u200c]+")
#: Each signal's count is held in its own 32 bits of one Python integer, so a text's
#: counts are the plain sum of its words' integers (one C-level addition a word): no
#: field overflows into the next for a text under 4 GiB.
_FIELD_BITS = 32
_FIELD_MASK = (1 << _FIELD_BITS) - 1


#: Where each signal's bits start, in field order.
_SHIFTS = tuple(_FIELD_BITS * i for i in range(len(_SIGNALS)))
#: A count of one in each signal's bits.
_ONE = {field: 1 << (_FIELD_BITS * i) for i, field in enumerate(_SIGNALS)}
#: The signals counted letter by letter, and their letters.
_LETTER_SIGNALS = (
    ("pashto", _PASHTO_LETTERS),
    ("urdu", _URDU_LETTERS),
    ("persian", _PERSIAN_LETTERS),
    ("arabic", _ARABIC_LETTERS),
    ("persian_forms", _PERSIAN_FORMS),
    ("arabic_forms", _ARABIC_FORMS),
    ("zwnj", {"\u200c"}),
)
#: Each telling letter (and ZWNJ) → what one of it adds to a word's packed signals.
_LETTER_WEIGHT = {
    letter: sum(_ONE[field] for field, letters in _LETTER_SIGNALS if letter in letters)
    for _, letters in _LETTER_SIGNALS
    for letter in letters
}
_TELLING = frozenset(_LETTER_WEIGHT)


def _packed_run(run: str) -> int:
    """What one run of word characters adds to the signals, packed (see
    `language_signals`): found with C-level set and string operations."""
    latin = _ONE["latin_words"] if _LATIN_LETTER.search(run) else 0
    if not _ARABIC_LETTER.search(run):
        return latin
    packed = _ONE["arabic_words"] + latin
    for letter in _TELLING.intersection(run):
        packed += run.count(letter) * _LETTER_WEIGHT[letter]
    # Function words count whichever keyboard typed them («كي» is Persian «کی»).
    word = _fold(run.replace("\u200c", ""))
    for lang in _LANGUAGES_OF_WORD.get(word, ()):
        packed += _ONE[f"{lang}_said"]
    if len(word) > 4 and word.startswith(_FA_PREFIXES):
        packed += _ONE["fa_prefixed"]
    if len(word) > 3 and word.startswith(_AR_PREFIXES):
        packed += _ONE["ar_prefixed"]
    return packed


#: Each white-space-separated token seen → the packed signals of its runs. Tokens
#: repeat (a few thousand make most of any text), so each distinct one is worked out
#: once; emptied when full (a few tens of MB; longer tokens are not kept). White space
#: is never a word character, so a text's runs are its tokens' runs, and `str.split`
#: is 3× faster than finding them.
_PACKED: dict[str, int] = {}
_PACKED_MAX = 200_000
_PACKED_TOKEN_CHARS = 64


def _packed_token(token: str) -> int:
    return sum(map(_packed_run, _RUN.findall(token)))


def language_signals(text: str) -> LanguageSignals:
    """Count in `text` what tells the languages apart: the sum of its words' signals."""
    return unpacked_signals(packed_signals(text))


def packed_signals(text: str, tokens: list[str] | None = None) -> int:
    """`language_signals(text)` packed into one integer, each count in its own 32
    bits: the packed signals of two texts add up as plain integers, so a sum over
    many stretches of text makes no `LanguageSignals` on the way (`unpacked_signals`
    makes the one at the end). `tokens`: `text.split()`, if already made."""
    tokens = text.split() if tokens is None else tokens
    known = _PACKED
    try:
        total = sum(map(known.__getitem__, tokens))
    except KeyError:  # a token not seen before: work it out, once
        if len(known) >= _PACKED_MAX:
            known.clear()
        total = 0
        for token in tokens:
            packed = known.get(token)
            if packed is None:
                packed = _packed_token(token)
                if len(token) <= _PACKED_TOKEN_CHARS:
                    known[token] = packed
            total += packed
    return total


def unpacked_signals(packed: int) -> LanguageSignals:
    """The `LanguageSignals` that `packed_signals` packed into `packed`."""
    return LanguageSignals(*((packed >> shift) & _FIELD_MASK for shift in _SHIFTS))
