"""Ingest is incremental: same corpus, same index; changes replace, deletions remove."""

import pytest

from retrieval.errors import CorpusError
from retrieval.index import SanadIndex


def test_first_ingest_adds_everything_and_a_second_changes_nothing(lexical_settings, corpus):
    index = SanadIndex(lexical_settings)
    first = index.ingest(corpus)
    assert len(first.added) == 5
    assert first.chunks > 20
    ids = [c.chunk_id for c in index.chunks]

    again = SanadIndex(lexical_settings).ingest(corpus)
    assert again.added == again.updated == again.removed == []
    assert len(again.unchanged) == 5
    assert [c.chunk_id for c in SanadIndex(lexical_settings).chunks] == ids


def test_changed_file_replaces_its_chunks_and_deleted_file_goes(lexical_settings, corpus):
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    before = {c.chunk_id for c in index.chunks if c.doc_id == "002_c21b3274f8c0af60"}

    changed = corpus / "002_c21b3274f8c0af60.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\nبند تازه‌ای درباره زعفران هرات.\n")
    (corpus / "003_ff37ad843cbdfbf5.txt").unlink()
    report = index.ingest(corpus)

    assert report.updated == ["002_c21b3274f8c0af60"]
    assert report.removed == ["003_ff37ad843cbdfbf5"]
    assert len(report.unchanged) == 3
    after = {c.chunk_id for c in index.chunks if c.doc_id == "002_c21b3274f8c0af60"}
    assert after != before
    assert not any(c.doc_id == "003_ff37ad843cbdfbf5" for c in index.chunks)
    assert any("زعفران" in c.text for c in index.chunks)


def test_unreadable_and_wrongly_encoded_files_are_skipped_with_a_warning(lexical_settings, corpus):
    (corpus / "legacy.txt").write_bytes("نص بترميز قديم".encode("cp1256"))
    report = SanadIndex(lexical_settings).ingest(corpus)
    assert len(report.added) == 5
    assert any("legacy.txt" in w and "UTF-8" in w for w in report.warnings)


def test_empty_folder_is_a_clear_error(lexical_settings, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match=r"No \.txt, \.md or \.html files"):
        SanadIndex(lexical_settings).ingest(empty)


def test_without_manifest_title_is_first_line_and_language_detected(lexical_settings, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "note.md").write_text(
        "# تقرير عن الزراعة في هرات\n\nيزرع المزارعون الزعفران في هرات منذ سنوات طويلة.\n",
        encoding="utf-8",
    )
    index = SanadIndex(lexical_settings)
    index.ingest(folder)
    doc = index.catalog.documents()["note"]
    assert doc.title == "تقرير عن الزراعة في هرات"
    assert doc.lang == "ar"


def test_html_pages_are_ingested_as_their_text(lexical_settings, tmp_path):
    folder = tmp_path / "html"
    folder.mkdir()
    (folder / "page.html").write_text(
        "<html><head><style>p{}</style><script>var x=1;</script></head><body>"
        "<h1>گزارش هرات</h1><p>کشاورزان هرات زعفران &amp; پسته می‌کارند.</p>"
        "<p>Facebook Share</p></body></html>",
        encoding="utf-8",
    )
    index = SanadIndex(lexical_settings)
    index.ingest(folder)
    (chunk,) = index.chunks
    assert "زعفران & پسته" in chunk.text
    assert "var x" not in chunk.text
    assert "Facebook" not in chunk.text
    text = index.catalog.document_text("page")
    assert text is not None
    assert text[chunk.start : chunk.end] == chunk.text


def test_a_single_file_is_added_without_touching_the_rest(lexical_settings, corpus, tmp_path):
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    extra = tmp_path / "extra.txt"
    extra.write_text("یادداشتی کوتاه درباره بازار زعفران هرات و صادرات آن.\n", encoding="utf-8")
    report = index.ingest(extra)
    assert report.added == ["extra"]
    assert report.removed == []
    assert len(index.catalog.documents()) == 6


def test_offsets_of_a_file_with_a_byte_order_mark_point_into_its_text(tmp_path):
    from retrieval.config import load_settings
    from retrieval.index import SanadIndex

    folder = tmp_path / "bom"
    folder.mkdir()
    body = "جنگ بین طالبان و داعش در ژانویه ۲۰۱۵ آغاز شد.\n\nپاراگراف دوم درباره کابل است.\n"
    (folder / "a.txt").write_bytes(b"\xef\xbb\xbf" + body.encode())
    index = SanadIndex(load_settings(data_dir=tmp_path / "d", embedding_model="none"))
    index.ingest(folder)
    original = (folder / "a.txt").read_bytes().decode("utf-8")
    for chunk in index.chunks:
        assert original[chunk.start : chunk.end] == chunk.text
        assert not chunk.text.startswith("\ufeff")
