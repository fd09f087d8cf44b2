"""Exact dense search over an in-memory copy of the passage vectors (small corpora)."""

import shutil

import numpy as np
import pytest

from retrieval.config import load_settings
from retrieval.errors import StoreError
from retrieval.index import SanadIndex
from retrieval.passage_vectors import PASSAGES_DIR
from retrieval.search import search
from tests.fake_embedder import FakeEmbedder

QUESTIONS = [
    "جنگ میان طالبان و داعش چه زمانی آغاز شد؟",
    "من هو أول والٍ لتنظيم الدولة في أفغانستان؟",
    "حمله کروکوس چند کشته داشت؟",
    "What does the Taliban want from Pakistan?",
]


def _settings(data, **overrides):
    return load_settings(data_dir=data, embedding_model="fake", **overrides)


@pytest.fixture
def ingested(tmp_path, corpus):
    index = SanadIndex(_settings(tmp_path / "data"), embedder=FakeEmbedder())
    index.ingest(corpus)
    return index


def _dense_ids(index, question, k=10):
    return [r.chunk.chunk_id for r in search(index, question, k=k, mode="dense").results]


def test_exact_search_finds_the_passages_chroma_finds(ingested):
    copy = ingested.view().passages
    assert copy is not None
    assert len(copy) == len(ingested.chunks)
    embedder = FakeEmbedder()
    for question in QUESTIONS:
        vector = embedder.embed_query(question)
        exact = copy.search(vector, 10)
        chroma = ingested.store.query(vector, 10)  # a graph this small is searched fully
        assert [m.chunk_id for m in exact] == [m.chunk_id for m in chroma]
        for a, b in zip(exact, chroma, strict=True):
            assert a.similarity == pytest.approx(b.similarity, abs=1e-5)


def test_answers_are_the_same_with_and_without_the_copy(ingested):
    data = ingested.settings.data_dir
    through_chroma = SanadIndex(
        _settings(data, exact_search_max_passages=0), embedder=FakeEmbedder()
    )
    through_chroma.ensure_ready()
    assert through_chroma.view().passages is None
    assert not (data / PASSAGES_DIR).exists()  # a copy no longer used is not kept
    for question in QUESTIONS:
        assert _dense_ids(ingested, question) == _dense_ids(through_chroma, question)


def test_a_new_process_loads_the_copy_without_embedding_passages(ingested):
    embedder = FakeEmbedder()
    again = SanadIndex(ingested.settings, embedder=embedder)
    again.ensure_ready()
    assert again.view().passages is not None
    assert _dense_ids(again, QUESTIONS[0]) == _dense_ids(ingested, QUESTIONS[0])
    assert len(embedder.history) == 1  # the question only


def test_an_index_without_a_copy_gets_one_from_the_store(ingested):
    shutil.rmtree(ingested.settings.data_dir / PASSAGES_DIR)  # as built by 0.x releases
    embedder = FakeEmbedder()
    again = SanadIndex(ingested.settings, embedder=embedder)
    again.ensure_ready()
    copy = again.view().passages
    assert copy is not None
    assert copy.covers([c.chunk_id for c in again.chunks], embedder.name)
    assert embedder.history == []  # read from Chroma, not embedded again
    assert _dense_ids(again, QUESTIONS[1]) == _dense_ids(ingested, QUESTIONS[1])


def test_an_ingest_keeps_the_copy_in_step(ingested, corpus):
    (corpus / "herat.txt").write_text(
        "Saffron farming in Herat\n\nFarmers in Herat province grow saffron for export "
        "to markets in India and the Gulf every autumn.\n",
        encoding="utf-8",
    )
    (corpus / "003_ff37ad843cbdfbf5.txt").unlink()
    report = ingested.ingest(corpus)
    assert report.added == ["herat"]
    assert report.removed
    ids = [c.chunk_id for c in ingested.chunks]
    copy = ingested.view().passages
    assert copy is not None
    assert copy.covers(ids, FakeEmbedder.name)
    nearest = copy.search(FakeEmbedder().embed_query("Which crop do Herat farmers export?"), 1)
    assert nearest[0].chunk_id.startswith("herat:")
    found = search(ingested, "Which crop do Herat farmers export?", k=3, mode="dense")
    assert "herat" in [r.chunk.doc_id for r in found.results]
    reloaded = SanadIndex(ingested.settings, embedder=FakeEmbedder()).view().passages
    assert reloaded is not None
    assert reloaded.covers(ids, FakeEmbedder.name)


def test_a_corpus_over_the_limit_searches_through_chroma(tmp_path, corpus):
    index = SanadIndex(
        _settings(tmp_path / "data", exact_search_max_passages=5), embedder=FakeEmbedder()
    )
    index.ingest(corpus)
    assert len(index.chunks) > 5
    assert index.view().passages is None
    assert not (tmp_path / "data" / PASSAGES_DIR).exists()
    found = search(index, "What does the Taliban want from Pakistan?", k=3, mode="dense")
    assert found.mode == "dense"
    assert found.results


def test_the_store_names_passages_it_lacks(ingested):
    with pytest.raises(StoreError, match="sanad ingest"):
        ingested.store.vectors(["no-such-passage"])


def test_a_keyword_only_process_leaves_the_copy_on_disk_and_out_of_memory(ingested):
    settings = load_settings(data_dir=ingested.settings.data_dir, embedding_model="none")
    keywords = SanadIndex(settings)
    assert search(keywords, QUESTIONS[0]).results
    assert keywords.view().passages is None
    assert (settings.data_dir / PASSAGES_DIR / "vectors.npy").is_file()  # for the model's return


def _unit(vector):
    return vector / np.linalg.norm(vector)


def test_with_sentence_means_a_passage_vector_is_its_sentences_mean_and_no_passage_is_read_twice(
    tmp_path, corpus
):
    embedder = FakeEmbedder()
    settings = _settings(tmp_path / "data", passage_vectors="sentence-mean")
    index = SanadIndex(settings, embedder=embedder)
    index.ingest(corpus)
    view = index.view()
    docs = index.catalog.documents()
    sentences = {
        c.chunk_id: [c.text[a:b] for a, b in view.evidence.spans[c.chunk_id]] for c in view.chunks
    }
    titles = {d.title for d in docs.values() if d.title_given}
    assert titles  # the bundled manifest gives titles
    read = {text for kind, texts in embedder.calls if kind == "documents" for text in texts}
    assert read <= {s for found in sentences.values() for s in found} | titles

    ids = [c.chunk_id for c in view.chunks]
    stored = dict(zip(ids, index.store.vectors(ids), strict=True))
    reference = FakeEmbedder()
    for chunk in view.chunks:
        parts = [reference.embed_query(s) for s in sentences[chunk.chunk_id]]
        parts.append(reference.embed_query(docs[chunk.doc_id].title))
        # int8 sentence vectors: the mean is the reference's to about 1e-3
        assert stored[chunk.chunk_id] @ _unit(np.sum(parts, axis=0)) > 0.999


def test_with_sentence_means_a_passage_with_no_sentence_to_score_is_embedded_whole(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "notes.txt").write_text("Kabul, 2015.\n\nShort.\n", encoding="utf-8")
    embedder = FakeEmbedder()
    settings = _settings(tmp_path / "data", passage_vectors="sentence-mean")
    index = SanadIndex(settings, embedder=embedder)
    index.ingest(folder)
    [chunk] = index.view().chunks
    assert index.view().evidence.spans[chunk.chunk_id] == []  # both under 20 characters
    assert ("documents", [chunk.text]) in embedder.calls
    [vector] = index.store.vectors([chunk.chunk_id])
    assert vector @ FakeEmbedder().embed_query(chunk.text) == pytest.approx(1.0, abs=1e-5)


def test_by_default_the_model_reads_each_passage_whole_with_its_given_title(ingested):
    docs = ingested.catalog.documents()
    chunk = ingested.view().chunks[0]
    assert docs[chunk.doc_id].title_given
    [vector] = ingested.store.vectors([chunk.chunk_id])
    whole = FakeEmbedder().embed_query(f"{docs[chunk.doc_id].title}\n\n{chunk.text}")
    assert vector @ whole == pytest.approx(1.0, abs=1e-5)


def test_with_sentence_means_a_keyword_index_gets_means_when_the_model_arrives(tmp_path, corpus):
    data = tmp_path / "data"
    keywords = load_settings(data_dir=data, corpus_dir=corpus, embedding_model="none")
    SanadIndex(keywords).ingest()
    embedder = FakeEmbedder()
    settings = _settings(data, corpus_dir=corpus, passage_vectors="sentence-mean")
    index = SanadIndex(settings, embedder=embedder)
    index.ensure_ready()
    assert index.store.count() == len(index.chunks)
    titles = tuple(f"{d.title}\n\n" for d in index.catalog.documents().values() if d.title_given)
    read = [text for kind, texts in embedder.calls if kind == "documents" for text in texts]
    assert read  # the sentences, then the titles
    assert not [text for text in read if text.startswith(titles)]  # no passage read whole
