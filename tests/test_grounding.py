"""Evidence built at ingest, declining both ways, and `sanad eval DIR`."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import app
from retrieval.answer import Answerer
from retrieval.config import load_settings
from retrieval.index import SanadIndex
from retrieval.sentences import SentenceEvidence
from tests.fake_embedder import FakeEmbedder

ANSWERABLE = "پوتین در نشست سازمان همکاری شانگهای در آستانه درباره طالبان چه گفت؟"
UNRELATED = "What is the boiling point of liquid nitrogen in a laboratory?"


@pytest.fixture(scope="module")
def dense_index(tmp_path_factory):
    """The bundled corpus with the fake embedder, built once for this module.

    The bar for dense evidence is set for this embedder (its similarities are
    not a real model's): the test is that the rule works both ways around it.
    """
    data = tmp_path_factory.mktemp("dense")
    settings = load_settings(data_dir=data, embedding_model="fake", decline_dense_z=2.5)
    index = SanadIndex(settings, embedder=FakeEmbedder())
    index.ingest()
    return index


def test_sentence_vectors_and_the_dense_null_are_built_at_ingest(dense_index):
    folder = dense_index.settings.data_dir / "sentences"
    assert (folder / "codes.npy").is_file()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["model"] == FakeEmbedder.name
    assert meta["null"]["std"] > 0
    assert len(dense_index.evidence) > 100


def test_evidence_saved_as_float16_by_an_earlier_release_still_loads(dense_index, tmp_path):
    # Releases before the int8 form kept `vectors.npy` (float16): a data dir they
    # built must load, and score sentences as the current form does.
    current = SentenceEvidence.load(dense_index.settings.data_dir / "sentences")
    assert current is not None
    assert current.vectors is not None
    old = tmp_path / "sentences"
    shutil.copytree(dense_index.settings.data_dir / "sentences", old)
    (old / "codes.npy").unlink()
    (old / "scales.npy").unlink()
    np.save(old / "vectors.npy", current.vectors)
    loaded = SentenceEvidence.load(old)
    assert loaded is not None
    assert loaded.has_vectors(FakeEmbedder.name)
    chunk_ids = list(current.spans)
    query = FakeEmbedder().embed_query(ANSWERABLE)
    assert loaded.best_similarities(chunk_ids, query) == current.best_similarities(chunk_ids, query)


def test_evidence_whose_tokens_an_earlier_release_kept_in_meta_json_still_loads(
    dense_index, tmp_path
):
    # Before tokens.txt, each sentence's tokens were a JSON list in meta.json: such a
    # data dir loads with the same tokens; a tokens file that does not hold a line a
    # sentence is not trusted (the evidence is rebuilt, as when it is missing).
    folder = dense_index.settings.data_dir / "sentences"
    current = SentenceEvidence.load(folder)
    assert current is not None
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    meta = json.loads((old / "meta.json").read_text(encoding="utf-8"))
    meta["tokens"] = (old / "tokens.txt").read_text(encoding="utf-8").split("\n")
    (old / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    (old / "tokens.txt").unlink()
    loaded = SentenceEvidence.load(old)
    assert loaded is not None
    assert loaded.tokens == current.tokens
    assert len(current.tokens) > 100
    assert any(current.tokens)
    cut = tmp_path / "cut"
    shutil.copytree(folder, cut)
    lines = (cut / "tokens.txt").read_text(encoding="utf-8").split("\n")
    (cut / "tokens.txt").write_text("\n".join(lines[1:]), encoding="utf-8")
    assert SentenceEvidence.load(cut) is None


def test_evidence_without_sentences_or_with_tokenless_ones_saves_and_loads(tmp_path):
    for tokens in ([], [frozenset()], [frozenset(), frozenset({"كابل", "پل"}), frozenset()]):
        spans = {"d:1": [(i * 30, i * 30 + 25) for i in range(len(tokens))]} if tokens else {}
        SentenceEvidence(spans, tokens).save(tmp_path / "s")
        loaded = SentenceEvidence.load(tmp_path / "s")
        assert loaded is not None
        assert loaded.tokens == tokens
        assert loaded.spans == spans


def test_the_first_question_embeds_nothing_but_itself(dense_index):
    embedder = dense_index.embedder
    embedder.history.clear()
    Answerer(dense_index).ask(ANSWERABLE)
    assert set(embedder.history) == {ANSWERABLE}


def test_evidence_survives_a_restart_without_re_embedding(dense_index):
    again = SanadIndex(dense_index.settings, embedder=FakeEmbedder())
    again.ensure_ready()
    assert again.evidence.has_vectors(FakeEmbedder.name)
    assert again.embedder.history == []


def _answerer(index, z: float) -> Answerer:
    settings = index.settings.model_copy(update={"decline_dense_z": z})
    return Answerer(SanadIndex(settings, embedder=FakeEmbedder()))


def test_declining_both_ways(dense_index):
    answer = Answerer(dense_index).ask(ANSWERABLE)
    assert not answer.abstained
    z = answer.verdict.dense_z
    assert z is not None
    # The same evidence is declined once the bar stands above it, and answered below it.
    assert _answerer(dense_index, z + 0.01).ask(ANSWERABLE).abstained
    assert not _answerer(dense_index, z - 0.01).ask(ANSWERABLE).abstained
    for question in (UNRELATED, "قیمت طلا امروز در بازار کابل چند است؟"):
        unrelated = Answerer(dense_index).ask(question)
        assert unrelated.abstained, question
        assert unrelated.citations == []


def test_a_sentence_holding_every_word_asked_answers_below_the_dense_bar(dense_index):
    # In a corpus on one subject, unrelated sentences are on the subject too, and a
    # short question's best sentence may not stand out from them: the dense bar must
    # not decline a question one sentence holds word for word. A question that asks
    # for a fact the corpus lacks (when he was born) misses a word and still needs it.
    strict = _answerer(dense_index, 50.0)
    answered = strict.ask("رئیس سنتکام چه کسی است؟")
    assert not answered.abstained
    assert answered.verdict.sentence_support >= 0.95
    assert "مک کنزی" in answered.quoted()[0][1]
    missing = strict.ask("رئیس سنتکام در چه سالی به دنیا آمد؟")
    assert missing.abstained
    assert missing.verdict.reason == "weak-dense"
    assert not _answerer(dense_index, -50.0).ask("رئیس سنتکام در چه سالی به دنیا آمد؟").abstained


def test_an_answerable_question_whose_passage_ranks_first_is_answered(dense_index):
    answer = Answerer(dense_index).ask("نام طالبان از فهرست گروه‌های تروریستی روسیه حذف شد؟")
    assert not answer.abstained
    assert answer.citations[0].result.rank == 1


def _eval_folder(root, name, files, questions):
    folder = root / name
    (folder / "corpus").mkdir(parents=True)
    for file, text in files.items():
        (folder / "corpus" / file).write_text(text, encoding="utf-8")
    (folder / "questions.jsonl").write_text(
        "\n".join(json.dumps(q, ensure_ascii=False) for q in questions), encoding="utf-8"
    )
    return folder


def test_sanad_eval_dir_merges_folders_into_a_throwaway_index(tmp_path):
    a = _eval_folder(
        tmp_path,
        "a",
        {"a1.txt": "بنای موزه ملی در سال ۱۹۱۹ آغاز شد و ده سال طول کشید.\n"},
        [{"id": "1", "lang": "fa", "question": "بنای موزه ملی در چه سالی آغاز شد؟",
          "gold_docs": ["a1"], "evidence": ["۱۹۱۹"], "answerable": True}],
    )  # fmt: skip
    b = _eval_folder(
        tmp_path,
        "b",
        {"b1.txt": "افتتح المتحف الوطني في عام 1952 بعد سنوات من البناء.\n"},
        [{"id": "2", "lang": "ar", "question": "متى افتتح المتحف الوطني؟",
          "gold_docs": ["b1"], "evidence": ["1952"], "answerable": True},
         {"id": "3", "lang": "ar", "question": "كم كان سعر تذكرة دخول المتحف الوطني؟",
          "gold_docs": [], "evidence": [], "answerable": False}],
    )  # fmt: skip
    result = CliRunner().invoke(app, ["eval", str(a), str(b), "--answers", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["languages"]["fa"]["r@1"] == 1.0
    assert data["languages"]["ar"]["n"] == 1
    assert data["answers"]["ar"]["first_quote"] == 1.0
    assert data["answers"]["ar"]["declined"] == 1.0
    assert "2 documents" in result.stderr
    assert not (tmp_path / "cwd" / ".sanad").exists()  # nothing left in the default data dir


def test_sanad_eval_dir_refuses_a_folder_without_questions(tmp_path):
    (tmp_path / "x" / "corpus").mkdir(parents=True)
    result = CliRunner().invoke(app, ["eval", str(tmp_path / "x")])
    assert result.exit_code == 1
    assert "questions*.jsonl" in result.stderr


def test_re_ingest_embeds_only_new_sentences(tmp_path, corpus):
    embedder = FakeEmbedder()
    settings = load_settings(data_dir=tmp_path / "d", corpus_dir=corpus, embedding_model="fake")
    index = SanadIndex(settings, embedder=embedder)
    index.ingest()
    null = index.evidence.null
    embedder.history.clear()
    index.ingest()  # unchanged corpus: nothing embedded, the same dense null
    assert embedder.history == []
    assert index.evidence.null == null
    added = "یک جمله تازه درباره نشست شانگهای که پیش از این در متن نبود."
    path = corpus / "002_c21b3274f8c0af60.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + added + "\n", encoding="utf-8")
    index.ingest()
    embedded = [t for t in embedder.history if t != added and not t.startswith(added)]
    assert added in " ".join(embedder.history)
    assert len(embedded) < len(index.evidence) / 2  # only the changed document's sentences


class _PromptedEmbedder(FakeEmbedder):
    """As a model with a query prompt: queries are not embedded as passages are."""

    symmetric = False


@pytest.mark.parametrize(
    "embedder", [FakeEmbedder(), _PromptedEmbedder()], ids=["symmetric", "prompted"]
)
def test_ingest_embeds_each_distinct_sentence_once(tmp_path, corpus, embedder):
    # Chunks overlap by a sentence: that sentence is embedded once, and both chunks'
    # rows get its vector. The dense null asks the model for sentences as queries in
    # one batch, and not at all when queries embed as passages do.
    settings = load_settings(data_dir=tmp_path / "d", corpus_dir=corpus, embedding_model="fake")
    index = SanadIndex(settings, embedder=embedder)
    index.ingest()
    evidence = index.evidence
    assert evidence.quantized is not None
    texts: dict[str, list[int]] = {}
    for chunk in index.view().chunks:
        for s in evidence.sentences(chunk):
            texts.setdefault(s.text, []).append(s.row)
    shared = [rows for rows in texts.values() if len(rows) > 1]
    assert shared  # the corpus's chunks do overlap
    embedded = [
        t for kind, batch in embedder.calls if kind == "documents" for t in batch if t in texts
    ]
    assert sorted(embedded) == sorted(texts)  # every sentence, each once
    codes = evidence.quantized.codes
    for rows in shared:
        assert all(np.array_equal(codes[rows[0]], codes[r]) for r in rows[1:])
    kinds = [kind for kind, _ in embedder.calls]
    assert kinds.count("queries") == (0 if embedder.symmetric else 1)
    assert "query" not in kinds
    assert index.evidence.null is not None
    assert index.evidence.null.std > 0


def test_sentences_embedded_a_block_at_a_time_score_as_if_embedded_at_once(
    dense_index, tmp_path, corpus, monkeypatch
):
    # Ingest embeds sentences a block at a time and keeps each block as int8 codes
    # (peak memory); how the blocks fall must not change a single vector or the null.
    monkeypatch.setattr("retrieval.sentence_vectors._EMBED_BLOCK", 7)
    settings = load_settings(
        data_dir=tmp_path / "d", corpus_dir=corpus, embedding_model="fake", decline_dense_z=2.5
    )
    index = SanadIndex(settings, embedder=FakeEmbedder())
    index.ingest()
    whole = dense_index.evidence
    assert whole.quantized is not None
    assert index.evidence.quantized is not None
    assert index.evidence.spans == whole.spans
    assert np.array_equal(index.evidence.quantized.codes, whole.quantized.codes)
    assert np.array_equal(index.evidence.quantized.scales, whole.quantized.scales)
    assert index.evidence.null == whole.null
    # An incremental ingest mixes reused rows with new blocks, in their places.
    path = corpus / "002_c21b3274f8c0af60.txt"
    path.write_text(
        "یک جمله تازه درباره نشست شانگهای که پیش از این در متن نبود.\n"
        + path.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    index.ingest()
    monkeypatch.setattr("retrieval.sentence_vectors._EMBED_BLOCK", 10_000)
    fresh = SanadIndex(
        load_settings(data_dir=tmp_path / "e", corpus_dir=corpus, embedding_model="fake"),
        embedder=FakeEmbedder(),
    )
    fresh.ingest()
    assert fresh.evidence.quantized is not None
    assert index.evidence.quantized is not None
    assert np.array_equal(index.evidence.quantized.codes, fresh.evidence.quantized.codes)
    # (The null of reused rows is taken from their codes: within rounding of a fresh one.)
    assert index.evidence.null is not None
    assert fresh.evidence.null is not None
    assert index.evidence.null.mean == pytest.approx(fresh.evidence.null.mean, abs=1e-3)
