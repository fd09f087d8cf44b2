"""The opt-in message log that summaries are made from, in the chat store.

Nothing is stored until a chat admin turns logging on (`/summaries on`). Then each
text message or caption is kept: chat, forum topic, message id, author's name and
id, date, text and the message it replies to. An edit replaces the text; a message
holding the opt-out tag (`#nosummary`) is never kept, and an edit that adds the tag
removes it. Rows go after `summary_log_days`, or when a chat holds more than
`summary_log_max` of them (oldest first). `/forget` empties a chat's log,
`/forgetme` removes one person's messages from every log.

A summary keeps only message ids, so its buttons show what the log still holds:
a forgotten message disappears from old summaries too.
"""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from bot.storage import ChatStore

__all__ = ["ChatSummarySettings", "LoggedMessage", "MessageLog", "SummaryRecord"]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class LoggedMessage:
    chat_id: int
    message_id: int
    author: str
    date: float  # Unix time
    text: str
    author_id: int | None = None
    thread_id: int | None = None
    reply_to: int | None = None


@dataclass(frozen=True)
class ChatSummarySettings:
    chat_id: int
    logging: bool = False
    lang: str = "en"
    username: str | None = None
    digest: str | None = None  # "HH:MM" in `tz`
    tz: str = "UTC"


@dataclass(frozen=True)
class SummaryRecord:
    """What a summary's buttons need: each bullet's message ids in the log of `source`
    (the group or channel summarized), for the chat it was posted in."""

    id: str
    chat_id: int
    source: int
    lang: str
    bullets: list[list[int]]


_COLUMNS = "chat_id, message_id, author, date, text, author_id, thread_id, reply_to"


class MessageLog:
    """The message log, chat summary settings and summary records, over a `ChatStore`."""

    def __init__(self, store: ChatStore, *, days: float, per_chat: int, tag: str) -> None:
        self.store = store
        self.days = days
        self.per_chat = per_chat
        self.tag = tag.casefold()
        # Writes in arrival order, off the event loop.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sanad-log")

    async def io(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one of this log's methods on its own thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(call, *args, **kwargs))

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    # -- settings ---------------------------------------------------------------------

    def settings(self, chat_id: int) -> ChatSummarySettings:
        with self.store.transaction() as cur:
            row = cur.execute(
                "SELECT logging, lang, username, digest, tz FROM chat_settings WHERE chat_id = ?",
                (chat_id,),
            ).fetchone()
        if row is None:
            return ChatSummarySettings(chat_id)
        return ChatSummarySettings(chat_id, bool(row[0]), row[1], row[2], row[3], row[4])

    def update_settings(self, chat_id: int, **changes: object) -> ChatSummarySettings:
        """Change some of a chat's settings (`logging`, `lang`, `username`, `digest`, `tz`)."""
        allowed = {"logging", "lang", "username", "digest", "tz"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown chat settings: {sorted(unknown)}")
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT INTO chat_settings (chat_id) VALUES (?) ON CONFLICT (chat_id) DO NOTHING",
                (chat_id,),
            )
            for name, value in changes.items():
                sql = f"UPDATE chat_settings SET {name} = ? WHERE chat_id = ?"  # noqa: S608 (names checked above)
                cur.execute(sql, (value, chat_id))
        return self.settings(chat_id)

    def chat_named(self, username: str) -> ChatSummarySettings | None:
        """The logged chat with this public @username."""
        with self.store.transaction() as cur:
            row = cur.execute(
                "SELECT chat_id FROM chat_settings WHERE lower(username) = lower(?)",
                (username.lstrip("@"),),
            ).fetchone()
        return self.settings(int(row[0])) if row else None

    def claim_digest(self, chat_id: int, day: str) -> bool:
        """Take the chat's digest of `day` (its local date) to post; False if a process
        (another replica, or this one before a restart) has already taken it."""
        with self.store.transaction() as cur:
            taken = cur.execute(
                "UPDATE chat_settings SET digest_posted = ? WHERE chat_id = ?"
                " AND (digest_posted IS NULL OR digest_posted <> ?)",
                (day, chat_id, day),
            ).rowcount
        return taken == 1

    def digests(self) -> list[ChatSummarySettings]:
        """Chats with a daily digest."""
        with self.store.transaction() as cur:
            rows = cur.execute(
                "SELECT chat_id FROM chat_settings WHERE digest IS NOT NULL"
            ).fetchall()
        return [self.settings(int(r[0])) for r in rows]

    # -- the log ------------------------------------------------------------------------

    def keep(self, message: LoggedMessage) -> bool:
        """Store a new or edited message if its chat logs and it has no opt-out tag; an
        edit that adds the tag removes the stored message. True if it is stored now."""
        if not self.settings(message.chat_id).logging:
            return False
        with self.store.transaction() as cur:
            if self.tag and self.tag in message.text.casefold():
                cur.execute(
                    "DELETE FROM chat_log WHERE chat_id = ? AND message_id = ?",
                    (message.chat_id, message.message_id),
                )
                return False
            cur.execute(
                f"INSERT INTO chat_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "  # noqa: S608
                "ON CONFLICT (chat_id, message_id) DO UPDATE SET author = excluded.author, "
                "date = excluded.date, text = excluded.text, author_id = excluded.author_id, "
                "thread_id = excluded.thread_id, reply_to = excluded.reply_to",
                _row(message),
            )
        return True

    def import_messages(self, messages: Sequence[LoggedMessage]) -> int:
        """Add messages from a chat export to a chat that logs; the tag is honoured and a
        message already kept is not changed. How many were added."""
        rows = [_row(m) for m in messages if not (self.tag and self.tag in m.text.casefold())]
        with self.store.transaction() as cur:
            added = cur.executemany(
                f"INSERT INTO chat_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "  # noqa: S608
                "ON CONFLICT (chat_id, message_id) DO NOTHING",
                rows,
            ).rowcount
        self.purge()
        return added

    def window(
        self,
        chat_id: int,
        *,
        cap: int,
        since: float | None = None,
        from_id: int | None = None,
        last: int | None = None,
        thread_id: int | None = None,
    ) -> tuple[list[LoggedMessage], bool]:
        """The chat's messages (oldest first) since a time, from a message id on, or the
        `last` N; in one forum topic when `thread_id` is given. At most `cap`, the newest;
        True when the cap cut the window."""
        where: list[str] = ["chat_id = ?"]
        params: list[float] = [chat_id]
        if since is not None:
            where.append("date >= ?")
            params.append(since)
        if from_id is not None:
            where.append("message_id >= ?")
            params.append(from_id)
        if thread_id is not None:
            where.append("thread_id = ?")
            params.append(thread_id)
        limit = min(cap, last) if last is not None else cap
        with self.store.transaction() as cur:
            rows = cur.execute(
                # Only this method's fixed conditions are joined in; values are parameters.
                f"SELECT {_COLUMNS} FROM chat_log WHERE {' AND '.join(where)} "  # noqa: S608
                "ORDER BY date DESC, message_id DESC LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
        cut = len(rows) > limit and (last is None or last > cap)
        return [_message(r) for r in reversed(rows[:limit])], cut

    def last_from(self, chat_id: int, author_id: int, before_id: int) -> LoggedMessage | None:
        """`author_id`'s last message in the chat before message `before_id`."""
        with self.store.transaction() as cur:
            row = cur.execute(
                f"SELECT {_COLUMNS} FROM chat_log WHERE chat_id = ? AND author_id = ? "  # noqa: S608
                "AND message_id < ? ORDER BY message_id DESC LIMIT 1",
                (chat_id, author_id, before_id),
            ).fetchone()
        return _message(row) if row else None

    def messages(self, chat_id: int, ids: Sequence[int]) -> list[LoggedMessage]:
        """The messages with these ids that the log still holds, in id order."""
        with self.store.transaction() as cur:
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM chat_log WHERE chat_id = ? AND message_id IN "  # noqa: S608
                f"({', '.join('?' * len(ids))}) ORDER BY message_id",
                (chat_id, *ids),
            ).fetchall()
        return [_message(r) for r in rows]

    def forget_chat(self, chat_id: int) -> int:
        with self.store.transaction() as cur:
            return int(cur.execute("DELETE FROM chat_log WHERE chat_id = ?", (chat_id,)).rowcount)

    def forget_author(self, author_id: int) -> int:
        with self.store.transaction() as cur:
            return int(
                cur.execute("DELETE FROM chat_log WHERE author_id = ?", (author_id,)).rowcount
            )

    def purge(self, now: float | None = None) -> int:
        """Drop messages older than the retention, and each chat's oldest beyond its cap."""
        cutoff = (now if now is not None else time.time()) - self.days * 86400
        with self.store.transaction() as cur:
            gone = int(cur.execute("DELETE FROM chat_log WHERE date < ?", (cutoff,)).rowcount)
            full = cur.execute(
                "SELECT chat_id FROM chat_log GROUP BY chat_id HAVING count(*) > ?",
                (self.per_chat,),
            ).fetchall()
            for (chat_id,) in full:
                gone += cur.execute(
                    "DELETE FROM chat_log WHERE chat_id = ? AND message_id NOT IN (SELECT "
                    "message_id FROM chat_log WHERE chat_id = ? ORDER BY date DESC, "
                    "message_id DESC LIMIT ?)",
                    (chat_id, chat_id, self.per_chat),
                ).rowcount
        return gone

    # -- summaries, for their buttons ---------------------------------------------------

    def save_summary(
        self, chat_id: int, source: int, lang: str, bullets: list[list[int]]
    ) -> SummaryRecord:
        """Keep a summary posted in `chat_id` under a new unguessable id (11 characters)."""
        record = SummaryRecord(secrets.token_urlsafe(8), chat_id, source, lang, bullets)
        body = json.dumps({"source": source, "lang": lang, "bullets": bullets})
        with self.store.transaction() as cur:
            cur.execute(
                "INSERT INTO summaries (id, chat_id, created, body) VALUES (?, ?, ?, ?)",
                (record.id, chat_id, time.time(), body),
            )
        return record

    def summary(self, summary_id: str, chat_id: int) -> SummaryRecord | None:
        """The summary `summary_id`, if it was posted in chat `chat_id`."""
        with self.store.transaction() as cur:
            row = cur.execute(
                "SELECT body FROM summaries WHERE id = ? AND chat_id = ?", (summary_id, chat_id)
            ).fetchone()
        if row is None:
            return None
        body = json.loads(row[0])
        return SummaryRecord(
            summary_id, chat_id, int(body["source"]), str(body["lang"]), body["bullets"]
        )


def _row(m: LoggedMessage) -> tuple[object, ...]:
    return (
        m.chat_id,
        m.message_id,
        m.author,
        m.date,
        m.text,
        m.author_id,
        m.thread_id,
        m.reply_to,
    )


def _message(row: Sequence[object]) -> LoggedMessage:
    chat_id, message_id, author, date, text, author_id, thread_id, reply_to = row
    return LoggedMessage(
        int(str(chat_id)),
        int(str(message_id)),
        str(author),
        float(str(date)),
        str(text),
        int(str(author_id)) if author_id is not None else None,
        int(str(thread_id)) if thread_id is not None else None,
        int(str(reply_to)) if reply_to is not None else None,
    )
