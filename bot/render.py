"""Telegram HTML for answers and passages: escaped, bidi-safe, split to Telegram's limit.

Every piece of text is escaped here, in code; nothing a model or a source wrote
is ever passed through as markup. Lines that mix right-to-left and left-to-right
text get Unicode isolates, so "[2]", "ISIS-K" or "2015" inside Dari or Arabic
show in the right order.
"""

from __future__ import annotations

import html
import re
import unicodedata

from bot.sources import byline
from bot.storage import AnswerRecord, CitedPassage
from prompts import text

__all__ = [
    "MAX_MESSAGE",
    "escape_text",
    "isolate",
    "render_answer",
    "render_passages",
    "source_line",
    "source_list",
    "split_html",
    "to_plain",
    "to_terminal",
    "ui_html",
    "ui_text",
    "utf16_len",
]

#: Telegram's limit on a message's text, in UTF-16 code units after entity parsing.
MAX_MESSAGE = 4096

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
LRM, RLM = "\u200e", "\u200f"

_MARKER = r"\[\d{1,3}\]"
_LATIN = r"A-Za-z0-9\u00c0-\u024f"
# A left-to-right run: Latin words and ASCII digits, with the spaces and
# punctuation between them, ending on a letter, digit or closing mark. A command's
# slash belongs to it: an isolate between "/" and "help" would stop Telegram from
# seeing a command the reader can tap.
_LTR_RUN = re.compile(
    rf"{_MARKER}|/?[{_LATIN}](?:[{_LATIN} .,:;'’/&%+()\-]*[{_LATIN}%).])?(?:\s*{_MARKER})*"
)
_ARABIC_SCRIPT = "\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc"
# A right-to-left run inside a left-to-right line: Arabic-script words and what lies
# between them, up to the next Latin letter.
_RTL_RUN = re.compile(rf"[{_ARABIC_SCRIPT}](?:[^A-Za-z\n]*[{_ARABIC_SCRIPT}])?")


def _first_strong(line: str) -> str | None:
    for ch in line:
        kind = unicodedata.bidirectional(ch)
        if kind == "L":
            return "ltr"
        if kind in {"R", "AL"}:
            return "rtl"
    return None


# Tags and character references: never text to wrap (an isolate inside "&lt;" breaks it).
_TAG = re.compile(r"(<[^>]+>|&#?\w+;)")


def isolate(plain: str, default: str = "ltr", *, markup: bool = False) -> str:
    """Wrap each line's opposite-direction runs (and `[n]` in RTL lines) in isolates.

    A line's direction is that of its first strong character, as in Telegram's
    clients; `default` ("rtl" or "ltr") is used for lines without one. With
    `markup`, HTML tags and entities are left alone and do not count as text.
    """
    out = []
    for line in plain.split("\n"):
        pieces = _TAG.split(line) if markup else [line]
        visible = "".join(pieces[0::2])
        run, mark = (
            (_LTR_RUN, LRI) if (_first_strong(visible) or default) == "rtl" else (_RTL_RUN, RLI)
        )
        pieces[0::2] = [
            run.sub(lambda m, mark=mark: mark + m.group(0) + PDI, x) for x in pieces[0::2]
        ]
        out.append("".join(pieces))
    return "\n".join(out)


def _direction(lang: str) -> str:
    return "rtl" if lang in {"fa", "ar", "ps", "ur"} else "ltr"


#: Control characters (C0 but tab and newline, DEL, C1): an uploaded file may hold
#: them, and Telegram must never be sent them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(plain: str) -> str:
    """`plain` without control characters (a carriage return becomes a line break)."""
    return _CONTROL.sub("", plain.replace("\r\n", "\n").replace("\r", "\n"))


def escape_text(plain: str, lang: str) -> str:
    """Plain text → escaped, isolated HTML text, control characters left out."""
    return html.escape(isolate(printable(plain), _direction(lang)), quote=False)


def ui_text(key: str, lang: str, **values: object) -> str:
    """A UI string as plain text (button labels, alerts), isolated like the rest."""
    return isolate(text(key, lang, **values), _direction(lang))


def ui_html(key: str, lang: str, **values: object) -> str:
    """A UI string (which may hold our own tags) with its values escaped."""
    safe = {k: html.escape(str(v), quote=False) for k, v in values.items()}
    return isolate(text(key, lang, **safe), _direction(lang), markup=True)


def source_line(c: CitedPassage, lang: str, numbers: tuple[int, ...] = ()) -> str:
    """`[1] Title — author, publisher, date`, each field isolated, in the UI's direction.

    `numbers`: every citation of this document when several passages share one line.
    """
    where = byline(c.author, c.publisher, c.date, lang)
    mark = RLM if _direction(lang) == "rtl" else LRM
    title = html.escape(FSI + printable(c.title) + PDI, quote=False)
    if c.url:
        title = f'<a href="{html.escape(c.url)}">{title}</a>'
    markers = "".join(f"[{n}]" for n in numbers or (c.n,))
    line = f"{mark}{LRI}{markers}{PDI} {title}"
    if where:
        line += " — " + html.escape(FSI + printable(where) + PDI, quote=False)
    return line


def source_list(record: AnswerRecord, lang: str) -> str:
    """One line per document cited: two passages of one document share `[1][2] Title`."""
    by_doc: dict[str, list[CitedPassage]] = {}
    for c in record.citations:
        by_doc.setdefault(c.doc_id, []).append(c)
    return "\n".join(
        source_line(cited[0], lang, tuple(c.n for c in cited)) for cited in by_doc.values()
    )


def render_answer(record: AnswerRecord, ui_lang: str) -> str:
    """The answer, its notes in italics, and the compact source list."""
    parts = [escape_text(record.answer, record.language)]
    parts += [f"<i>{escape_text(note, record.language)}</i>" for note in record.notes]
    if record.citations:
        parts.append(source_list(record, ui_lang))
    return "\n\n".join(parts)


def render_passages(record: AnswerRecord, ui_lang: str, only: int | None = None) -> str:
    """Cited passages as expandable blockquotes, title and link above, quote in bold."""
    blocks = []
    for c in record.citations:
        if only is not None and c.n != only:
            continue
        head = source_line(c, ui_lang)
        if c.url:
            head += (
                f'\n<a href="{html.escape(c.url)}">{html.escape(text("open_source", ui_lang))}</a>'
            )
        before, quote, after = (
            c.text[: c.quote_start],
            c.text[c.quote_start : c.quote_end],
            c.text[c.quote_end :],
        )
        body = escape_text(before, c.lang) + (
            f"<b>{escape_text(quote, c.lang)}</b>" if quote else ""
        )
        body += escape_text(after, c.lang)
        blocks.append(f"{head}\n<blockquote expandable>{body.strip()}</blockquote>")
    return "\n\n".join(blocks)


def utf16_len(plain: str) -> int:
    return len(plain.encode("utf-16-le")) // 2


_TOKENS = re.compile(r"<(/?)([a-z-]+)(?:\s[^>]*)?>|([^<]+)")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def _units(escaped: str) -> list[tuple[str, int]]:
    """Escaped text as (piece, UTF-16 length once parsed), an entity being one piece."""
    pieces: list[tuple[str, int]] = []
    pos = 0
    for m in _ENTITY.finditer(escaped):
        pieces += [(ch, utf16_len(ch)) for ch in escaped[pos : m.start()]]
        pieces.append((m.group(0), utf16_len(html.unescape(m.group(0)))))
        pos = m.end()
    pieces += [(ch, utf16_len(ch)) for ch in escaped[pos:]]
    return pieces


def _cut(units: list[tuple[str, int]], room: int) -> int:
    """How many units to keep: the last paragraph, line, sentence or word break that fits."""
    total, fit = 0, 0
    for i, (_, n) in enumerate(units):
        if total + n > room:
            break
        total += n
        fit = i + 1
    kept = "".join(p for p, _ in units[:fit])
    for sep in ("\n\n", "\n", ". ", "。", "؟ ", "? ", " "):
        at = kept.rfind(sep)
        if at >= fit // 2 and at > 0:
            return len(_units(kept[: at + len(sep)]))
    return fit


def split_html(markup: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split Telegram HTML into messages of at most `limit` visible UTF-16 units.

    Cuts fall on paragraph, line, sentence or word breaks where possible; tags
    open at a cut are closed there and reopened in the next message.
    """
    messages: list[str] = []
    current: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag)
    size = 0

    def flush() -> None:
        nonlocal current, size
        if size > 0:
            closing = "".join(f"</{name}>" for name, _ in reversed(stack))
            messages.append("".join(current).rstrip() + closing)
        current, size = [tag for _, tag in stack], 0

    for m in _TOKENS.finditer(markup):
        if m.group(3) is None:
            closing, name = m.group(1), m.group(2)
            if closing and stack and stack[-1][0] == name:
                stack.pop()
            elif not closing:
                stack.append((name, m.group(0)))
            current.append(m.group(0))
            continue
        units = _units(m.group(3))
        pos, remaining = 0, sum(n for _, n in units)
        while pos < len(units):
            if size + remaining <= limit:
                current.append("".join(p for p, _ in units[pos:]))
                size += remaining
                break
            room = limit - size
            # Every unit is at least one UTF-16 unit long: no more than `room` can fit,
            # so each cut looks at a window of the text, never at all of what is left.
            keep = _cut(units[pos : pos + room], room)
            if keep == 0 and size == 0:
                keep = 1  # a single unit larger than the limit cannot happen; stay safe
            taken = units[pos : pos + keep]
            current.append("".join(p for p, _ in taken))
            used = sum(n for _, n in taken)
            size += used
            remaining -= used
            pos += keep
            flush()
            while pos < len(units) and units[pos][0] in " \n":
                remaining -= units[pos][1]
                pos += 1
    flush()
    return messages or [""]


def to_plain(markup: str) -> str:
    """The visible text of Telegram HTML (for a plain-text resend or the terminal)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


_DIRECTION_MARKS = str.maketrans("", "", LRM + RLM + LRI + RLI + FSI + PDI)


def to_terminal(markup: str) -> str:
    """The visible text without direction marks: terminals reorder (or not) on their
    own, and isolates would only show as boxes."""
    return to_plain(markup).translate(_DIRECTION_MARKS)
