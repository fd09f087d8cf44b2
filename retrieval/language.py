"""Language detection for documents and short questions.

General-purpose detectors confuse Persian and Arabic on five-word questions (they
share most letters) and rarely know Pashto. Within the Arabic script the
languages differ in a few letters and in their function words, which even a
short question carries, so that is what this module counts. Other scripts are
told apart by their letters; Latin text is taken as English.
"""

from __future__ import annotations

import re
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
    arabic_words = _ARABIC_WORD.findall(text) if _ARABIC_LETTER.search(text) else []  # English
    latin_words = len(_LATIN_WORD_TAIL.findall(text))
    if not arabic_words:
        return "en" if latin_words else "und"
    if latin_words > 2 * len(arabic_words):
        return "en"
    return _arabic_script_language(arabic_words)


def _arabic_script_language(words: list[str]) -> str:
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

    def letter_count(chars: set[str]) -> int:
        return sum(letters[c] for c in chars)

    scores = {
        "ps": 3.0 * letter_count(_PASHTO_LETTERS) + said["ps"],
        "ur": 3.0 * letter_count(_URDU_LETTERS) + said["ur"],
        "fa": 2.0 * letter_count(_PERSIAN_LETTERS)
        + 1.0 * letter_count(_PERSIAN_FORMS)
        + 2.0 * said["fa"]
        + 1.0 * letters["\u200c"]  # ZWNJ is a Persian typing habit
        + 0.5 * fa_prefixed,
        "ar": 2.0 * letter_count(_ARABIC_LETTERS)
        + 1.0 * letter_count(_ARABIC_FORMS)
        + 2.0 * said["ar"]
        + 1.0 * ar_prefixed,
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
