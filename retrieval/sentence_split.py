"""Where a text's sentences begin and end (`sentence_spans`), and each one's search
tokens (`tokenize_sentences`): what chunking groups into passages, and what the
sentence evidence, quotes and citation checks score one sentence at a time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from itertools import chain

from retrieval.normalize import key_words, tokens_of

__all__ = [
    "RUN_ON_LINE_CHARS",
    "SENTENCE_CLOSERS",
    "TokenizedSentence",
    "chunk_tokens",
    "sentence_spans",
    "tokenize_sentences",
    "trimmed",
]

# A sentence ends at . ! ? ؟ ؛ … (one or more, with closing quotes/brackets after
# them) followed by white space, or at the end of a paragraph. A dot between digits
# (12.5) is not an end, and neither is the Arabic comma ، nor the decimal mark ٫.
#: Characters a finished sentence (or a quoted one) may end with.
SENTENCE_CLOSERS = ".!?؟؛…:»\"'”)"

#: The marks (`_MARK`, one or more) are `(?:(?<!\d)\.(?!\d)|[!?؟؛…])+`, written so that
#: the pattern starts with a character class: the regex engine then skips to the
#: next mark in C rather than trying the alternatives at every position (10× faster).
_MARK = r"(?:(?<!\d)\.(?!\d)|[!?؟؛…])"
_SENTENCE_END = re.compile(
    r"[.!?؟؛…](?<=[!?؟؛…]|(?<!\d)\.)(?!(?<=\.)\d)" + _MARK + r"*[\"'»”’)\]]*(?=\s|$)"
)
# A dot after an initial («م. ثيو كيرني», "J. K. Rowling") or closing letters joined
# by dots («جی.کی.», "U.S.") ends an abbreviation, not a sentence.
_ABBREVIATION = re.compile(r"(?:(?:^|[^\w.])\w|\.\w{1,2})\Z")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, without surrounding white space.

    A sentence ends at a sentence mark or at the end of a line, unless the line is
    prose that stops mid-sentence (long, ending in a word): text laid out from a
    PDF or a scraped page breaks lines inside sentences, and a quote must not
    start halfway through one.
    """
    out: list[tuple[int, int]] = []
    pending: int | None = None  # where a sentence continued from an earlier line began
    lines = [m.span() for m in _LINE.finditer(text) if not m.group().isspace()]
    for n, (line_start, line_end) in enumerate(lines):
        pos = line_start if pending is None else pending
        for match in _SENTENCE_END.finditer(text, line_start, line_end):
            end = match.end()
            if match.group() == "." and _ABBREVIATION.search(text[max(0, end - 5) : end - 1]):
                continue
            span = trimmed(text, pos, end)
            if span is not None:
                out.append(span)
            pos = end
        if (
            n + 1 < len(lines)
            and _starts_with_letter(text, *lines[n + 1])
            and _runs_on(text, line_start, line_end, pos)
        ):
            pending = pos
            continue
        span = trimmed(text, pos, line_end)
        if span is not None:
            out.append(span)
        pending = None
    return out


_LINE = re.compile(r"[^\n]+")
#: How far into a line its first (or back from its end its last) visible character is
#: looked for before the whole line is read.
_LOOK = 64


def _starts_with_letter(text: str, start: int, end: int) -> bool:
    """Is the first character of the line `text[start:end]` after its white space a letter?"""
    head = text[start : min(end, start + _LOOK)].lstrip()
    if not head:  # the line starts with much white space
        head = text[start:end].lstrip()
    return head[:1].isalpha()


def trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """`text[start:end]` without its surrounding white space, or None if that is all."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    begin = start + (len(piece) - len(piece.lstrip()))
    return begin, begin + len(stripped)


#: A sentence's start and end in its chunk's text, and its search tokens.
TokenizedSentence = tuple[int, int, list[str]]


def chunk_tokens(sentences: Iterable[TokenizedSentence]) -> Iterator[str]:
    """A chunk's search tokens: its sentences' tokens, in order."""
    return chain.from_iterable(tokens for _, _, tokens in sentences)


def tokenize_sentences(
    text: str,
    words: Callable[[str], list[str]] = key_words,
    spans: list[tuple[int, int]] | None = None,
) -> list[TokenizedSentence]:
    """Every sentence of a chunk's `text` (`sentence_spans`), short ones too, with its
    search tokens (each sentence its own list). `words`: a sentence's key words
    (`key_words`; an ingest passes `SentenceFacts.words`, which works each out once);
    `spans`: the sentences, if already known (`chunk_with_sentences`)."""
    found = sentence_spans(text) if spans is None else spans
    return [(a, b, tokens_of(words(text[a:b]))) for a, b in found]


#: A line at least this long that ends in a word is taken to break inside a sentence.
RUN_ON_LINE_CHARS = 120
_RUN_ON_MIN_WORDS = 3


def _runs_on(text: str, line_start: int, line_end: int, tail_start: int) -> bool:
    """Does the sentence at the end of the line `text[line_start:line_end]` (its
    unfinished tail from `tail_start`) go on below?"""
    window = text[max(line_start, line_end - _LOOK) : line_end]
    last = window.rstrip()
    if last:
        kept = line_end - line_start - (len(window) - len(last))
    else:  # the line ends in much white space
        last = text[line_start:line_end].rstrip()
        kept = len(last)
    return (
        kept >= RUN_ON_LINE_CHARS
        and last[-1:].isalpha()
        and len(text[tail_start:line_end].split()) >= _RUN_ON_MIN_WORDS
    )
