"""Language detection for documents and short questions.

General-purpose detectors confuse Persian and Arabic on five-word questions (they
share most letters) and rarely know Pashto. Within the Arabic script the
languages differ in a few letters and in their function words, which even a
short question carries, so that is what this module counts. Other scripts are
told apart by their letters; Latin text is taken as English.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Final

__all__ = ["LANGUAGES", "detect_language", "letter_script"]

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
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD = re.compile(r"[\w\u200c]+")

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

_FOLDED = {
    vocabulary: frozenset(_fold(w) for w in vocabulary)
    for vocabulary in (_FA_WORDS, _AR_WORDS, _PS_WORDS, _UR_WORDS)
}


def letter_script(char: str) -> str:
    """The script of one character: "arabic", "latin", or "" (a digit, a mark,
    punctuation, another script)."""
    if _ARABIC_LETTER.match(char):
        return "arabic"
    if char.isalpha() and _LATIN.match(char):
        return "latin"
    return ""


def detect_language(text: str) -> str:
    """Return `fa`, `ar`, `ps`, `ur`, `en` or `und` for `text`.

    >>> detect_language("من هو أول والٍ لتنظيم الدولة في أفغانستان؟")
    'ar'
    >>> detect_language("جنگ میان طالبان و داعش چه زمانی آغاز شد؟")
    'fa'
    """
    words = _WORD.findall(text)
    arabic_words = [w for w in words if _ARABIC_LETTER.search(w)]
    latin_words = [w for w in words if _LATIN.search(w)]
    if not arabic_words:
        return "en" if latin_words else "und"
    if len(latin_words) > 2 * len(arabic_words):
        return "en"
    return _arabic_script_language(arabic_words)


def _arabic_script_language(words: list[str]) -> str:
    joined = "".join(words)
    letters = {c: joined.count(c) for c in _COUNTED_LETTERS}  # str.count: 3× a Counter
    # Function words count whichever keyboard typed them («كي» is Persian «کی»).
    bare = Counter(_fold(" ".join(words).replace("\u200c", "")).split(" "))

    def letter_count(chars: set[str]) -> int:
        return sum(letters[c] for c in chars)

    def word_count(vocabulary: frozenset[str]) -> int:
        return sum(bare[w] for w in _FOLDED[vocabulary])

    def prefixed(prefixes: tuple[str, ...], min_len: int) -> int:
        return sum(n for w, n in bare.items() if w.startswith(prefixes) and len(w) > min_len)

    scores = {
        "ps": 3.0 * letter_count(_PASHTO_LETTERS) + word_count(_PS_WORDS),
        "ur": 3.0 * letter_count(_URDU_LETTERS) + word_count(_UR_WORDS),
        "fa": 2.0 * letter_count(_PERSIAN_LETTERS)
        + 1.0 * letter_count(_PERSIAN_FORMS)
        + 2.0 * word_count(_FA_WORDS)
        + 1.0 * letters["\u200c"]  # ZWNJ is a Persian typing habit
        + 0.5 * prefixed(("می", "نمی"), 4),
        "ar": 2.0 * letter_count(_ARABIC_LETTERS)
        + 1.0 * letter_count(_ARABIC_FORMS)
        + 2.0 * word_count(_AR_WORDS)
        + 1.0 * prefixed(("ال", "وال", "بال", "لل"), 3),
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
