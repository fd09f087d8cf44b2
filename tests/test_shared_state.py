"""State in PostgreSQL: replicas share one catalogue, reload on a newer corpus version,
and never ingest at the same time."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from retrieval.catalog import SCHEMA, Catalog
from retrieval.config import Settings, load_settings
from retrieval.database import PostgresDatabase
from retrieval.index import SanadIndex
from retrieval.migrations import Schema, applied_steps, migrate
from retrieval.search import search
from tests.fake_embedder import FakeEmbedder

SAFFRON = "\nزعفران هرات در بازارهای کابل به بهای بالایی فروخته می‌شود.\n"


def _replica(tmp_path: Path, name: str, url: str, corpus: Path) -> Settings:
    """One replica's settings: its own data dir (no shared disk), the shared database."""
    return load_settings(
        data_dir=tmp_path / name, database_url=url, corpus_dir=corpus, embedding_model="none"
    )


def test_a_replica_with_an_empty_disk_answers_from_the_shared_catalogue(postgres, tmp_path, corpus):
    url = postgres.new_database()
    writer = SanadIndex(_replica(tmp_path, "a", url, corpus))
    report = writer.ingest(corpus)
    assert len(report.added) == 5
    # The other replica has no corpus folder and nothing on disk: the database is all.
    elsewhere = tmp_path / "not-here"
    reader = SanadIndex(_replica(tmp_path, "b", url, elsewhere))
    hits = search(reader, "جنگ میان طالبان و داعش").results
    assert hits
    assert {c.chunk_id for c in reader.chunks} == {c.chunk_id for c in writer.chunks}
    assert not (tmp_path / "b" / "catalog.sqlite3").exists()
    writer.close()
    reader.close()


def test_a_replica_picks_up_a_newer_corpus_version_and_swaps_its_keyword_index(
    postgres, tmp_path, corpus
):
    url = postgres.new_database()
    writer = SanadIndex(_replica(tmp_path, "a", url, corpus))
    writer.ingest(corpus)
    reader = SanadIndex(_replica(tmp_path, "b", url, corpus))
    assert not any("زعفران" in c.text for c in reader.chunks)
    assert not reader.refresh()  # nothing new yet
    version = reader.loaded_version

    changed = corpus / "002_c21b3274f8c0af60.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + SAFFRON, encoding="utf-8")
    writer.ingest(corpus)
    unchanged = writer.ingest(corpus)  # nothing changed: the version stays
    assert unchanged.updated == []

    assert reader.refresh()
    assert reader.loaded_version == version + 1
    top = search(reader, "زعفران هرات").results[0]
    assert "زعفران" in top.chunk.text
    writer.close()
    reader.close()


def test_two_ingests_at_once_take_turns_and_leave_one_whole_catalogue(postgres, tmp_path, corpus):
    url = postgres.new_database()
    other = tmp_path / "other-corpus"
    shutil.copytree(corpus, other)
    for path in sorted(other.glob("*.txt"))[:1]:
        path.unlink()
    first = SanadIndex(_replica(tmp_path, "a", url, corpus))
    second = SanadIndex(_replica(tmp_path, "b", url, other))
    reports = {}

    def run(name: str, index: SanadIndex, folder: Path) -> None:
        reports[name] = index.ingest(folder)

    threads = [
        threading.Thread(target=run, args=("a", first, corpus)),
        threading.Thread(target=run, args=("b", second, other)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Whichever ran last decided the corpus; the catalogue holds exactly its documents,
    # each with all of its chunks, and every ingest that changed something counted.
    catalog = Catalog(PostgresDatabase(url))
    docs = set(catalog.documents())
    assert docs in ({p.stem for p in corpus.glob("*.txt")}, {p.stem for p in other.glob("*.txt")})
    assert {c.doc_id for c in catalog.chunks()} == docs
    assert catalog.version() == 2
    catalog.close()
    first.close()
    second.close()


@pytest.mark.server
def test_a_replica_with_a_model_reads_every_vector_it_needs_instead_of_embedding_again(
    postgres, chroma_server, tmp_path, corpus
):
    url = postgres.new_database()

    def replica(name: str) -> tuple[SanadIndex, FakeEmbedder]:
        settings = _replica(tmp_path, name, url, corpus).model_copy(
            update={"chroma_host": "127.0.0.1", "chroma_port": chroma_server.port}
        )
        embedder = FakeEmbedder()
        return SanadIndex(settings, embedder=embedder), embedder

    writer, _ = replica("a")
    writer.ingest(corpus)
    reader, model = replica("b")
    question = "جنگ میان طالبان و داعش"
    found = search(reader, question)
    assert found.mode == "hybrid"
    assert found.results
    # Passages from the Chroma server, sentences and their null from the database: the
    # new replica embedded nothing but the question.
    assert model.history == [question]
    assert reader.evidence.null == writer.evidence.null
    assert reader.evidence.vectors is not None
    assert writer.evidence.vectors is not None
    assert np.array_equal(reader.evidence.vectors, writer.evidence.vectors)

    # A newer corpus: the writer embeds the new sentence once; the reader reads it.
    changed = corpus / "002_c21b3274f8c0af60.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + SAFFRON, encoding="utf-8")
    writer.ingest(corpus)
    assert reader.refresh()
    top = search(reader, "زعفران هرات").results[0]
    assert "زعفران" in top.chunk.text
    assert model.history == [question, "زعفران هرات"]
    assert len(reader.evidence) == len(writer.evidence)
    writer.close()
    reader.close()


def test_an_upload_through_one_replica_survives_an_ingest_from_another(postgres, tmp_path, corpus):
    url = postgres.new_database()
    uploader = SanadIndex(_replica(tmp_path, "a", url, corpus))
    uploader.ingest(corpus)
    upload = uploader.uploads_dir / "saffron.txt"
    upload.parent.mkdir(parents=True)
    upload.write_text("گزارش بازار" + SAFFRON * 3, encoding="utf-8")
    assert uploader.ingest(upload).added == ["saffron"]

    # `sanad ingest` of the corpus folder, run elsewhere, where that upload's file is not.
    other = SanadIndex(_replica(tmp_path, "b", url, corpus))
    gone = corpus / "000_2011a443d8c61b42.txt"
    gone.unlink()
    report = other.ingest(corpus)
    assert report.removed == [gone.stem]  # a file gone from the folder goes
    assert "saffron" in other.catalog_documents  # the upload stays
    top = search(other, "زعفران هرات").results[0]
    assert top.chunk.doc_id == "saffron"
    assert other.is_upload(other.catalog_documents["saffron"])
    assert not other.is_upload(other.catalog_documents["001_941a35178b1cb8a2"])
    uploader.close()
    other.close()


def test_a_shared_catalogue_from_the_release_before_keeps_every_passage(postgres):
    # The release before copied each chunk's text into `chunks`; now a chunk is its
    # document's text between its offsets, and the upgrade drops the copy.
    db = PostgresDatabase(postgres.new_database())
    migrate(db, Schema(SCHEMA.name, SCHEMA.sqlite[:-1]))
    text = "پل کابل در سیل شکست. The river rose in spring."
    with db.transaction() as cur:
        cur.execute("INSERT INTO documents (doc_id, lang, text) VALUES ('d', 'fa', ?)", (text,))
        for ordinal, (start, end) in enumerate([(0, 20), (21, len(text))]):
            cur.execute(
                'INSERT INTO chunks (chunk_id, doc_id, ordinal, start, "end", lang, text)'
                " VALUES (?, 'd', ?, ?, ?, 'fa', ?)",
                (f"c{ordinal}", ordinal, start, end, text[start:end]),
            )
    catalog = Catalog(db)
    assert [(c.chunk_id, c.text) for c in catalog.chunks()] == [
        ("c0", "پل کابل در سیل شکست."),
        ("c1", "The river rose in spring."),
    ]
    assert applied_steps(db, SCHEMA) == len(SCHEMA.sqlite)
    with db.transaction() as cur:
        columns = cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'chunks'"
        ).fetchall()
    assert "text" not in {c[0] for c in columns}  # no second copy of every text
    catalog.close()
