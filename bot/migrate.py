"""`sanad migrate`: move a data dir's SQLite state into PostgreSQL, losing nothing.

Both SQLite files are first brought to this release's schema, then every row of
every table is copied into the PostgreSQL database (its schema made first), in
batches, in key order. A row the target already holds is left as it is, so a
migration cut short can simply be run again. Afterwards every table is counted
on both sides; a shortfall is an error. The SQLite files are only brought to this
release's schema, never emptied or removed (keep them as the backup until the bot
runs on PostgreSQL). Sentence vectors made with a model move too (with the model's
dense null), so replicas start without embedding every sentence again.

What does not move: the keyword index (each replica builds it from the catalogue)
and the passage vectors (an embedded Chroma store stays in the data dir; point
`SANAD_CHROMA_HOST` at a server and run `sanad ingest` to fill it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot import storage
from bot.storage import CHAT_STORE_FILE
from retrieval.catalog import CATALOG_FILE, Catalog
from retrieval.database import Database, PostgresDatabase, SqliteDatabase
from retrieval.errors import ConfigError
from retrieval.sentence_vectors import DenseNull
from retrieval.sentences import SENTENCES_DIR, SentenceEvidence

__all__ = ["MigrationReport", "migrate_to_postgresql"]

#: Each SQLite file's tables, parents before children.
TABLES = {
    CATALOG_FILE: ("documents", "chunks", "meta"),
    CHAT_STORE_FILE: (
        "answers",
        "memory",
        "languages",
        "inbox",
        "chat_log",
        "chat_settings",
        "summaries",
    ),
}
BATCH = 1000


@dataclass
class MigrationReport:
    """Rows per table: in the SQLite files, and now in PostgreSQL."""

    copied: dict[str, tuple[int, int]]

    def summary(self) -> str:
        parts = [f"{table} {source}" for table, (source, _) in self.copied.items() if source]
        return "moved " + (", ".join(parts) if parts else "nothing (the data dir holds no state)")


def migrate_to_postgresql(
    data_dir: Path, url: str, *, progress: Callable[[str], None] = lambda _: None
) -> MigrationReport:
    """Copy `<data_dir>/catalog.sqlite3` and `chat.sqlite3` into the database at `url`."""
    target = PostgresDatabase(url)
    try:
        catalog = Catalog(target)  # the schemas, made
        storage.upgrade(target)
        copied: dict[str, tuple[int, int]] = {}
        for file, tables in TABLES.items():
            path = data_dir / file
            if not path.exists():
                continue
            source = SqliteDatabase(path)
            # Older files are upgraded first, so their columns match the target's.
            if file == CATALOG_FILE:
                Catalog(source)
                _refuse_another_catalogue(source, target)
            else:
                storage.upgrade(source)
            for table in tables:
                progress(table)
                copied[table] = _copy(source, target, table)
        copied["sentence_vectors"] = _copy_sentence_vectors(data_dir, catalog)
        return MigrationReport(copied)
    finally:
        target.close()


def _copy_sentence_vectors(data_dir: Path, target: Catalog) -> tuple[int, int]:
    """The sentence vectors the data dir holds, so replicas need not embed them again."""
    evidence = SentenceEvidence.load(data_dir / SENTENCES_DIR)
    if evidence is None or evidence.quantized is None or evidence.null is None:
        return 0, 0
    rows = evidence.stored_rows()
    target.put_sentence_vectors(evidence.model, rows, keep=evidence.spans)
    target.set_meta(DenseNull.meta_key(evidence.model), evidence.null.to_json())
    with target.db.transaction() as cur:
        there = cur.execute(
            "SELECT COUNT(*) FROM sentence_vectors WHERE model = ?", (evidence.model,)
        ).fetchone()[0]
    return len(rows), int(there)


def _refuse_another_catalogue(source: Database, target: Database) -> None:
    ids = [_ids(db) for db in (source, target)]
    if ids[1] and ids[0] != ids[1]:
        raise ConfigError(
            f"{target.location} already holds a catalogue of other documents: migrate into "
            "an empty database, or run `sanad ingest` against it instead of moving this one."
        )


def _ids(db: Database) -> set[str]:
    with db.transaction() as cur:
        return {str(r[0]) for r in cur.execute("SELECT doc_id FROM documents").fetchall()}


def _copy(source: Database, target: Database, table: str) -> tuple[int, int]:
    with source.transaction() as cur:
        info = cur.execute(f"PRAGMA table_info({table})").fetchall()
        columns = [str(r[1]) for r in info]
        keys = [str(r[1]) for r in info if r[5]]  # the primary key's columns
        names = ", ".join(f'"{c}"' for c in columns)
        order = ", ".join(f'"{c}"' for c in keys)
        rows = cur.execute(f"SELECT {names} FROM {table} ORDER BY {order}").fetchall()  # noqa: S608
    insert = (
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) "  # noqa: S608
        f"ON CONFLICT ({order}) DO NOTHING"
    )
    for start in range(0, len(rows), BATCH):
        with target.transaction() as cur:
            cur.executemany(insert, rows[start : start + BATCH])
    with target.transaction() as cur:
        there = int(cur.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608
    if there < len(rows):
        raise ConfigError(
            f"{table}: {len(rows)} rows in SQLite but {there} in {target.location} after "
            "copying; nothing was removed from the SQLite files. Run `sanad migrate` again."
        )
    return len(rows), there
