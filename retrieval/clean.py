"""Tell a document's text from the page furniture around it.

Nothing here edits text: each paragraph (a line of the original) keeps its exact
offsets, and furniture is only *marked*, with the reason, so the indexer can leave
it out and a test can say why a line went. The rules follow what scraped pages in
Dari, Persian and Arabic carry (see `data/corpus/` and its README):

- teasers of other articles cut off with "…" (and the headline lines between them);
- share/print/comment buttons and "back to top" links, in several languages;
- captcha lines ("* اكتب ناتج 6 + 9");
- publisher front matter ending in a copyright line, bare URLs and e-mail addresses;
- captions of figures that are not there;
- paragraphs repeated verbatim (or nearly) elsewhere in the same page.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.normalize import key_words, search_key, shingles_of

__all__ = ["Paragraph", "has_words", "split_paragraphs"]

_TEASER_END = re.compile(r"(…|\.\.\.)\s*$")
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)
_URL_ONLY = re.compile(r"^<?\s*((https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+)\s*>?$", re.I)
_COPYRIGHT = re.compile(
    r"©|\(c\)\s*\d{4}|all rights reserved|حقوق النشر|حقوق الطبع|کلیه حقوق|تمام حقوق", re.I
)
_SINCE = re.compile(r"^(since|منذ|از سال)\s+\d{4}$", re.I)
_CAPTION = re.compile(
    r"^(الشكل|شکل|نمودار|الجدول|جدول|figure|fig\.|table|chart)\s*[\d٠-٩۰-۹]", re.I
)
_SOURCE_LABEL = re.compile(r"^(المصدر|المصادر|منبع|منابع|source|sources)\s*[::]?$", re.I)
_ARITHMETIC = re.compile(r"\d+\s*[-+×x*]\s*\d+")
_CAPTCHA_WORD = re.compile(r"captcha|ناتج|حاصل|result|answer|اكتب|بنویسید|وارد کنید|solve", re.I)
_CMS_BOILERPLATE = re.compile(
    r"inner related node field|this section contains relevant reference points", re.I
)

# Words that, alone on a line, make it a button or a link of the page's chrome.
_BUTTON_WORDS = frozenset(
    search_key(w)
    for w in [
        "share",
        "facebook",
        "twitter",
        "whatsapp",
        "telegram",
        "linkedin",
        "email",
        "e-mail",
        "print",
        "tweet",
        "comment",
        "comments",
        "reply",
        "like",
        "read",
        "more",
        "back",
        "to",
        "top",
        "next",
        "previous",
        "home",
        "print-friendly",
        "pdf",
        "طباعة",
        "طباعه",
        "عودة",
        "للأعلى",
        "للاعلى",
        "اضافة",
        "إضافة",
        "تعليق",
        "تعليقات",
        "شارك",
        "مشاركة",
        "فيسبوك",
        "تويتر",
        "واتساب",
        "اقرأ",
        "المزيد",
        "أيضا",
        "ايضا",
        "التالي",
        "السابق",
        "الرئيسية",
        "إرسال",
        "ارسال",
        "چاپ",
        "پرینت",
        "اشتراک",
        "گذاری",
        "اشتراکگذاری",
        "ارسال",
        "نظر",
        "نظرات",
        "بازگشت",
        "به",
        "بالا",
        "بیشتر",
        "بخوانید",
        "ادامه",
        "مطلب",
        "فیسبوک",
        "توییتر",
        "واتساپ",
        "تلگرام",
        "ایمیل",
        "شریکول",
        "چاپول",
        "نظر",
        "ورکړئ",
    ]
)


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One line of the original text, with its offsets and, if furniture, why."""

    start: int
    end: int
    text: str
    furniture: str | None = None

    @property
    def kept(self) -> bool:
        return self.furniture is None


def has_words(text: str) -> bool:
    """Whether `text` has a letter or digit: punctuation, invisible marks and emoji alone
    do not make a paragraph, nor a question."""
    return bool(_HAS_WORD.search(text))


def split_paragraphs(text: str, words: Callable[[str], list[str]] = key_words) -> list[Paragraph]:
    """Split `text` into paragraphs (non-blank lines) and mark the furniture.
    `words`: a paragraph's key words (`key_words`), for comparing paragraphs."""
    paras = list(_lines(text))
    reasons: list[str | None] = [_line_reason(p.text) for p in paras]
    _mark_front_matter(paras, reasons)
    _mark_teaser_blocks(paras, reasons)
    _mark_duplicates(paras, reasons, words)
    return [
        p if reason is None else Paragraph(p.start, p.end, p.text, reason)
        for p, reason in zip(paras, reasons, strict=True)
    ]


def _lines(text: str) -> list[Paragraph]:
    out = []
    for match in re.finditer(r"[^\n]+", text):
        # A byte-order mark stays in the text (offsets count it) but never in a paragraph.
        skipped, stripped = _trimmed(match.group())
        if not stripped:
            continue
        start = match.start() + skipped
        out.append(Paragraph(start, start + len(stripped), stripped))
    return out


def _trimmed(line: str) -> tuple[int, str]:
    """`line` without the white space and byte-order marks around it, and how many
    characters went from its start (str.strip's white space is the regex's \\s)."""
    left = line.lstrip()
    while left.startswith("\ufeff"):
        left = left.lstrip("\ufeff").lstrip()
    right = left.rstrip()
    while right.endswith("\ufeff"):
        right = right.rstrip("\ufeff").rstrip()
    return len(line) - len(left), right


def _line_reason(line: str) -> str | None:
    """Furniture that a single line shows by itself."""
    if not has_words(line):
        return "punctuation"
    if _URL_ONLY.match(line) or _SINCE.match(line) or _SOURCE_LABEL.match(line):
        return "link"
    # The cheap tests first: a long paragraph is never scanned for short lines' marks.
    if len(line) < 200 and _COPYRIGHT.search(line):
        return "copyright"
    if _may_be_cms_boilerplate(line) and _CMS_BOILERPLATE.search(line):
        return "boilerplate"
    if len(line) < 100 and _ARITHMETIC.search(line) and _CAPTCHA_WORD.search(line):
        return "captcha"
    if len(line) < 80:
        words = re.findall(r"\w+", search_key(line))
        if words and all(w in _BUTTON_WORDS for w in words):
            return "button"
    if len(line) < 300 and _CAPTION.match(line):
        return "caption"
    if len(line) < 400 and _TEASER_END.search(line):
        return "teaser"
    return None


def _may_be_cms_boilerplate(line: str) -> bool:
    """Whether `line` could match `_CMS_BOILERPLATE`: each of its phrases has a word
    whose letters have no case-insensitive match but their own upper and lower case
    (unlike i, k and s), so a match lowers to that word: a substring test is far
    cheaper than the case-insensitive scan."""
    low = line.lower()
    return "node" in low or "reference" in low


def _mark_front_matter(paras: list[Paragraph], reasons: list[str | None]) -> None:
    """A publisher's blurb: everything before a copyright line near the top.

    The blurb ends at the copyright line and the contact lines right after it
    (site, e-mail, "Since 2014").
    """
    total = sum(len(p.text) for p in paras) or 1
    seen = 0
    last = -1
    for i, p in enumerate(paras):
        if seen > 0.3 * total:
            break
        seen += len(p.text)
        if reasons[i] == "copyright":
            last = i
    if last < 0:
        return
    while last + 1 < len(paras) and reasons[last + 1] in {"link", "copyright", "punctuation"}:
        last += 1
    for i in range(last + 1):
        reasons[i] = reasons[i] or "front matter"


def _mark_teaser_blocks(paras: list[Paragraph], reasons: list[str | None]) -> None:
    """Lists of other articles: runs of short lines, several cut off with "…".

    A headline in such a list is not cut off, so the whole run goes, not just
    its teasers. A run is only taken at the top or bottom of the page, where
    such lists stand, and only if no paragraph in it is long enough to be text.
    """
    short = [len(p.text) < 300 for p in paras]
    teasers = [i for i, r in enumerate(reasons) if r == "teaser"]
    if len(teasers) < 2:
        return
    long_at = [i for i, s in enumerate(short) if not s]
    first_long = long_at[0] if long_at else len(paras)
    last_long = long_at[-1] if long_at else -1
    head = [i for i in teasers if i <= first_long]
    if len(head) >= 2:
        end = head[-1]
        while end + 1 < len(paras) and reasons[end + 1] == "punctuation":
            end += 1
        for i in range(end + 1):
            reasons[i] = reasons[i] or "teaser list"
    tail = [i for i in teasers if i > last_long]
    if len(tail) >= 2:
        for i in range(tail[0], len(paras)):
            reasons[i] = reasons[i] or "teaser list"


#: A word run shared by more paragraphs than this is boilerplate: only the first of
#: them are compared through it, which keeps duplicate marking near linear.
_POSTING_CAP = 64


def _mark_duplicates(
    paras: list[Paragraph], reasons: list[str | None], words: Callable[[str], list[str]]
) -> None:
    """A paragraph whose word sequence mostly stands in a longer (or earlier) one.

    Candidates come from an inverted index of 5-word runs, so each paragraph is
    compared only with those that share its runs, not with every other one.
    """
    live = [i for i, r in enumerate(reasons) if r is None]
    grams = {i: shingles_of(words(paras[i].text), 5) for i in live}
    # A run only one paragraph has counts for no other: most runs, in most text. The
    # runs seen twice or more are found with set operations (in C), and only they
    # get postings.
    seen: set[tuple[str, ...]] = set()
    repeated: set[tuple[str, ...]] = set()
    for i in live:
        repeated |= grams[i] & seen
        seen |= grams[i]
    common = {i: grams[i] & repeated for i in live}
    # Only a paragraph most of whose runs stand elsewhere can be a duplicate, and only
    # its runs need postings: in most text no paragraph's, and none are built.
    candidates = [i for i in live if grams[i] and len(common[i]) >= 0.8 * len(grams[i])]
    wanted: set[tuple[str, ...]] = set().union(*(common[i] for i in candidates))
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i in live if wanted else ():
        for gram in common[i] & wanted:
            if len(postings[gram]) < _POSTING_CAP:
                postings[gram].append(i)
    for i in candidates:
        need = 0.8 * len(grams[i])
        shared: Counter[int] = Counter()
        for gram in common[i]:
            shared.update(postings[gram])
        for j, count in sorted(shared.items()):
            if count < need or i == j or reasons[j] is not None:
                continue
            longer = len(paras[j].text) > len(paras[i].text) or (
                len(paras[j].text) == len(paras[i].text) and j < i
            )
            if longer:
                reasons[i] = "duplicate"
                break
