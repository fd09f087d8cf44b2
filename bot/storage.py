"""Chat state: answer records, conversation memory, language choices, the inbox of
updates, and (through `bot.chatlog`) the summaries' message log.

Buttons under an answer carry only a short record id, so they keep working after
a restart; memory survives restarts too, and expires. One SQLite file,
`<data_dir>/chat.sqlite3`, shared by the Telegram bot and `sanad chat`; or, with
`SANAD_DATABASE_URL`, the same tables in PostgreSQL, shared by bot replicas.

PTB's own persistence stores dict-shaped chat data and writes it on an interval;
answers must be found by id from any button, at once, and by the terminal chat
as well, so they live here.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from retrieval.answer import Answer
from retrieval.config import Settings
from retrieval.database import Cursor, Database, SqliteDatabase, advisory_key, open_database
from retrieval.llm import Turn
from retrieval.migrations import Schema, migrate

__all__ = ["AnswerRecord", "ChatStore", "CitedPassage"]

#: The schema, as recorded migrations (`retrieval.migrations`), run on PostgreSQL with
#: its column types: append; never edit a step that shipped.
_SQLITE_STEPS = (
    """
    CREATE TABLE IF NOT EXISTS answers (
        id TEXT PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        user_id INTEGER,
        created REAL NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS answers_by_age ON answers(created);
    CREATE TABLE IF NOT EXISTS memory (
        key TEXT PRIMARY KEY,
        turns TEXT NOT NULL,
        last_answer TEXT,
        updated REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS languages (
        user_id INTEGER PRIMARY KEY,
        lang TEXT NOT NULL
    );
    """,
    """
    CREATE INDEX IF NOT EXISTS memory_by_age ON memory(updated);
    """,
    # Telegram updates as they arrive, before Telegram is told they arrived (see bot/inbox.py).
    """
    CREATE TABLE IF NOT EXISTS inbox (
        update_id INTEGER PRIMARY KEY,
        received REAL NOT NULL,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        done REAL
    );
    CREATE INDEX IF NOT EXISTS inbox_by_done ON inbox(done);
    """,
    # Group and channel summaries (see bot/chatlog.py): the opt-in message log, each
    # chat's summary settings, and the summaries whose buttons show their messages.
    """
    CREATE TABLE IF NOT EXISTS chat_log (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        thread_id INTEGER,
        author_id INTEGER,
        author TEXT NOT NULL,
        date REAL NOT NULL,
        text TEXT NOT NULL,
        reply_to INTEGER,
        PRIMARY KEY (chat_id, message_id)
    );
    CREATE INDEX IF NOT EXISTS chat_log_by_date ON chat_log(chat_id, date);
    CREATE INDEX IF NOT EXISTS chat_log_by_author ON chat_log(author_id);
    CREATE TABLE IF NOT EXISTS chat_settings (
        chat_id INTEGER PRIMARY KEY,
        logging INTEGER NOT NULL DEFAULT 0,
        lang TEXT NOT NULL DEFAULT 'en',
        username TEXT,
        digest TEXT,
        tz TEXT NOT NULL DEFAULT 'UTC'
    );
    CREATE TABLE IF NOT EXISTS summaries (
        id TEXT PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        created REAL NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS summaries_by_age ON summaries(created);
    """,
    # Per-user limits shared by replicas (bot/limits.py), and when an unhandled update was
    # last taken up, so that another replica takes over one whose replica died.
    """
    CREATE TABLE IF NOT EXISTS limit_events (kind TEXT NOT NULL, key INTEGER NOT NULL,
        at REAL NOT NULL);
    CREATE INDEX IF NOT EXISTS limit_events_by_key ON limit_events(kind, key, at);
    CREATE TABLE IF NOT EXISTS in_flight (user_id INTEGER PRIMARY KEY, started REAL NOT NULL);
    ALTER TABLE inbox ADD COLUMN claimed REAL;
    """,
    # The local day of each chat's last daily digest: replicas claim it, so one is posted.
    "ALTER TABLE chat_settings ADD COLUMN digest_posted TEXT",
)

SCHEMA = Schema("chat", sqlite=_SQLITE_STEPS)
CHAT_STORE_FILE = "chat.sqlite3"


def upgrade(db: Database) -> None:
    """Bring `db` to this release's chat schema; refuse one a newer Sanad wrote."""
    migrate(
        db,
        SCHEMA,
        unversioned=_unversioned,
        newer="point SANAD_DATA_DIR or SANAD_DATABASE_URL elsewhere",
    )


def _unversioned(cur: Cursor) -> int:
    """A file from before recorded versions, with its tables already there, is at step 1."""
    found = cur.execute("SELECT 1 FROM sqlite_master WHERE name = 'answers'").fetchone()
    return 1 if found else 0


#: Answers older than this are dropped; their buttons then say so.
ANSWER_DAYS = 90
#: Handled updates are remembered this long, so that one Telegram delivers again (it keeps
#: unconfirmed updates for 24 hours) is not handled twice.
HANDLED_UPDATE_DAYS = 2


@dataclass(frozen=True)
class CitedPassage:
    """What a button needs to show a cited passage, without the index."""

    n: int
    doc_id: str
    title: str
    publisher: str
    date: str
    url: str
    lang: str
    chunk_id: str
    text: str
    quote_start: int
    quote_end: int
    author: str = ""  # after quote_end: records stored before it had no author


@dataclass
class AnswerRecord:
    question: str
    language: str
    mode: str
    abstained: bool
    answer: str
    notes: list[str] = field(default_factory=list)
    citations: list[CitedPassage] = field(default_factory=list)
    id: str = ""

    @classmethod
    def from_answer(cls, answer: Answer) -> AnswerRecord:
        cited = []
        for c in answer.citations:
            doc = c.result.document
            cited.append(
                CitedPassage(
                    c.n,
                    doc.doc_id,
                    doc.title,
                    doc.publisher,
                    doc.date,
                    doc.url,
                    c.result.chunk.lang,
                    c.result.chunk.chunk_id,
                    c.text,
                    c.quote_start,
                    c.quote_end,
                    doc.author,
                )
            )
        return cls(
            answer.question,
            answer.language,
            answer.mode,
            answer.abstained,
            answer.answer,
            list(answer.notes),
            cited,
        )

    def citation(self, n: int) -> CitedPassage | None:
        return next((c for c in self.citations if c.n == n), None)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str, record_id: str) -> AnswerRecord:
        """A stored record; fields a newer or older Sanad wrote but this one does not
        know are left out, so that stored answers survive upgrades both ways."""
        data: dict[str, Any] = json.loads(raw)
        cited = [_known(CitedPassage, c) for c in data.get("citations", [])]
        data["citations"] = [CitedPassage(**c) for c in cited]
        data["id"] = record_id
        return cls(**_known(cls, data))


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}


class ChatStore:
    """Thread-safe chat state over a `Database` (a path means that SQLite file); every
    write is committed at once."""

    def __init__(
        self, db: Database | Path, *, memory_turns: int = 6, memory_hours: float = 24.0
    ) -> None:
        self.db: Database = (
            SqliteDatabase(db, keep_open=True, wal=True) if isinstance(db, Path) else db
        )
        self.memory_turns = memory_turns
        self.memory_seconds = memory_hours * 3600
        upgrade(self.db)
        self.purge()

    @classmethod
    def open(
        cls, settings: Settings, *, memory_turns: int = 6, memory_hours: float = 24.0
    ) -> ChatStore:
        """The chat store the settings name: `<data_dir>/chat.sqlite3`, or PostgreSQL."""
        db = open_database(settings, CHAT_STORE_FILE, busy=True)
        return cls(db, memory_turns=memory_turns, memory_hours=memory_hours)

    def purge(self) -> int:
        """Drop answers and summaries older than `ANSWER_DAYS`, expired conversation memory
        and the ids of long-handled updates (run at start and then on a schedule); return
        how many rows went. The message log has its own retention (`bot.chatlog`)."""
        now = time.time()
        with self.transaction() as cur:
            answers = cur.execute(
                "DELETE FROM answers WHERE created < ?", (now - ANSWER_DAYS * 86400,)
            )
            gone = answers.rowcount
            memory = cur.execute(
                "DELETE FROM memory WHERE updated < ?", (now - self.memory_seconds,)
            )
            gone += memory.rowcount
            handled = cur.execute(
                "DELETE FROM inbox WHERE done < ?", (now - HANDLED_UPDATE_DAYS * 86400,)
            )
            gone += handled.rowcount
            summaries = cur.execute(
                "DELETE FROM summaries WHERE created < ?", (now - ANSWER_DAYS * 86400,)
            )
            gone += summaries.rowcount
            # Limits: events long out of every window, marks of replicas that died.
            cur.execute("DELETE FROM limit_events WHERE at < ?", (now - 86400,))
            cur.execute("DELETE FROM in_flight WHERE started < ?", (now - 86400,))
        return gone

    def transaction(self) -> AbstractContextManager[Cursor]:
        """One transaction on the store (for `bot.chatlog`)."""
        return self.db.transaction()

    @contextmanager
    def exclusive_transaction(self, *names: str) -> Iterator[Cursor]:
        """A transaction that no other holding any of the same `names` overlaps, in any
        replica (PostgreSQL: advisory locks to the transaction's end, taken in one order
        so that two never wait on each other; SQLite: one writer)."""
        with self.db.transaction() as cur:
            if self.db.dialect == "postgresql":
                for key in sorted({advisory_key(name) for name in names}):
                    cur.execute("SELECT pg_advisory_xact_lock(?)", (key,))
            yield cur

    def close(self) -> None:
        self.db.close()

    # -- answers --------------------------------------------------------------------

    def save_answer(self, record: AnswerRecord, *, chat_id: int, user_id: int | None) -> str:
        """Store `record` under a new unguessable id (11 characters), and return it."""
        record.id = secrets.token_urlsafe(8)
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO answers (id, chat_id, user_id, created, body) VALUES (?, ?, ?, ?, ?)",
                (record.id, chat_id, user_id, time.time(), record.to_json()),
            )
        return record.id

    def answer(self, record_id: str, chat_id: int) -> AnswerRecord | None:
        """The answer `record_id`, if it was given in chat `chat_id`."""
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT body FROM answers WHERE id = ? AND chat_id = ?", (record_id, chat_id)
            ).fetchone()
        return AnswerRecord.from_json(row[0], record_id) if row else None

    # -- conversation memory ----------------------------------------------------------

    def history(self, key: str) -> list[Turn]:
        """The remembered turns for `key`, oldest first; none once they expired."""
        row = self._memory(key)
        if row is None:
            return []
        return [(q, a) for q, a in json.loads(row[0])]

    def last_answer(self, key: str, chat_id: int) -> AnswerRecord | None:
        """The last answer with sources remembered under `key`, given in chat `chat_id`."""
        row = self._memory(key)
        return self.answer(row[1], chat_id) if row and row[1] else None

    def _memory(self, key: str) -> tuple[str, str | None] | None:
        with self.transaction() as cur:
            row = cur.execute(
                "SELECT turns, last_answer, updated FROM memory WHERE key = ?", (key,)
            ).fetchone()
        if row is None or row[2] < time.time() - self.memory_seconds:
            return None
        return row[0], row[1]

    def remember(self, key: str, turn: Turn, answer_id: str | None) -> None:
        """Add a turn, keeping only the last `memory_turns` of them."""
        turns = [*self.history(key), turn][-self.memory_turns :] if self.memory_turns else []
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO memory (key, turns, last_answer, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET turns = excluded.turns, "
                "last_answer = COALESCE(excluded.last_answer, memory.last_answer), "
                "updated = excluded.updated",
                (key, json.dumps(turns, ensure_ascii=False), answer_id, time.time()),
            )

    def forget(self, key: str) -> None:
        with self.transaction() as cur:
            cur.execute("DELETE FROM memory WHERE key = ?", (key,))

    # -- interface language -------------------------------------------------------------

    def language(self, user_id: int) -> str | None:
        with self.transaction() as cur:
            row = cur.execute("SELECT lang FROM languages WHERE user_id = ?", (user_id,)).fetchone()
        return row[0] if row else None

    def set_language(self, user_id: int, lang: str) -> None:
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO languages (user_id, lang) VALUES (?, ?) "
                "ON CONFLICT(user_id) DO UPDATE SET lang = excluded.lang",
                (user_id, lang),
            )

    # -- inbox: updates received and not yet handled ------------------------------------

    def receive(self, update_id: int, body: str, *, lease: float = 120.0) -> bool:
        """Keep an update until it is handled, and take it up; False if it was seen
        before (delivered again, or already handled) and must not be handled again.

        One received but left unhandled for over `lease` seconds (the replica that took
        it died) is taken up again when Telegram delivers it anew.
        """
        now = time.time()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO inbox (update_id, received, body, claimed) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (update_id) DO UPDATE SET claimed = excluded.claimed, "
                "attempts = inbox.attempts + 1 "
                "WHERE inbox.done IS NULL AND COALESCE(inbox.claimed, inbox.received) < ?",
                (update_id, now, body, now, now - lease),
            )
            return cur.rowcount == 1

    def handled(self, update_id: int) -> None:
        """The update was handled: forget its content, remember its id for a while."""
        with self.transaction() as cur:
            cur.execute(
                "UPDATE inbox SET done = ?, body = '' WHERE update_id = ?", (time.time(), update_id)
            )

    def unhandled(self, *, older_than: float = 0.0) -> list[tuple[int, str, int]]:
        """Updates received but never handled, taken up at least `older_than` seconds ago
        (0: all; a restarted lone process left them), oldest first, each taken up again and
        counted as one more attempt: (update id, body, attempts before this one)."""
        now = time.time()
        with self.transaction() as cur:
            stale = "done IS NULL AND COALESCE(claimed, received) <= ?"
            rows = cur.execute(
                f"SELECT update_id, body, attempts FROM inbox WHERE {stale} ORDER BY update_id",  # noqa: S608
                (now - older_than,),
            ).fetchall()
            cur.executemany(
                "UPDATE inbox SET attempts = attempts + 1, claimed = ? WHERE update_id = ?",
                [(now, r[0]) for r in rows],
            )
        return [(int(i), str(body), int(n)) for i, body, n in rows]
