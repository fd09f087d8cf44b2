"""Ingest is incremental: same corpus, same index; changes replace, deletions remove."""

import gc
import shutil
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest

import retrieval.index
import retrieval.ingest
import retrieval.workers
from retrieval.errors import CorpusError
from retrieval.index import SanadIndex
from retrieval.lexical import LexicalIndex
from retrieval.normalize import tokenize
from retrieval.search import search
from tests.fake_embedder import FakeEmbedder


def test_an_ingest_pauses_garbage_collection_and_resumes_it(lexical_settings, corpus, monkeypatch):
    # Full collections would walk every token list the ingest has built so far; they
    # are paused while it builds, and the process collects as before once it is done.
    during: list[bool] = []
    build = retrieval.ingest.build_lexical

    def noting(*args, **kwargs):
        during.append(gc.isenabled())
        return build(*args, **kwargs)

    monkeypatch.setattr(retrieval.index, "build_lexical", noting)
    SanadIndex(lexical_settings).ingest(corpus)
    assert during == [False]
    assert gc.isenabled()


def test_what_an_ingest_keeps_is_not_walked_by_the_next_young_collection(lexical_settings, corpus):
    # Everything an ingest made while collections were paused would otherwise sit in
    # the youngest generation, and the first allocation after it would walk all of it
    # (0.4 s at ~100k chunks). It goes to the oldest generation instead, where a cycle
    # that has died is still found; where something else keeps objects frozen (the
    # serving bot), they stay frozen.
    gc.unfreeze()
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert index.chunks
    assert all(id(c) in oldest for c in index.chunks)
    assert gc.get_freeze_count() == 0

    with retrieval.ingest.collections_paused():
        node = Node()
        node.me = node
        dead = weakref.ref(node)
        del node  # a cycle: reference counting alone does not free it
    gc.collect()  # nor is it frozen: a full collection frees it
    assert dead() is None

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with retrieval.ingest.collections_paused():
            pass
        assert gc.get_freeze_count() == frozen > 0
    finally:
        gc.unfreeze()


class Node:
    """An object that can refer to itself (a cycle only the collector frees)."""

    me: object = None


def test_an_ingest_gives_what_it_freed_back_to_the_system_when_done_even_failing(
    lexical_settings, corpus, tmp_path, monkeypatch
):
    # After the ingest, not during it: collections are back on, the texts it read gone.
    released: list[bool] = []
    release = retrieval.index.release_freed_memory

    def noting() -> bool:
        released.append(gc.isenabled())
        return release()

    monkeypatch.setattr(retrieval.index, "release_freed_memory", noting)
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    assert released == [True]
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError):
        index.ingest(tmp_path / "empty")
    assert released == [True, True]


def test_loading_an_index_pauses_garbage_collection_and_resumes_it(
    lexical_settings, corpus, monkeypatch
):
    # Reading the sentence evidence and the keyword index back makes as many small
    # objects as building them: a process opening an index does it without collections.
    SanadIndex(lexical_settings).ingest(corpus)
    during: list[bool] = []
    load = retrieval.index.SentenceEvidence.load

    def noting(folder):
        during.append(gc.isenabled())
        return load(folder)

    monkeypatch.setattr(retrieval.index.SentenceEvidence, "load", noting)
    reopened = SanadIndex(lexical_settings)
    assert len(reopened.chunks) > 20
    assert during == [False]
    assert gc.isenabled()


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


def test_the_index_holds_its_chunks_in_the_catalogues_order(lexical_settings, tmp_path):
    # Files are read in path order (a subfolder's after the files beside it), the
    # catalogue orders chunks by document id: the chunks an ingest keeps from what it
    # stored are those it would read back, in that order, and stay so after a change.
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    texts = {
        "b": "بازار زعفران هرات رونق گرفت. صادرات آن به هند رسید.",
        "sub/a": "سوق الزعفران في هرات ازدهر. وصلت صادراته إلى الهند.",
        "sub/m": "The saffron market of Herat grew. Its exports reached India.",
    }
    for name, text in texts.items():
        (corpus / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    assert [c.doc_id for c in index.chunks] == ["a", "b", "m"]
    assert index.chunks == index.catalog.chunks() == SanadIndex(lexical_settings).chunks

    (corpus / "sub" / "m.txt").write_text("Herat's saffron is sold abroad.\n", encoding="utf-8")
    index.ingest(corpus)
    assert index.chunks == index.catalog.chunks()
    assert "abroad" in index.chunks[2].text


def test_the_keyword_index_weighs_each_passage_by_all_of_its_words(lexical_settings, corpus):
    # Ingest tokenizes each sentence once for the sentence evidence and the keyword
    # index both: the passages' tokens must be those of their whole texts.
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    whole = LexicalIndex.build([c.chunk_id for c in index.chunks], [c.text for c in index.chunks])
    assert index.lexical.df == whole.df
    for question in ("جنگ میان طالبان و داعش چه زمانی آغاز شد؟", "متى تأسس تنظيم داعش خراسان؟"):
        tokens = tokenize(question)
        assert index.lexical.search(tokens, 10) == whole.search(tokens, 10)
    # A reopened index reads the same from disk, and rebuilds it the same when lost.
    shutil.rmtree(lexical_settings.data_dir / "lexical")
    assert SanadIndex(lexical_settings).lexical.df == whole.df


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


def test_an_ingest_that_fails_part_way_leaves_the_previous_corpus_whole(
    lexical_settings, corpus, monkeypatch
):
    # All changed documents are written in one transaction: a failure on the second
    # (here a chunker that breaks) must not leave the first one updated.
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    texts = {c.chunk_id: c.text for c in index.catalog.chunks()}
    for name in ("001_941a35178b1cb8a2.txt", "002_c21b3274f8c0af60.txt"):
        path = corpus / name
        path.write_text(path.read_text(encoding="utf-8") + "\nبند تازه درباره زعفران.\n")
    prepare = retrieval.workers.prepare
    seen: list[str] = []

    def prepare_then_break(source, **sizes):
        seen.append(source.doc_id)
        if len(seen) == 2:
            raise OSError("disk gone")
        return prepare(source, **sizes)

    monkeypatch.setattr(retrieval.workers, "prepare", prepare_then_break)
    with pytest.raises(OSError, match="disk gone"):
        index.ingest(corpus)
    assert len(seen) == 2
    assert gc.isenabled()  # the ingest paused garbage collection, and resumed it on failure
    monkeypatch.undo()
    again = SanadIndex(lexical_settings)
    assert {c.chunk_id: c.text for c in again.catalog.chunks()} == texts
    assert sorted(again.ingest(corpus).updated) == sorted(seen)


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


class _HeldEmbedder(FakeEmbedder):
    """Embeds as the fake does, but an ingest's passages wait until `go` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.waiting = threading.Event()

    def embed_documents(self, texts, *, progress=False):
        if any("زعفران" in t for t in texts):  # the new document's passages
            self.waiting.set()
            assert self.go.wait(30)
        return super().embed_documents(texts, progress=progress)


def test_searches_are_answered_while_an_ingest_runs(lexical_settings, corpus):
    embedder = _HeldEmbedder()
    index = SanadIndex(lexical_settings, embedder=embedder)
    index.ingest(corpus)
    (corpus / "saffron.txt").write_text("زعفران هرات\n\nزعفران هرات به هند صادر می‌شود.\n")
    ingest = threading.Thread(target=index.ingest, args=(corpus,))
    ingest.start()
    try:
        assert embedder.waiting.wait(30)  # the ingest holds the index now
        found = ThreadPoolExecutor(1).submit(search, index, "نشست سازمان شانگهای", k=3)
        results = found.result(timeout=20).results  # the old index answers meanwhile
        assert results
        assert all(r.chunk.doc_id != "saffron" for r in results)
    finally:
        embedder.go.set()
        ingest.join()
    assert search(index, "زعفران هرات", k=1).results[0].chunk.doc_id == "saffron"


def test_searches_racing_ingests_see_one_consistent_index(lexical_settings, corpus):
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    extra = corpus / "saffron.txt"
    failures: list[BaseException] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                asked = set(tokenize("زعفران هرات صادرات"))
                for r in search(index, "زعفران هرات صادرات", k=5).results:
                    assert asked & set(tokenize(r.chunk.text)), r.chunk.text[:80]
            except BaseException as e:  # noqa: BLE001 (collected for the assertion below)
                failures.append(e)
                return

    searchers = [threading.Thread(target=keep_searching) for _ in range(3)]
    for t in searchers:
        t.start()
    for i in range(15):
        if i % 2:
            extra.unlink()
        else:
            extra.write_text(f"زعفران هرات\n\nصادرات زعفران هرات در سال {1400 + i} بیشتر شد.\n")
        index.ingest(corpus)
    stop.set()
    for t in searchers:
        t.join()
    assert not failures, failures[0]
