"""Where Sanad's state lives: SQLite files in the data dir, or one PostgreSQL database.

`SANAD_DATABASE_URL` unset keeps today's layout: `catalog.sqlite3` and
`chat.sqlite3` in `SANAD_DATA_DIR`. A `postgresql://…` URL puts the same tables in
one PostgreSQL database (psycopg 3, a connection pool), which several bot replicas
share.

Code above this module writes one SQL text with `?` placeholders; the cursor a
`transaction()` yields translates it for psycopg. What differs between the two
engines (column types, for one) lives in each schema's steps, per dialect
(`retrieval.migrations`).
"""

from __future__ import annotations

import fcntl
import functools
import re
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from retrieval.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from retrieval.config import Settings

__all__ = [
    "Cursor",
    "Database",
    "PostgresDatabase",
    "SqliteDatabase",
    "advisory_key",
    "open_database",
    "redact_url",
]

Dialect = Literal["sqlite", "postgresql"]


class Cursor(Protocol):
    """What a transaction offers: DB-API execution with `?` placeholders."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Database(Protocol):
    """One place for state: a transaction at a time per call, committed on success."""

    dialect: Dialect

    @property
    def location(self) -> str:
        """Where it is, for messages and logs: a path, or a URL without its password."""
        ...

    def transaction(self) -> AbstractContextManager[Cursor]: ...

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """Held by one process at a time (per data dir, or per PostgreSQL database); a
        second waits. Released when the holder leaves, or dies."""
        ...

    def close(self) -> None: ...


class SqliteDatabase:
    """One SQLite file. `keep_open` holds one connection (serialized by a lock) for a
    busy store; otherwise each transaction opens its own, like a short script."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, *, keep_open: bool = False, wal: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._wal = wal
        self._db: sqlite3.Connection | None = self._connect() if keep_open else None

    @property
    def location(self) -> str:
        return str(self.path)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self._wal:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        return db

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            if self._db is not None:
                with closing(self._db.cursor()) as cur:
                    yield from _sqlite_transaction(cur)
            else:
                with closing(self._connect()) as db, closing(db.cursor()) as cur:
                    yield from _sqlite_transaction(cur)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        # An flock on a file beside the database: the kernel drops it with the process.
        lock_file = self.path.with_name(f".{name}.lock")
        with lock_file.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _sqlite_transaction(cur: sqlite3.Cursor) -> Iterator[Cursor]:
    cur.execute("BEGIN")
    try:
        yield cur
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    cur.execute("COMMIT")


class PostgresDatabase:
    """One PostgreSQL database through a psycopg connection pool."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, max_size: int = 8, timeout: float = 10.0) -> None:
        from psycopg_pool import ConnectionPool

        self.url = url
        self.timeout = timeout
        self.pool: ConnectionPool = ConnectionPool(
            url, min_size=1, max_size=max_size, timeout=timeout, open=False
        )
        try:
            self.pool.open(wait=True, timeout=timeout)
        except Exception as e:  # psycopg_pool.PoolTimeout, with the driver's reason inside
            self.pool.close()
            raise DatabaseUnavailable(
                f"PostgreSQL at {redact_url(url)} cannot be reached ({_reason(e)}): start it, "
                "or check SANAD_DATABASE_URL (unset it to keep state in SQLite files)."
            ) from e

    @property
    def location(self) -> str:
        return redact_url(self.url)

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _PostgresCursor(cur)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        # A session-level advisory lock on a connection of its own: PostgreSQL drops it
        # when the holder's connection goes, so a dead holder never blocks the rest.
        key = advisory_key(name)
        with self.pool.connection() as conn:
            conn.autocommit = True
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def close(self) -> None:
        self.pool.close()


class _PostgresCursor:
    """A psycopg cursor that reads `?` placeholders."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._cur.execute(_placeholders(sql), tuple(params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Cursor:
        self._cur.executemany(_placeholders(sql), [tuple(r) for r in rows])
        return self

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall())


def advisory_key(name: str) -> int:
    """A stable 32-bit key for a PostgreSQL advisory lock named `name`."""
    return zlib.crc32(f"sanad:{name}".encode())


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """`?` → `%s` (and a literal `%` → `%%`): Sanad's SQL has no `?` inside quotes."""
    return sql.replace("%", "%%").replace("?", "%s")


def _reason(error: BaseException) -> str:
    text = str(error.__cause__ or error).strip().splitlines()
    return text[0] if text else type(error).__name__


_PASSWORD = re.compile(r"(?<=://)([^:/@]+):[^@/]*@")


def redact_url(url: str) -> str:
    """The URL with its password replaced by `***` (for messages and logs)."""
    return _PASSWORD.sub(r"\1:***@", url)


def open_database(settings: Settings, sqlite_file: str, *, busy: bool = False) -> Database:
    """The database for one part of Sanad's state: `<data_dir>/<sqlite_file>`, or the
    PostgreSQL database `SANAD_DATABASE_URL` names (shared by every part)."""
    if settings.database_url is not None:
        return PostgresDatabase(settings.database_url.get_secret_value())
    return SqliteDatabase(settings.data_dir / sqlite_file, keep_open=busy, wal=busy)
