"""Summaries of a logged chat, for Telegram and the terminal alike.

    window = parse_window(["24h"])                 # or "200", "3d", a message link, "all"
    messages = ...                                 # from `MessageLog.window`, or an export
    summary = summarize(chat_messages(messages))   # retrieval.summaries
    html = render_summary(summary, messages, lang, link_of)

Topics, picked messages and bullet checks come from `retrieval.summaries`; this
module turns them into a message: topic words, a short quote in its own language
(or the model's checked bullet), links built from message ids, who took part and
how many messages, all else in the reader's interface language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.chatlog import LoggedMessage
from bot.render import escape_text, isolate, printable, ui_html
from retrieval.summaries import ChatSummary, Topic, short_quote
from retrieval.threads import ChatMessage

__all__ = [
    "ClockOf",
    "LinkOf",
    "Window",
    "chat_messages",
    "in_window",
    "message_link",
    "parse_window",
    "render_messages",
    "render_summary",
]

_SPAN = re.compile(r"^(\d{1,4})\s*([mhd])$")
_UNIT_HOURS = {"m": 1 / 60, "h": 1.0, "d": 24.0}
_LINK = re.compile(
    r"^(?:https?://)?t\.me/(?:c/(?P<internal>\d+)|(?P<username>[A-Za-z]\w{3,31}))"
    r"(?:/(?P<thread>\d+))?/(?P<id>\d+)/?(?:\?.*)?$"
)
#: Longest time window: the longest a log may keep messages.
MAX_HOURS = 3650 * 24
#: Messages shown under one bullet's button.
SHOWN_MESSAGES = 10


@dataclass(frozen=True)
class Window:
    """Which messages `/summary` covers: the last `hours`, the `last` N, from message
    `from_id` on, or (all None) since the caller's last message, at most 24 hours.
    `whole_group`: in a forum topic, the whole group rather than the topic."""

    hours: float | None = None
    last: int | None = None
    from_id: int | None = None
    link_chat: str | None = None  # the link's chat: internal id or @username
    whole_group: bool = False


def parse_window(words: Sequence[str]) -> Window | None:
    """`2h`, `90m`, `3d`, `200`, a message link, `all`, or nothing; None if it does not
    parse. Persian and Arabic digits are read as digits."""
    hours = last = from_id = None
    link_chat = None
    whole = False
    for raw in words:
        word = raw.strip().lower()  # int() and \d read Persian and Arabic digits too
        span = _SPAN.match(word)
        link = _LINK.match(raw.strip())
        if word == "all" and not whole:
            whole = True
        elif span and hours is None and last is None and from_id is None:
            hours = int(span.group(1)) * _UNIT_HOURS[span.group(2)]
            if not 0 < hours <= MAX_HOURS:
                return None
        elif word.isdecimal() and hours is None and last is None and from_id is None:
            last = int(word)
            if last < 1:
                return None
        elif link and hours is None and last is None and from_id is None:
            from_id = int(link.group("id"))
            link_chat = link.group("internal") or "@" + link.group("username").lower()
        else:
            return None
    return Window(hours, last, from_id, link_chat, whole)


def message_link(
    chat_id: int, message_id: int, username: str | None = None, thread_id: int | None = None
) -> str | None:
    """The t.me link of a message: public chats by @username, private supergroups and
    channels by internal id (`-100` dropped); in a forum topic, through the topic.
    Basic groups have no message links (None)."""
    if username:
        base = f"https://t.me/{username.lstrip('@')}"
    elif str(chat_id).startswith("-100"):
        base = f"https://t.me/c/{str(chat_id)[4:]}"
    else:
        return None
    return f"{base}/{thread_id}/{message_id}" if thread_id else f"{base}/{message_id}"


def chat_messages(messages: Sequence[LoggedMessage]) -> list[ChatMessage]:
    """The log's messages as the retrieval layer reads them (time in minutes)."""
    return [ChatMessage(m.message_id, m.author, m.text, m.date / 60, m.reply_to) for m in messages]


def in_window(messages: Sequence[LoggedMessage], window: Window, cap: int) -> list[LoggedMessage]:
    """The messages (oldest first) an export's window covers, counted back from its last
    message rather than from now; the newest `cap` of them."""
    chosen = sorted(messages, key=lambda m: (m.date, m.message_id))
    if window.hours is not None and chosen:
        start = chosen[-1].date - window.hours * 3600
        chosen = [m for m in chosen if m.date >= start]
    if window.from_id is not None:
        chosen = [m for m in chosen if m.message_id >= window.from_id]
    if window.last is not None:
        chosen = chosen[-window.last :]
    return chosen[-cap:]


#: A message's t.me link (None where Telegram has none), and a time as the reader's clock.
LinkOf = Callable[[LoggedMessage], "str | None"]
ClockOf = Callable[[float], str]


def _anchors(ids: Sequence[int], by_id: dict[int, LoggedMessage], link_of: LinkOf) -> str:
    parts = []
    for n, message_id in enumerate(ids, 1):
        link = link_of(by_id[message_id])
        label = f"[{n}]" if link else f"[#{message_id}]"
        parts.append(f'<a href="{link}">{label}</a>' if link else label)
    return isolate(" ".join(parts), markup=True)


def _bullet(  # noqa: PLR0917 (private; one call site)
    n: int,
    topic: Topic,
    bullet: str | None,
    by_id: dict[int, LoggedMessage],
    lang: str,
    link_of: LinkOf,
) -> str:
    first = by_id[topic.picked[0]]
    said = bullet if bullet is not None else f"«{short_quote(first.text)}»"
    people = "، ".join(topic.authors[:4]) if lang in {"fa", "ar"} else ", ".join(topic.authors[:4])
    if len(topic.authors) > 4:
        people += " …"
    words = " · ".join(topic.words)
    head = f"<b>{n}. {escape_text(words, lang)}</b>\n" if words else f"<b>{n}.</b> "
    return (
        f"{head}{escape_text(printable(said), lang)} {_anchors(topic.picked, by_id, link_of)}\n"
        f"<i>{ui_html('summary_people', lang, people=printable(people), count=topic.size)}</i>"
    )


def render_summary(
    summary: ChatSummary,
    messages: Sequence[LoggedMessage],
    lang: str,
    link_of: LinkOf,
) -> str:
    """The summary as Telegram HTML: a header, a bullet per topic, then what was left out."""
    if not summary.topics and not summary.dropped:
        return ui_html("summary_nothing", lang)
    by_id = {m.message_id: m for m in messages}
    parts = [ui_html("summary_header", lang, count=len(messages))]
    for n, (topic, bullet) in enumerate(zip(summary.topics, summary.bullets, strict=True), 1):
        parts.append(_bullet(n, topic, bullet, by_id, lang, link_of))
    if summary.more_topics:
        parts.append(
            ui_html(
                "summary_more", lang, topics=summary.more_topics, messages=summary.more_messages
            )
        )
    if summary.dropped:
        parts.append(ui_html("summary_dropped", lang, count=summary.dropped))
    if summary.llm_failed:
        parts.append(ui_html("summary_llm_failed", lang))
    return "\n\n".join(parts)


def render_messages(
    messages: Sequence[LoggedMessage], total: int, lang: str, link_of: LinkOf, clock: ClockOf
) -> str:
    """A bullet's source messages: author, time and link, then the text as an expandable
    quote; at most `SHOWN_MESSAGES`, with how many more there are."""
    if not messages:
        return ui_html("summary_messages_gone", lang)
    parts = []
    for m in messages[:SHOWN_MESSAGES]:
        link = link_of(m)
        when = clock(m.date)
        head = f"<b>{escape_text(printable(m.author), lang)}</b> · {isolate(when)}"
        if link:
            head += f' · <a href="{link}">#{m.message_id}</a>'
        body = escape_text(printable(m.text), lang)
        parts.append(f"{head}\n<blockquote expandable>{body}</blockquote>")
    rest = total - min(len(messages), SHOWN_MESSAGES)
    if rest > 0:
        parts.append(ui_html("summary_messages_more", lang, count=rest))
    return "\n".join(parts)
