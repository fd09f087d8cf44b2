"""Separating the conversations that run at once in one chat.

A busy group holds several conversations interleaved. Each message is linked to
the earlier message it most likely answers, and the links' connected parts are
the conversations. The signals, strongest first (each constant chosen on the
development split of the public IRC set, `../shared/eval/chat/`, with
`benchmarks/threads.py`; never on its test split):

1. an explicit reply (Telegram's reply-to);
2. a name: a message that names an earlier author ("ali: try this", "@sara …")
   answers that author's latest message;
3. the author's own thread: someone who spoke a moment ago usually goes on with
   what they were saying, or answers whoever last addressed them;
4. shared words: otherwise the recent message whose rare words (search keys, the
   same as retrieval's) this one shares most;
5. none of these: a new conversation.

Join and leave notices and other system lines are conversations of their own.
Knows nothing of Telegram: a message is an id, a time, an author and a text.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from retrieval.normalize import tokenize

__all__ = ["ChatMessage", "read_chat_lines", "separate"]

#: How far back (messages) a message may link.
WINDOW = 60
#: The author's own thread continues within this many minutes …
OWN_MINUTES = 4
#: … unless this many other messages came between.
OWN_GAP = 20
#: Least IDF-weighted overlap for linking on shared words alone.
SHARED_WORDS = 0.5
#: A name is taken from a word of at least this many characters.
NAME_CHARS = 3

_NAME_EDGES = re.compile(r"^[@<(\[]+|[:,>)\].!?;]+$")


@dataclass(frozen=True)
class ChatMessage:
    """One message: `time` in minutes (None when unknown), `reply_to` an explicit reply."""

    id: int
    author: str
    text: str
    time: float | None = None
    reply_to: int | None = None
    system: bool = False


@dataclass
class _Seen:
    message: ChatMessage
    position: int
    addressed: frozenset[str]
    tokens: frozenset[str]
    root: int = field(default=-1)


def separate(messages: Sequence[ChatMessage]) -> dict[int, int]:
    """Each message's conversation: the id of the conversation's first message."""
    seen: list[_Seen] = []
    by_id: dict[int, _Seen] = {}
    authors: set[str] = set()
    df: Counter[str] = Counter()
    for position, message in enumerate(messages):
        tokens = frozenset(tokenize(message.text)) if not message.system else frozenset()
        item = _Seen(message, position, _names(message.text, authors, message.author), tokens)
        parent = None if message.system else _parent(item, seen, by_id, df)
        item.root = parent.root if parent is not None else message.id
        seen.append(item)
        by_id[message.id] = item
        if not message.system:
            authors.add(_key(message.author))
            df.update(tokens)
    return {s.message.id: s.root for s in seen}


def _parent(
    item: _Seen, seen: list[_Seen], by_id: dict[int, _Seen], df: Counter[str]
) -> _Seen | None:
    message = item.message
    if message.reply_to is not None and message.reply_to in by_id:
        return by_id[message.reply_to]
    recent = [s for s in seen[-WINDOW:] if not s.message.system]
    me = _key(message.author)
    if item.addressed:
        for s in reversed(recent):
            if _key(s.message.author) in item.addressed:
                return s
    own = next((s for s in reversed(recent) if _key(s.message.author) == me), None)
    asked = next((s for s in reversed(recent) if me in s.addressed), None)
    close = [
        s
        for s in (own, asked)
        if s is not None
        and item.position - s.position <= OWN_GAP
        and _minutes(s.message, message) <= OWN_MINUTES
    ]
    if close:
        return max(close, key=lambda s: s.position)
    return _most_alike(item, recent, df, len(seen))


def _most_alike(item: _Seen, recent: Iterable[_Seen], df: Counter[str], n: int) -> _Seen | None:
    if not item.tokens:
        return None
    weight = {t: math.log(1 + (n + 1) / (df[t] + 0.5)) for t in item.tokens}
    total = sum(weight.values())
    best, best_share = None, SHARED_WORDS
    for s in recent:
        share = sum(w for t, w in weight.items() if t in s.tokens) / total
        if share >= best_share:
            best, best_share = s, share
    return best


def _names(text: str, authors: set[str], author: str) -> frozenset[str]:
    """The earlier authors `text` names (not its own author)."""
    words = (_key(_NAME_EDGES.sub("", w)) for w in text.split()[:12])
    me = _key(author)
    return frozenset(w for w in words if len(w) >= NAME_CHARS and w in authors and w != me)


def _key(name: str) -> str:
    return name.casefold().lstrip("@")


def _minutes(earlier: ChatMessage, later: ChatMessage) -> float:
    if earlier.time is None or later.time is None:
        return 0.0
    gap = later.time - earlier.time
    return gap if gap >= 0 else gap + 24 * 60  # past midnight


def read_chat_lines(lines: Iterable[str]) -> tuple[list[ChatMessage], list[int]]:
    """Messages from JSON lines (`id`, `time` "HH:MM" or null, `author`, `text`, `type`,
    optional `reply_to_message`, `context`), and the ids to report: lines marked
    `"context": true` are read, not reported. Gold fields (`conv`, `reply_to`) are
    never read. Raises ValueError naming the line that is not a message."""
    messages, report = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            message = ChatMessage(
                int(record["id"]),
                str(record["author"]),
                str(record["text"]),
                _clock(record.get("time")),
                int(record["reply_to_message"])
                if record.get("reply_to_message") is not None
                else None,
                record.get("type", "message") not in {"message", "action"},
            )
        except KeyError as e:
            raise ValueError(f"line {n}: a chat message needs {e.args[0]!r}") from e
        except (ValueError, TypeError) as e:
            raise ValueError(f"line {n}: not a chat message ({e})") from e
        messages.append(message)
        if not record.get("context"):
            report.append(message.id)
    return messages, report


def _clock(value: object) -> float | None:
    """ "HH:MM" → minutes since midnight."""
    if value is None:
        return None
    hours, minutes = str(value).split(":")[:2]
    return int(hours) * 60 + int(minutes)
