"""The ONNX backends: the same model run by ONNX Runtime, exported once per model."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from retrieval.config import load_settings
from retrieval.embeddings import load_embedder
from retrieval.errors import ModelMismatch, ModelUnavailable
from retrieval.index import SanadIndex
from retrieval.search import search

QUESTIONS = [
    "When did the war between the Taliban and the Islamic State begin?",
    "جنگ میان طالبان و داعش چه زمانی آغاز شد؟",
]


def _embedder(minilm_path, tmp_path, backend):
    settings = load_settings(
        data_dir=tmp_path / "data", embedding_model=minilm_path, embedding_backend=backend
    )
    return load_embedder(settings)


def test_onnx_gives_the_models_own_vectors(minilm, minilm_path, tmp_path):
    onnx = _embedder(minilm_path, tmp_path, "onnx")
    assert onnx.name == minilm.name  # an index built with torch stays usable
    passages = ["The Taliban took Kabul in August 2021. " * 20, "A short passage."]
    np.testing.assert_allclose(
        onnx.embed_documents(passages), minilm.embed_documents(passages), atol=1e-4
    )
    for q in QUESTIONS:
        np.testing.assert_allclose(onnx.embed_query(q), minilm.embed_query(q), atol=1e-4)


def test_onnx_search_finds_what_torch_finds(minilm_path, tmp_path):
    torch_settings = load_settings(data_dir=tmp_path / "data", embedding_model=minilm_path)
    index = SanadIndex(torch_settings)
    index.ingest()
    expected = [r.chunk.chunk_id for r in search(index, QUESTIONS[0], mode="dense").results]
    onnx_index = SanadIndex(torch_settings.model_copy(update={"embedding_backend": "onnx"}))
    found = [r.chunk.chunk_id for r in search(onnx_index, QUESTIONS[0], mode="dense").results]
    assert found == expected


def test_int8_vectors_are_recorded_as_another_model(minilm, minilm_path, tmp_path):
    int8 = _embedder(minilm_path, tmp_path, "onnx-int8")
    assert int8.name == f"{minilm.name}#int8"
    a, b = int8.embed_query(QUESTIONS[0]), minilm.embed_query(QUESTIONS[0])
    assert 0.8 < float(a @ b) < 0.9999  # close to the model's, not the same
    # An index embedded by torch is not silently searched with int8 query vectors.
    settings = load_settings(data_dir=tmp_path / "data", embedding_model=minilm_path)
    SanadIndex(settings).ingest()
    with pytest.raises(ModelMismatch, match="rebuild"):
        SanadIndex(settings.model_copy(update={"embedding_backend": "onnx-int8"})).ingest()


def test_an_interrupted_export_is_made_again(minilm_path, tmp_path, onnx_cache):
    _embedder(minilm_path, tmp_path, "onnx")
    (done,) = onnx_cache.glob("*/model.onnx.done")
    exported = done.with_name("model.onnx")
    done.unlink()
    exported.write_bytes(b"half-written")  # as if the export had been killed
    onnx = _embedder(minilm_path, tmp_path, "onnx")
    assert done.is_file()
    assert onnx.embed_query(QUESTIONS[0]).shape == (384,)


def test_without_the_exporter_the_error_says_what_to_install(minilm_path, tmp_path, monkeypatch):
    monkeypatch.setenv("SANAD_ONNX_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed
    with pytest.raises(ModelUnavailable, match=r"sanad\[onnx\].*SANAD_EMBEDDING_BACKEND=torch"):
        _embedder(minilm_path, tmp_path, "onnx")


def test_an_unknown_backend_is_refused_early(tmp_path):
    from retrieval.errors import ConfigError

    with pytest.raises(ConfigError, match="EMBEDDING_BACKEND"):
        load_settings(data_dir=tmp_path / "d", embedding_backend="tensorrt")
