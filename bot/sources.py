"""What a source list says of a document, in the reader's interface language.

Manifests mix languages: «ایندیپندنت فارسی (Independent Persian)», "2021 (autumn;
undated)", "after 2020". A reader gets each field in their own language where the
manifest has it, dates as dates (`2024-07-04`, `2021-10`, `2021`), and a free-text
note only when it is written in the interface language.
"""

from __future__ import annotations

import re

from prompts import text
from retrieval.language import detect_language

__all__ = ["byline", "date_for", "field_for"]

# "native (English) rest": the English gloss in parentheses, native text around it.
_GLOSSED = re.compile(r"^(?P<native>[^()]*?)\s*\((?P<gloss>[^()]*[A-Za-z][^()]*)\)(?P<rest>.*)$")
_ISO_DATE = re.compile(r"^(?P<date>\d{4}(?:-\d{2}(?:-\d{2})?)?)(?P<note>.*)$")
_RELATIVE = re.compile(r"^(?P<word>after|before|circa|c\.)\s+(?P<year>\d{4})\s*$", re.IGNORECASE)
_LATIN_ONLY = re.compile(r"^[^\u0600-\u06ff]*$")


def field_for(value: str, lang: str) -> str:
    """A name from the manifest in `lang`: the native part for fa/ar, the English gloss
    for en. A name given in one form only is shown as it is: a name is not a note."""
    value = value.strip()
    match = _GLOSSED.match(value)
    if match is None:
        return value
    native, gloss, rest = match["native"].strip(), match["gloss"].strip(), match["rest"].strip()
    if lang == "en":
        return f"{gloss}{rest}" if rest.startswith(",") else f"{gloss} {rest}".strip()
    # A Latin-only remainder (", translating War on the Rocks") is an English note.
    if rest and not _LATIN_ONLY.match(rest):
        return f"{native} {rest}".strip()
    return native or gloss


def date_for(value: str, lang: str) -> str:
    """A manifest date as a date; its free-text note only in its own language."""
    value = value.strip()
    match = _ISO_DATE.match(value)
    if match is not None:
        note = match["note"].strip()
        return f"{match['date']} {note}" if note and _readable(note, lang) else match["date"]
    relative = _RELATIVE.match(value)
    if relative is not None:
        word = relative["word"].lower().rstrip(".")
        key = "date_circa" if word in {"circa", "c"} else f"date_{word}"
        return text(key, lang, year=relative["year"])
    return value if _readable(value, lang) else ""


def byline(author: str, publisher: str, date: str, lang: str) -> str:
    """`author, publisher, date`: whichever of them the reader can read."""
    parts = (field_for(author, lang), field_for(publisher, lang), date_for(date, lang))
    separator = "، " if lang in {"fa", "ar"} else ", "
    return separator.join(p for p in parts if p)


def _readable(value: str, lang: str) -> bool:
    """A free-text note is shown when it is in the interface language (or has no words)."""
    if not re.search(r"[^\W\d_]", value):
        return True
    if lang == "en":
        return bool(_LATIN_ONLY.match(value))
    detected = detect_language(value)
    return detected == lang or (detected == "und" and not _LATIN_ONLY.match(value))
