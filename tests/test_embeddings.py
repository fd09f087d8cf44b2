"""Model loading, prompts, and the fast fall-back to lexical-only when offline."""

import time
from typing import Any

import numpy as np
import pytest

from retrieval.config import load_settings
from retrieval.embeddings import Embedder, load_embedder, pull_model
from retrieval.errors import ModelUnavailable
from retrieval.index import SanadIndex
from retrieval.search import search


def test_e5_models_get_query_and_passage_prefixes(minilm):
    e5 = Embedder(minilm.model, "intfloat/multilingual-e5-small")
    assert (e5.query_prompt, e5.document_prompt) == ("query: ", "passage: ")
    expected = minilm.model.encode("query: saffron", normalize_embeddings=True)
    assert np.allclose(e5.embed_query("saffron"), expected, atol=1e-5)


def test_prompts_can_be_overridden_in_settings(minilm_path, tmp_path):
    settings = load_settings(
        data_dir=tmp_path, embedding_model=minilm_path, query_prompt="Q: ", document_prompt="D: "
    )
    embedder = load_embedder(settings)
    plain = embedder.model.encode("D: saffron", normalize_embeddings=True)
    assert np.allclose(embedder.embed_documents(["saffron"])[0], plain, atol=1e-5)


def test_queries_batched_are_the_queries_one_at_a_time(minilm):
    e5 = Embedder(minilm.model, "intfloat/multilingual-e5-small")
    texts = ["saffron from Herat", "a much longer question about the war between two groups"]
    batched = e5.embed_queries(texts)
    for text, vector in zip(texts, batched, strict=True):
        assert np.allclose(vector, e5.embed_query(text), atol=1e-5)
    # A query prompt sets queries apart from passages; without one they are the same.
    assert not e5.symmetric
    assert minilm.symmetric
    assert np.allclose(minilm.embed_queries(texts), minilm.embed_documents(texts), atol=1e-5)


def test_vectors_are_normalized(minilm):
    vectors = minilm.embed_documents(["one passage", "another passage"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("offline", ["1", ""])
def test_uncached_hub_model_fails_within_seconds(tmp_path, monkeypatch, offline):
    # Offline flag set, or not set with the hub unreachable (tests allow loopback only).
    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", offline)
    settings = load_settings(data_dir=tmp_path, embedding_model="example-org/not-cached-model")
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="sanad models pull"):
        load_embedder(settings)
    assert time.monotonic() - started < 5


def test_index_falls_back_to_lexical_with_one_clear_line(tmp_path):
    messages = []
    settings = load_settings(data_dir=tmp_path, embedding_model="example-org/not-cached-model")
    index = SanadIndex(settings, notify=lambda n: messages.append(n.render("en")))
    response = search(index, "پوتین درباره طالبان چه گفت؟")
    assert response.mode == "lexical"
    assert response.results
    model_lines = [m for m in messages if "not-cached-model" in m]
    assert len(model_lines) == 1
    assert "keyword-only" in model_lines[0]
    assert "not-cached-model" in index.dense_note


def test_pull_says_what_to_do_when_the_hub_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    settings = load_settings(data_dir=tmp_path, embedding_model="example-org/model")
    with pytest.raises(ModelUnavailable, match="cannot be reached"):
        pull_model(settings)


def test_pull_of_a_local_model_is_a_no_op(tmp_path, minilm_path):
    settings = load_settings(data_dir=tmp_path, embedding_model=minilm_path)
    assert str(pull_model(settings)) == minilm_path


class RecordingModel:
    """The real model, recording the texts of each call that encodes (a spy)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.history: list[list[str]] = []

    def encode(self, texts: list[str], **kwargs: Any) -> Any:
        self.history.append(list(texts))
        return self._model.encode(texts, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _tokens(model: Any, text: str) -> int:
    return len(model.tokenizer(text, truncation=True, max_length=model.max_seq_length)["input_ids"])


def test_a_batch_holds_at_most_its_token_budget_and_long_texts_go_alone(minilm):
    spy = RecordingModel(minilm.model)
    embedder = Embedder(spy, "minilm", batch_size=4, batch_tokens=64)  # type: ignore[arg-type]
    long_texts = [f"a long passage number {n} " + "about saffron fields " * 12 for n in range(3)]
    short_texts = [f"note {n}" for n in range(10)]
    texts = [t for pair in zip(long_texts, short_texts, strict=False) for t in pair]
    texts += short_texts[3:]
    vectors = embedder.embed_documents(texts)

    # Each text encoded once; no batch over the budget unless one text is alone.
    assert sorted(t for call in spy.history for t in call) == sorted(texts)
    for call in spy.history:
        assert len(call) <= 4
        assert len(call) == 1 or len(call) * max(_tokens(spy, t) for t in call) <= 64
    assert [len(call) for call in spy.history if any(t in long_texts for t in call)] == [1, 1, 1]
    # The vectors come back in the order of the texts, as the model gives them one by one.
    for text, vector in zip(texts, vectors, strict=True):
        assert np.allclose(vector, minilm.model.encode(text, normalize_embeddings=True), atol=1e-5)


def test_the_token_budget_counts_the_prompt(minilm):
    spy = RecordingModel(minilm.model)
    prompt = "passage: " + "context " * 20  # ~22 tokens more on every text
    embedder = Embedder(  # type: ignore[arg-type]
        spy, "minilm", query_prompt="", document_prompt=prompt, batch_size=8, batch_tokens=64
    )
    texts = ["saffron", "wheat", "rice", "cotton"]
    embedder.embed_documents(texts)
    # Alone, each text is 3 tokens: without its prompt, all four would fit in 64.
    assert all(len(call) <= 64 // _tokens(spy, prompt + "saffron") for call in spy.history)
    assert len(spy.history) > 1


class NotHuggingFaceTokenizer:
    """A tokenizer that takes none of Hugging Face's keywords (a static model's)."""

    def __call__(self, texts: list[str]) -> Any:
        raise TypeError("unexpected keyword argument 'return_attention_mask'")


def test_a_model_whose_tokenizer_cannot_count_is_batched_by_characters(minilm):
    spy = RecordingModel(minilm.model)
    spy.tokenizer = NotHuggingFaceTokenizer()
    embedder = Embedder(spy, "minilm", batch_size=8, batch_tokens=64)  # type: ignore[arg-type]
    texts = ["saffron " * 40, "wheat", "rice", "saffron fields of Herat " * 3]
    vectors = embedder.embed_documents(texts)
    assert ["saffron " * 40] in spy.history  # ~80 tokens by its characters: alone
    for text, vector in zip(texts, vectors, strict=True):
        assert np.allclose(vector, minilm.model.encode(text, normalize_embeddings=True), atol=1e-5)


def test_an_ingests_embedder_gives_freed_memory_back_after_every_batch_unless_told_not_to(
    minilm, monkeypatch
):
    released: list[int] = []
    spy = RecordingModel(minilm.model)
    monkeypatch.setattr(
        "retrieval.embeddings.release_freed_memory", lambda: released.append(len(spy.history))
    )
    texts = [f"saffron fields of Herat, note {n}" for n in range(7)]

    told = Embedder(spy, "minilm", batch_size=2)  # type: ignore[arg-type]
    told.embed_documents(texts)
    # Once after each batch, the batch encoded before it.
    assert len(spy.history) == 4
    assert released == [1, 2, 3, 4]

    released.clear()
    quiet = Embedder(spy, "minilm", batch_size=2, release_memory=False)  # type: ignore[arg-type]
    quiet.embed_documents(texts)
    told.embed_query("where is saffron grown?")
    assert released == []  # told not to, and a question is no run of batches


def test_the_release_setting_reaches_the_loaded_embedder(minilm_path, tmp_path, monkeypatch):
    assert load_settings(data_dir=tmp_path).embedding_release_memory  # on unless told
    monkeypatch.setenv("SANAD_EMBEDDING_RELEASE_MEMORY", "false")
    settings = load_settings(data_dir=tmp_path, embedding_model=minilm_path)
    assert load_embedder(settings).release_memory is False
