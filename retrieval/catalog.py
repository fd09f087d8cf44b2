"""The chunk catalogue: every indexed document and chunk, in SQLite.

It is the source of truth for what is indexed (the lexical index and the vector
store are rebuilt or synced from it) and lets a citation be shown in place: it
keeps each document's text, which chunk offsets point into.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from retrieval.chunking import Chunk
from retrieval.corpus import Document
from retrieval.migrations import migrate

__all__ = ["Catalog", "ChunkRecord", "DocumentRecord"]

#: The schema, as recorded migrations (`retrieval.migrations`): append; never edit one
#: that shipped.
_MIGRATIONS = (
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
)


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
    """Documents and chunks of one index, in `<data_dir>/catalog.sqlite3`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            migrate(db, _MIGRATIONS, unversioned=_unversioned)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path)) as db, db:
            yield db

    def meta(self, key: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def documents(self) -> dict[str, DocumentRecord]:
        with self._connect() as db:
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

    def chunks(self) -> list[ChunkRecord]:
        """All chunks, in a stable order (document, then position)."""
        with self._connect() as db:
            rows = db.execute(
                'SELECT chunk_id, doc_id, ordinal, start, "end", lang, text FROM chunks'
                " ORDER BY doc_id, ordinal"
            ).fetchall()
        return [ChunkRecord(*r) for r in rows]

    def document_text(self, doc_id: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return None if row is None else str(row[0])

    def replace_document(self, doc: Document, chunks: Iterable[Chunk]) -> None:
        """Store `doc` and its chunks, dropping whatever it had before."""
        meta = doc.metadata()
        with self._connect() as db:
            db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc.doc_id,))
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc.doc_id, meta["path"], doc.sha256, doc.title, doc.title_en, doc.author,
                    doc.publisher, doc.date, doc.url, doc.lang, doc.text, doc.title_given,
                ),
            )  # fmt: skip
            db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
                [(c.chunk_id, c.doc_id, c.ordinal, c.start, c.end, c.lang, c.text) for c in chunks],
            )

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        ids = [(d,) for d in doc_ids]
        with self._connect() as db:
            db.executemany("DELETE FROM chunks WHERE doc_id = ?", ids)
            db.executemany("DELETE FROM documents WHERE doc_id = ?", ids)

    def clear(self) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM documents")

    def counts_by_language(self) -> dict[str, tuple[int, int]]:
        """{lang: (documents, chunks)}."""
        with self._connect() as db:
            docs = dict(db.execute("SELECT lang, COUNT(*) FROM documents GROUP BY lang").fetchall())
            chunks = dict(db.execute("SELECT lang, COUNT(*) FROM chunks GROUP BY lang").fetchall())
        return {lang: (docs.get(lang, 0), chunks.get(lang, 0)) for lang in sorted(docs | chunks)}


def _unversioned(db: sqlite3.Connection) -> int:
    """Catalogues from before recorded migrations: count what their schema shows."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    return 0 if not columns else 2 if "title_given" in columns else 1
