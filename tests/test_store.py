"""The vector store: model bookkeeping, and a real `chroma run` server on loopback."""

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from retrieval.config import load_settings
from retrieval.errors import ModelMismatch, StoreUnavailable
from retrieval.index import SanadIndex
from retrieval.search import search
from retrieval.store import VectorStore
from tests.ports import free_port


def test_store_records_the_model_and_refuses_another(dense_settings, minilm, corpus):
    SanadIndex(dense_settings, embedder=minilm).ingest(corpus)
    store = VectorStore(dense_settings)
    assert store.recorded_model() == (minilm.name, 384)
    with pytest.raises(ModelMismatch, match="sanad ingest --rebuild"):
        store.open("intfloat/multilingual-e5-small", 384)


def test_rebuild_replaces_vectors_of_another_model(dense_settings, minilm, corpus):
    SanadIndex(dense_settings, embedder=minilm).ingest(corpus)
    store = VectorStore(dense_settings)
    store.drop()  # what --rebuild does before re-embedding
    store.open("another-model", 3)
    assert store.recorded_model() == ("another-model", 3)
    assert store.count() == 0


def test_vectors_missing_from_the_store_are_filled_in(dense_settings, minilm, corpus):
    # Built while the model was unavailable (lexical-only), then the model came back.
    lexical = load_settings(data_dir=dense_settings.data_dir, embedding_model="none")
    SanadIndex(lexical).ingest(corpus)
    index = SanadIndex(dense_settings, embedder=minilm)
    index.ensure_ready()
    assert index.store.count() == len(index.chunks)


def test_unreachable_server_names_host_and_port(tmp_path):
    port = free_port()
    settings = load_settings(
        data_dir=tmp_path / "d", embedding_model="none", chroma_host="127.0.0.1", chroma_port=port
    )
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}"):
        VectorStore(settings)
    assert time.monotonic() - started < 10


def _client_settings(tmp_path, minilm, server):
    return load_settings(
        data_dir=tmp_path / "client",
        embedding_model=minilm.name,
        chroma_host="127.0.0.1",
        chroma_port=server.port,
    )


@pytest.mark.server
def test_ingest_and_search_through_a_chroma_server(chroma_server, tmp_path, minilm, corpus):
    (corpus / "herat.txt").write_text(
        "Saffron farming in Herat\n\nFarmers in Herat province grow saffron for export.\n",
        encoding="utf-8",
    )
    settings = _client_settings(tmp_path, minilm, chroma_server)
    index = SanadIndex(settings, embedder=minilm)
    report = index.ingest(corpus)
    assert report.embedded == report.chunks > 0
    assert not (tmp_path / "client" / "chroma").exists()  # vectors live on the server
    assert index.view().passages is None  # others may change them: searched there too

    response = search(index, "Which crop do Herat farmers export?", k=3)
    assert response.mode == "hybrid"
    assert response.results[0].chunk.doc_id == "herat"
    index.close()
    other = VectorStore(settings)
    assert other.count() == report.chunks
    other.close()


@pytest.mark.server
def test_search_falls_back_to_keywords_when_the_server_goes_away(chroma_server, tmp_path, minilm):
    settings = _client_settings(tmp_path, minilm, chroma_server)
    index = SanadIndex(settings, embedder=minilm)
    index.ingest()
    chroma_server.stop()
    response = search(index, "پوتین در نشست سازمان شانگهای درباره طالبان چه گفت؟", k=3)
    assert response.mode == "lexical"
    assert any(f"127.0.0.1:{chroma_server.port}" in n.render("en") for n in response.notices)
    assert response.results[0].chunk.doc_id == "002_c21b3274f8c0af60"
    index.close()


@pytest.mark.server
def test_a_hung_server_costs_one_timeout_then_keywords_and_recovers(
    chroma_server, tmp_path, minilm
):
    settings = _client_settings(tmp_path, minilm, chroma_server).model_copy(
        update={"chroma_timeout": 1.5}
    )
    index = SanadIndex(settings, embedder=minilm)
    index.ingest()
    question = "پوتین در نشست سازمان شانگهای درباره طالبان چه گفت؟"
    chroma_server.proc.send_signal(signal.SIGSTOP)  # accepts connections, never answers
    try:
        hung = ThreadPoolExecutor(1).submit(search, index, question, k=3)
        response = hung.result(timeout=30)  # without a timeout this waits forever
        assert response.mode == "lexical"
        assert any(n.key == "store_fallback" for n in response.notices)
        assert response.results[0].chunk.doc_id == "002_c21b3274f8c0af60"
    finally:
        chroma_server.proc.send_signal(signal.SIGCONT)
    assert search(index, question, k=3).mode == "hybrid"  # back with the server
    index.close()
