"""Search over the bundled corpus: lexical-only, and hybrid with the shipped model."""

import pytest

from retrieval.errors import QueryError
from retrieval.index import SanadIndex
from retrieval.search import search


@pytest.fixture
def lexical_index(lexical_settings):
    return SanadIndex(lexical_settings)


@pytest.mark.parametrize(
    ("question", "doc", "evidence"),
    [
        ("ملا اختر محمد منصور به ابوبکر البغدادی چه نوشت؟", "001_941a35178b1cb8a2", "ابوبکر"),
        ("روسیه از چه سالی نشست فرمت مسکو را راه‌اندازی کرد؟", "002_c21b3274f8c0af60", "فرمت مسکو"),
        ("ماذا كتب أناتول ليفن عن طالبان؟", "003_ff37ad843cbdfbf5", "ليفن"),
        ("من هو شهاب المهاجر؟", "004_c80c06d5ecfa0c0e", "شهاب المهاجر"),
        # Arabic letter forms and diacritics in the question still match
        ("مَن هُوَ شِهاب المُهاجِر؟", "004_c80c06d5ecfa0c0e", "شهاب المهاجر"),
    ],
)
def test_lexical_search_finds_the_passage(lexical_index, question, doc, evidence):
    response = search(lexical_index, question, k=5)
    assert response.mode == "lexical"
    top = response.results[0]
    assert top.chunk.doc_id == doc
    assert evidence in top.chunk.text


def test_empty_index_is_built_on_first_search(lexical_settings):
    messages = []
    index = SanadIndex(lexical_settings, notify=lambda n: messages.append(n.render("en")))
    assert index.is_empty()
    response = search(index, "پوتین درباره طالبان چه گفت؟")
    assert response.results
    assert any("building it" in m for m in messages)


def test_results_carry_offsets_into_the_original_file(lexical_index):
    response = search(lexical_index, "حمله به سالن کنسرت کروکوس", k=3)
    for r in response.results:
        original = lexical_index.catalog.document_text(r.chunk.doc_id)
        assert original is not None
        assert original[r.chunk.start : r.chunk.end] == r.chunk.text


def test_json_shape(lexical_index):
    data = search(lexical_index, "داعش خراسان", k=3).to_json()
    assert set(data) == {"query", "language", "mode", "results", "timings_ms"}
    assert set(data["timings_ms"]) == {"encode", "dense", "lexical", "fuse", "total"}
    assert [r["rank"] for r in data["results"]] == [1, 2, 3]
    assert set(data["results"][0]) == {
        "rank", "score", "doc_id", "title", "url", "lang", "chunk_id", "start", "end", "text"
    }  # fmt: skip


def test_no_near_duplicate_passages_are_returned(lexical_settings, corpus):
    # The same article saved twice under two names must not fill the results twice.
    original = corpus / "003_ff37ad843cbdfbf5.txt"
    (corpus / "copy_of_003.txt").write_bytes(original.read_bytes())
    index = SanadIndex(lexical_settings)
    index.ingest(corpus)
    results = search(index, "ماذا قال الجنرال مارك ميلي عن طالبان؟", k=5).results
    texts = [" ".join(r.chunk.text.split()) for r in results]
    assert len(set(texts)) == len(texts)


def test_empty_query_is_refused(lexical_index):
    with pytest.raises(QueryError, match="empty"):
        search(lexical_index, "   \n")


def test_overlong_query_is_truncated_with_a_notice(lexical_index):
    response = search(lexical_index, "طالبان " * 1000)
    assert len(response.query) == 2000
    assert any("2000" in n.render("en") for n in response.notices)


def test_hybrid_search_with_the_shipped_model(dense_settings, corpus):
    # MiniLM knows English only, so the dense path is checked on English text.
    (corpus / "herat.txt").write_text(
        "Saffron farming in Herat\n\nFarmers in Herat province grow saffron, which is exported "
        "to Europe and the Gulf. Prices rose sharply after the harvest.\n",
        encoding="utf-8",
    )
    index = SanadIndex(dense_settings)
    index.ingest(corpus)
    response = search(index, "Which spice do Afghan growers sell abroad?", k=3)
    assert response.mode == "hybrid"
    assert response.results[0].chunk.doc_id == "herat"
    assert response.results[0].dense_rank == 1
    dense_only = search(index, "Which spice do Afghan growers sell abroad?", k=3, mode="dense")
    assert dense_only.mode == "dense"
    assert dense_only.results[0].chunk.doc_id == "herat"


def test_english_question_over_persian_text_ignores_lexical_noise(dense_settings, corpus):
    # English shares no words with Persian text: the lexical side must get no say.
    index = SanadIndex(dense_settings)
    index.ingest(corpus)
    question = "Taliban ISIS war provinces"
    hybrid = search(index, question, k=5)
    dense = search(index, question, k=5, mode="dense")
    assert hybrid.lexical_coverage == pytest.approx(0.0)
    assert [r.chunk.chunk_id for r in hybrid.results] == [r.chunk.chunk_id for r in dense.results]
