"""The chunk catalogue: every indexed document and chunk, in SQLite or PostgreSQL.

It is the source of truth for what is indexed (the lexical index and the vector
store are rebuilt or synced from it) and lets a citation be shown in place: it
keeps each document's text, which chunk offsets point into.

Its `corpus_version` (in `meta`) goes up with every ingest that changed something:
bot replicas that share a PostgreSQL catalogue watch it to reload their index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.chunking import Chunk
from retrieval.corpus import Document
from retrieval.database import Cursor, Database, SqliteDatabase
from retrieval.migrations import Schema, migrate

__all__ = ["Catalog", "ChunkRecord", "DocumentRecord"]

#: The schema, as recorded migrations (`retrieval.migrations`): append; never edit a
#: step that shipped.
SCHEMA = Schema(
    "catalog",
    sqlite=(
        """
    CREATE TABLE IF NOT EXISTS documents (
        doc_id TEXT PRIMARY KEY, path TEXT, sha256 TEXT, title TEXT, title_en TEXT,
        author TEXT, publisher TEXT, date TEXT, url TEXT, lang TEXT, text TEXT
    );
    CREATE TABLE IF NOT EXISTS chunks (
        chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
        ordinal INTEGER, start INTEGER, "end" INTEGER, lang TEXT, text TEXT
    );
    CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ordinal);
    """,
        # 0.4: whether the title came from a manifest (only those are embedded with passages).
        "ALTER TABLE documents ADD COLUMN title_given INTEGER NOT NULL DEFAULT 1",
        # 0.5: what the index was built from (the corpus setting), to notice when it changes.
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # 0.9: sentence vectors, for replicas sharing one catalogue (an embedded index
        # keeps them in its data dir): a row per chunk and model, float16 row-major.
        """
    CREATE TABLE IF NOT EXISTS sentence_vectors (
        chunk_id TEXT NOT NULL, model TEXT NOT NULL, spans TEXT NOT NULL,
        dim INTEGER NOT NULL, vectors BLOB NOT NULL, PRIMARY KEY (chunk_id, model)
    )
    """,
        # A chunk's text is its document's text between its offsets, no longer a copy
        # (the copy was more than half of the catalogue, and most of the time an ingest
        # spent storing it). The table made again rather than `DROP COLUMN`, which
        # SQLite only has since 3.35.
        """
    CREATE TABLE chunks_new (
        chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
        ordinal INTEGER, start INTEGER, "end" INTEGER, lang TEXT
    );
    INSERT INTO chunks_new (chunk_id, doc_id, ordinal, start, "end", lang)
        SELECT chunk_id, doc_id, ordinal, start, "end", lang FROM chunks;
    DROP TABLE chunks;
    ALTER TABLE chunks_new RENAME TO chunks;
    CREATE INDEX chunks_by_doc ON chunks(doc_id, ordinal);
    """,
    ),
)
CATALOG_FILE = "catalog.sqlite3"
#: The `meta` key counting ingests that changed the catalogue.
VERSION_KEY = "corpus_version"


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    doc_id: str
    path: str
    sha256: str
    title: str
    title_en: str
    author: str
    publisher: str
    date: str
    url: str
    lang: str
    #: The title came from a manifest, not from the text's own first line.
    title_given: bool = True


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    chunk_id: str
    doc_id: str
    ordinal: int
    start: int
    end: int
    lang: str
    text: str


class Catalog:
    """Documents and chunks of one index: `<data_dir>/catalog.sqlite3`, or the tables of
    the same names in the PostgreSQL database of `SANAD_DATABASE_URL`."""

    def __init__(self, db: Database | Path) -> None:
        self.db: Database = SqliteDatabase(db) if isinstance(db, Path) else db
        migrate(
            self.db,
            SCHEMA,
            unversioned=_unversioned,
            newer="point SANAD_DATA_DIR or SANAD_DATABASE_URL elsewhere",
        )

    def close(self) -> None:
        self.db.close()

    def version(self) -> int:
        """How many ingests have changed this catalogue (0 for a new one)."""
        return int(self.meta(VERSION_KEY) or 0)

    def bump_version(self) -> int:
        """Count one more changing ingest, atomically; return the new version."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE "
                "SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)",
                (VERSION_KEY,),
            )
            row = cur.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
        return int(row[0])

    def meta(self, key: str) -> str | None:
        with self.db.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def documents(self) -> dict[str, DocumentRecord]:
        with self.db.transaction() as db:
            rows = db.execute(
                "SELECT doc_id, path, sha256, title, title_en, author, publisher, date, url, lang,"
                " title_given FROM documents ORDER BY doc_id"
            ).fetchall()
        return {
            r[0]: DocumentRecord(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10])
            )
            for r in rows
        }

    def chunks(self, known: Mapping[str, ChunkRecord] | None = None) -> list[ChunkRecord]:
        """All chunks, in a stable order (document, then position). `known`: records
        in memory by id (those an ingest just stored): when they are all the chunks,
        only the ids are read, for the order, not every chunk's text again."""
        if known:
            with self.db.transaction() as db:
                ids = db.execute("SELECT chunk_id FROM chunks ORDER BY doc_id, ordinal").fetchall()
            if all(i in known for (i,) in ids):
                return [known[i] for (i,) in ids]
        with self.db.transaction() as db:
            texts = dict(db.execute("SELECT doc_id, text FROM documents").fetchall())
            rows = db.execute(
                'SELECT chunk_id, doc_id, ordinal, start, "end", lang FROM chunks'
                " ORDER BY doc_id, ordinal"
            ).fetchall()
        return [
            ChunkRecord(chunk_id, doc_id, ordinal, start, end, lang, texts[doc_id][start:end])
            for chunk_id, doc_id, ordinal, start, end, lang in rows
        ]

    def document_text(self, doc_id: str) -> str | None:
        with self.db.transaction() as db:
            row = db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return None if row is None else str(row[0])

    def replace_documents(self, changed: Iterable[tuple[Document, Iterable[Chunk]]]) -> None:
        """Store each document and its chunks, dropping whatever it had before: all in
        one transaction, so an ingest commits (and syncs to disk) once, not once per
        document, and a reader sees the corpus before or after, never half of it."""
        with self.db.transaction() as db:
            for doc, chunks in changed:
                meta = doc.metadata()
                db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc.doc_id,))
                db.execute("DELETE FROM documents WHERE doc_id = ?", (doc.doc_id,))
                db.execute(
                    "INSERT INTO documents (doc_id, path, sha256, title, title_en, author,"
                    " publisher, date, url, lang, text, title_given)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        doc.doc_id, meta["path"], doc.sha256, doc.title, doc.title_en, doc.author,
                        doc.publisher, doc.date, doc.url, doc.lang, doc.text, int(doc.title_given),
                    ),
                )  # fmt: skip
                db.executemany(  # a chunk's text is the document's, between its offsets
                    'INSERT INTO chunks (chunk_id, doc_id, ordinal, start, "end", lang)'
                    " VALUES (?,?,?,?,?,?)",
                    [(c.chunk_id, c.doc_id, c.ordinal, c.start, c.end, c.lang) for c in chunks],
                )

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        ids = [(d,) for d in doc_ids]
        with self.db.transaction() as db:
            db.executemany("DELETE FROM chunks WHERE doc_id = ?", ids)
            db.executemany("DELETE FROM documents WHERE doc_id = ?", ids)

    def clear(self) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM documents")

    def sentence_vectors(self, model: str) -> dict[str, tuple[str, int, bytes]]:
        """Chunk id → (sentence spans as JSON, dimension, float16 vectors) for `model`."""
        with self.db.transaction() as db:
            rows = db.execute(
                "SELECT chunk_id, spans, dim, vectors FROM sentence_vectors WHERE model = ?",
                (model,),
            ).fetchall()
        return {r[0]: (str(r[1]), int(r[2]), bytes(r[3])) for r in rows}

    def put_sentence_vectors(
        self, model: str, rows: Sequence[tuple[str, str, int, bytes]], keep: Iterable[str]
    ) -> None:
        """Store (chunk id, spans, dimension, vectors) rows for `model`, and drop that
        model's rows for chunks not in `keep` (chunks the corpus no longer has)."""
        kept = set(keep)
        with self.db.transaction() as db:
            have = [
                r[0]
                for r in db.execute(
                    "SELECT chunk_id FROM sentence_vectors WHERE model = ?", (model,)
                ).fetchall()
            ]
            gone = [(c, model) for c in have if c not in kept]
            if gone:
                db.executemany(
                    "DELETE FROM sentence_vectors WHERE chunk_id = ? AND model = ?", gone
                )
            for i in range(0, len(rows), 500):
                db.executemany(
                    "INSERT INTO sentence_vectors (chunk_id, model, spans, dim, vectors)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (chunk_id, model) DO UPDATE SET"
                    " spans = excluded.spans, dim = excluded.dim, vectors = excluded.vectors",
                    [(c, model, spans, dim, blob) for c, spans, dim, blob in rows[i : i + 500]],
                )

    def counts_by_language(self) -> dict[str, tuple[int, int]]:
        """{lang: (documents, chunks)}."""
        with self.db.transaction() as db:
            docs = dict(db.execute("SELECT lang, COUNT(*) FROM documents GROUP BY lang").fetchall())
            chunks = dict(db.execute("SELECT lang, COUNT(*) FROM chunks GROUP BY lang").fetchall())
        return {lang: (docs.get(lang, 0), chunks.get(lang, 0)) for lang in sorted(docs | chunks)}


def _unversioned(cur: Cursor) -> int:
    """Catalogues from before recorded migrations: count what their schema shows."""
    columns = {row[1] for row in cur.execute("PRAGMA table_info(documents)").fetchall()}
    return 0 if not columns else 2 if "title_given" in columns else 1
