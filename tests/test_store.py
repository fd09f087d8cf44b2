"""The vector store: model bookkeeping, and a real `chroma run` server on loopback."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval.config import load_settings
from retrieval.errors import ModelMismatch, StoreUnavailable
from retrieval.index import SanadIndex
from retrieval.search import search
from retrieval.store import VectorStore


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
    port = _free_port()
    settings = load_settings(
        data_dir=tmp_path / "d", embedding_model="none", chroma_host="127.0.0.1", chroma_port=port
    )
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}"):
        VectorStore(settings)
    assert time.monotonic() - started < 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path):
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited: {(tmp_path / 'chroma.log').read_text()}")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield ChromaServer(port, proc)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _client_settings(tmp_path, minilm, server):
    return load_settings(
        data_dir=tmp_path / "client",
        embedding_model=minilm.name,
        chroma_host="127.0.0.1",
        chroma_port=server.port,
    )


class ChromaServer:
    def __init__(self, port: int, proc: subprocess.Popen) -> None:
        self.port, self.proc = port, proc

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


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
