"""The search key: one normalization for documents and queries alike.

Display text is never changed; only the key used for matching is. The key folds
away the differences a reader does not see as different words: Arabic and Persian
letter forms, diacritics, tatweel, zero-width non-joiners, Eastern digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from itertools import chain

__all__ = [
    "STOPWORDS",
    "Shingles",
    "as_written",
    "key_words",
    "search_key",
    "shingles",
    "shingles_of",
    "tokenize",
    "tokens_of",
]

#: Character-class ranges of Arabic tashkeel (U+064B–U+065F) and the superscript alef
#: (U+0670): the marks written on a letter.
TASHKEEL = "\u064b-\u065f"
SUPERSCRIPT_ALEF = "\u0670"
# Tashkeel, superscript alef, Quranic annotation marks (U+06D6–U+06ED) and tatweel
# (U+0640) carry no lexical difference for search.
_STRIP = re.compile(f"[{TASHKEEL}{SUPERSCRIPT_ALEF}\u06d6-\u06ed\u0640]")

_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي → ی
        "\u0649": "\u06cc",  # ى → ی
        "\u0643": "\u06a9",  # ك → ک
        "\u0623": "\u0627",  # أ → ا
        "\u0625": "\u0627",  # إ → ا
        "\u0622": "\u0627",  # آ → ا
        "\u0671": "\u0627",  # ٱ → ا
        "\u0629": "\u0647",  # ة → ه
        "\u06c0": "\u0647",  # ۀ → ه
        "\u06c2": "\u0647",  # ۂ → ه
        "\u066b": ".",  # Arabic decimal separator
        "\u066c": ",",  # Arabic thousands separator
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    }
)

# No folded letter is itself folded again, so replacing one letter at a time is the same.
_LETTER_PAIRS = tuple((chr(code), str(folded)) for code, folded in _LETTERS.items())

# Zero-width characters that only shape letters: ZWNJ, ZWJ, LRM/RLM, BOM.
_ZERO_WIDTH = re.compile("[\u200c\u200d\u200e\u200f\ufeff]")

# Persian verb prefixes and plural/comparative suffixes are written joined, with a
# ZWNJ, or with a space (the corpus has all three): join them so all forms match.
# The patterns start with their letters, which the regex engine finds ten times
# faster than trying a look-behind at every position; the word before is checked
# in Python, on the few matches only.
_PREFIX_GAP = re.compile(r"می (?=\w)")  # «می» or «نمی» starting a word, then a space
_SUFFIX_GAP = re.compile(r" (?:ها|های|هایی|هائی|ترین|تری|تر)(?!\w)")  # after a word
_WORD_CHAR = re.compile(r"\w")


def _join_prefix(match: re.Match[str]) -> str:
    text, at = match.string, match.start()
    if at and text[at - 1] == "ن":  # «نمی»
        at -= 1
    if at and _WORD_CHAR.match(text, at - 1):  # inside a word: «کمی »
        return match.group()
    return "می"


def _join_suffix(match: re.Match[str]) -> str:
    at = match.start()
    if at and _WORD_CHAR.match(match.string, at - 1):
        return match.group()[1:]
    return match.group()


def search_key(text: str) -> str:
    """Return the normalized form of `text` used for lexical matching.

    >>> search_key("می‌رسید") == search_key("میرسید") == search_key("می رسید")
    True
    """
    # Zero-width characters go first: between a letter and its mark they would stop
    # NFKC from composing or reordering them, and a second pass would then change
    # the key (search_key must be idempotent).
    key = _ZERO_WIDTH.sub("", text)
    key = unicodedata.normalize("NFKC", key)
    key = _STRIP.sub("", key)
    for letter, folded in _LETTER_PAIRS:  # str.replace per letter: 4× faster than translate
        if letter in key:
            key = key.replace(letter, folded)
    if not _single_spaced(key):
        key = " ".join(key.split())  # str.split's whitespace is the regex's \s, 5× faster
    # casefold can undo NFKC ("ǰ" → "ǰ"): normalize once more after it.
    key = unicodedata.normalize("NFKC", key.casefold())
    return _affixes_joined(key)


def _affixes_joined(key: str) -> str:
    """`key` (folded, single-spaced) with the Persian affixes written apart joined."""
    # Each gap needs a space then «می» / «ه» / «ت»: a substring test is far cheaper
    # than the regex's lookbehind at every position.
    if "می " in key:
        key = _PREFIX_GAP.sub(_join_prefix, key)
    if " ه" in key or " ت" in key:
        key = _SUFFIX_GAP.sub(_join_suffix, key)
    return key


def _single_spaced(text: str) -> bool:
    """Whether `text` is its words joined by single spaces (`" ".join(text.split())`),
    found without making the words: three times as fast on prose. White space
    other than the ASCII space is never printable (a test reads every character)."""
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


_WORD = re.compile(r"\w+")


#: Runs of words, as tuples: built and hashed in C from the words' own cached hashes
#: (twice as fast as joining each run into a new string).
Shingles = frozenset[tuple[str, ...]]


def key_words(text: str, tokens: list[str] | None = None) -> list[str]:
    """The words of `text`'s search key, in order (`_WORD.findall(search_key(text))`);
    `tokens`: `text.split()`, if already made.

    Made from its white-space-separated tokens, each worked out once (`_TokenKeys`):
    every step of the key but the joining of Persian affixes reads one token at a
    time, and a few thousand tokens make most of any text, so most sentences are
    a few lookups in C rather than a dozen passes over their characters. Only a
    sentence with a token that may join its neighbour («می», «ها») has its key
    joined again, from its tokens' keys; a property test holds the words to the key's.
    """
    known = _TOKEN_KEYS
    tokens = text.split() if tokens is None else tokens
    try:
        words = list(chain.from_iterable(map(known.words.__getitem__, tokens)))
    except KeyError:
        learned = _learned(tokens)
        if learned is None:  # a token too long to keep
            return _WORD.findall(search_key(text))
        known = learned  # this one from now on, even if another thread starts anew
        words = list(chain.from_iterable(map(known.words.__getitem__, tokens)))
    if known.joining.isdisjoint(tokens):
        return words
    key = " ".join(filter(None, map(known.keys.get, tokens, tokens)))
    return _WORD.findall(_affixes_joined(key))


class _TokenKeys:
    """White-space-separated tokens seen, with their search keys and key words.

    `search_key` changes a token's characters without looking past the white space
    around it (NFKC composes nothing across a space; the rest is per character),
    except where it joins Persian affixes: so a text's key is its tokens' keys
    joined by spaces, affixes then joined. `joining`: the tokens whose key may join
    a neighbour's, and those NFKC spells as several words («﷽»), whose words may
    too. Only a key other than its token is kept (most tokens are their own key),
    and a token that is one word is its own: about 250 bytes a token. A token's words
    are added last, so a reader that finds them finds the rest."""

    __slots__ = ("joining", "keys", "words")

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.words: dict[str, tuple[str, ...]] = {}
        self.joining: set[str] = set()

    def learn(self, token: str) -> None:
        key = search_key(token)
        if key != token:
            self.keys[token] = key
        if " " in key or _MAY_JOIN.search(key):
            self.joining.add(token)
        words = tuple(_WORD.findall(key))
        self.words[token] = (token,) if words == (token,) else words


def _learned(tokens: list[str]) -> _TokenKeys | None:
    """The `_TokenKeys` in use, now knowing `tokens` (a new one if the last was full:
    replaced, never cleared under a reader); None if a token is too long to keep."""
    global _TOKEN_KEYS  # noqa: PLW0603 - replaced whole, see above
    if any(len(t) > _TOKEN_CHARS for t in tokens):
        return None
    known = _TOKEN_KEYS
    if len(known.words) >= _TOKEN_KEYS_MAX:
        known = _TOKEN_KEYS = _TokenKeys()
    for token in tokens:
        if token not in known.words:
            known.learn(token)
    return known


#: A token's key that may join its neighbour's: ending in a standalone «می» / «نمی»,
#: or starting with a plural or comparative suffix (what `_affixes_joined` joins).
_MAY_JOIN = re.compile(r"(?<!\w)ن?می$|^(?:ها|های|هایی|هائی|ترین|تری|تر)(?!\w)")
#: Tokens kept (about 25 MB at most), and the longest kept: a longer one (a URL, a
#: run without spaces) is rare, and its text's key is made whole.
_TOKEN_KEYS_MAX = 100_000
_TOKEN_CHARS = 64
_TOKEN_KEYS = _TokenKeys()


def shingles(text: str, n: int = 3) -> Shingles:
    """Runs of `n` words of the search key (all of them, if fewer): what near-duplicate
    checks compare."""
    return shingles_of(key_words(text), n)


def shingles_of(words: list[str], n: int) -> Shingles:
    """`shingles` of a text whose key words are `words`."""
    if len(words) <= n:
        return frozenset({tuple(words)} if words else ())
    return frozenset(zip(*(words[i:] for i in range(n)), strict=False))


# Arabic proclitics (article and attached conjunctions/prepositions), in key form.
_ARABIC_ARTICLE = ("وبال", "وال", "بال", "کال", "فال", "لل", "ال")


def _variants(token: str) -> Iterable[str]:
    yield token
    for prefix in _ARABIC_ARTICLE:
        if token.startswith(prefix) and len(token) - len(prefix) >= 3:
            yield token[len(prefix) :]
            break
    else:
        # A leading و is "and" in Arabic (and often in Dari text written without a space).
        if token.startswith("و") and len(token) >= 5:
            yield token[1:]


def tokenize(text: str, *, stopwords: frozenset[str] | None = None) -> list[str]:
    """Split text into search tokens: key words plus Arabic-prefix-stripped variants."""
    return tokens_of(key_words(text), stopwords=stopwords)


def tokens_of(words: list[str], *, stopwords: frozenset[str] | None = None) -> list[str]:
    """`tokenize` of a text whose key words are `words` (a new list each call)."""
    out: list[str] = []
    if stopwords is None:  # the common case: each distinct word worked out once
        known = _WORD_TOKENS
        try:  # every word seen before: the lookups and the joining run in C
            return list(chain.from_iterable(map(known.__getitem__, words)))
        except KeyError:
            if len(known) >= _WORD_TOKENS_MAX:
                known.clear()
        for word in words:
            tokens = known.get(word)
            if tokens is None:
                tokens = known[word] = _tokens_of(word, STOPWORDS)
            out += tokens
        return out
    for word in words:
        out.extend(_tokens_of(word, stopwords))
    return out


def _tokens_of(word: str, stop: frozenset[str]) -> tuple[str, ...]:
    if word in stop or (len(word) < 2 and not word.isdigit()):
        return ()
    return tuple(v for v in _variants(word) if v not in stop)


#: Each word's tokens under the default stop words: a plain dict, twice as fast as an
#: lru_cache here; emptied when full (~20 MB), as a new corpus brings its own words.
_WORD_TOKENS: dict[str, tuple[str, ...]] = {}
_WORD_TOKENS_MAX = 100_000


_FA = """
از به با در که این آن را و یا تا بر برای هم نیز چه چی چیست چرا چگونه کجا کی کدام
چند چقدر چندمین کسی چیزی
آیا است هست بود شد شده شود می کرد کرده کند کنند کردند دارد داشت های ها یک هر
اند ای ام اش ایشان او ما شما آنها اینکه آنکه پس پیش میان بین درباره
چیه چیا کجاست کجای کجاها کدامند کدامیک کدامین کیست کیستند چطور چقدره چندتا چندم
بنویسید ببرید
کدوم کدومش کدومه کیه چجوری چطوری رو تو اون اونا اونها اینا دیگه الان هستن
میشه میشن داره دارن میکنه میکنن میگه میگن میاد
"""
_AR = """
في من إلى الى على عن مع هو هي هم ما ماذا متى أين اين كيف لماذا هل كم أي اي التي
الذي الذين هذا هذه ذلك تلك كان كانت قد لقد ثم أو او أن ان إن لا لم لن بين عند
بماذا وماذا وما فما ومن وهل ماهو مالذي اذكر أذكر اللتي اللذي اللذين اللتان
"""
_EN = """
a an the of to in on at by for from with and or is are was were be been what when
where who whom which why how did do does this that these those it its as about into
"""

#: Question and function words in fa/ar/en, in key form, left out of lexical matching.
#: The last lines of each list are the spoken forms («کدوم», «چیه») and the joined
#: or misspelt ones («ماهو», «اللتي») that people type in chats and questions.
STOPWORDS: frozenset[str] = frozenset(search_key(w) for w in (_FA + _AR + _EN).split())


#: Spoken Persian words and the words written text uses for them. People ask as they
#: speak («اسم بابای مولوی چی بود؟»); sources are written («نام پدر مولوی»). The
#: spoken word is rare in written text, so left as it is it would weigh as a rare,
#: telling word and find the wrong sentence, or none.
_SPOKEN = {
    "اسم اسمش اسمی اسمشون اسمشان اسمها اسمای": "نام",
    "بابا بابای باباش": "پدر",
    "مامان مامانش": "مادر",
    "بچه بچه‌ها بچه‌های بچه‌هاش بچه‌هایش بچه‌اش": "فرزند",
    "داداش داداشش": "برادر",
    "آبجی آبجیش": "خواهر",
}
_WRITTEN: dict[str, str] = {
    search_key(spoken): search_key(written)
    for spokens, written in _SPOKEN.items()
    for spoken in spokens.split()
}


def as_written(tokens: Iterable[str]) -> list[str]:
    """`tokens` with each spoken Persian word replaced by the word written text uses
    for it («اسم» → «نام», «بابا» → «پدر»). For Persian questions only: Arabic
    writes «اسم» too."""
    return [_WRITTEN.get(t, t) for t in tokens]
