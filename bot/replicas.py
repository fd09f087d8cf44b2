"""Several `sanad run` processes sharing one PostgreSQL database (SANAD_DATABASE_URL).

What each replica does on top of answering the updates it is sent:

- **Scheduled jobs once**: one replica holds a PostgreSQL advisory lock (`JobLeader`)
  and only that one posts daily digests and purges; the others try to take the lock
  every few seconds, and one gets it as soon as the holder's connection goes (it died).
  Each replica reloads the digest schedule from the database on the same beat, so a
  `/digest` set through any replica is posted by whichever holds the lock.
- **Updates taken over**: an update a replica received and never handled (it died
  mid-answer) is taken up by another once its lease ran out (`ChatStore.receive`,
  `bot.inbox.handle_unhandled`).
- **A newer corpus**: every replica checks the catalogue's version on the same beat
  and swaps in a new keyword index when `sanad ingest` (anywhere) changed it.

On SQLite there is one process: it always leads, and nothing needs taking over.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import replace
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.config import BotSettings
from bot.context import services
from bot.heap import settle_heap_again
from retrieval.database import Database, PostgresDatabase, advisory_key

__all__ = ["JobLeader", "leads", "schedule_replica_jobs"]

log = logging.getLogger(__name__)


class JobLeader:
    """Whether this process runs the scheduled jobs: always on SQLite; on PostgreSQL,
    while it holds the session-level advisory lock `sanad:jobs` on a connection of
    its own (PostgreSQL frees the lock when that connection dies with its process)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Any = None
        self._lock = threading.Lock()
        self.leading = db.dialect == "sqlite"

    def try_lead(self) -> bool:
        """Take the lock if it is free, or check it is still held; True while leading."""
        if not isinstance(self.db, PostgresDatabase):
            return True
        import psycopg

        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(
                        self.db.url, autocommit=True, connect_timeout=int(self.db.timeout)
                    )
                    self.leading = False
                if not self.leading:
                    row = self._conn.execute(
                        "SELECT pg_try_advisory_lock(%s)", (advisory_key("jobs"),)
                    ).fetchone()
                    self.leading = bool(row and row[0])
                    if self.leading:
                        log.warning("This replica now runs the scheduled jobs (digests, purge)")
                else:
                    self._conn.execute("SELECT 1")  # still connected, so still holding it
            except psycopg.Error as e:  # the database went away, or our connection did
                log.warning("Cannot reach the database for the jobs lock: %s", e)
                self._drop()
            return self.leading

    def _drop(self) -> None:
        self.leading = False
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()


def leads(context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether this replica runs scheduled jobs now (see `JobLeader`)."""
    leader = context.application.bot_data.get("sanad_leader")
    return leader is None or bool(leader.leading)


async def _beat(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every few seconds: lead if free, follow the digest schedule and the corpus, and
    take up updates whose replica died."""
    from bot.inbox import handle_unhandled
    from bot.summary_handlers import schedule_digest

    s = services(context)
    leader: JobLeader = context.application.bot_data["sanad_leader"]
    await asyncio.to_thread(leader.try_lead)
    job_queue = context.job_queue
    assert job_queue is not None
    # The schedule as the database has it: a /digest set through another replica, too.
    wanted = {c.chat_id: c for c in await s.log.io(s.log.digests)}
    known: dict[int, tuple[str | None, str]] = context.application.bot_data.setdefault(
        "sanad_digests", {}
    )
    for chat_id in set(known) - set(wanted):
        schedule_digest(job_queue, replace(await s.log.io(s.log.settings, chat_id), digest=None))
        del known[chat_id]
    for chat_id, chat in wanted.items():
        if known.get(chat_id) != (chat.digest, chat.tz):
            schedule_digest(job_queue, chat)
            known[chat_id] = (chat.digest, chat.tz)
    index = s.conversation.answerer.index
    loop = asyncio.get_running_loop()
    if await loop.run_in_executor(s.conversation.executor, index.refresh):
        log.warning("Loaded corpus version %d from the database", index.loaded_version)
        await loop.run_in_executor(s.conversation.executor, settle_heap_again)
    await handle_unhandled(context.application, older_than=s.settings.update_lease_seconds)


def schedule_replica_jobs(app: Application, settings: BotSettings, db: Database) -> JobLeader:
    """Set up the leader and (on PostgreSQL) the beat; return the leader."""
    leader = JobLeader(db)
    app.bot_data["sanad_leader"] = leader
    if db.dialect == "postgresql":
        job_queue = app.job_queue
        assert job_queue is not None
        job_queue.run_repeating(
            _beat, interval=settings.replica_beat_seconds, first=0.1, name="replica-beat"
        )
    return leader
