"""How often is the top-ranked sentence the one holding the answer? Constant by constant.

The constants of `retrieval.evidence` (rank bonus, prefix credit, lead credit,
stem length, question-kind bonus) were chosen with this script on the public
development sets, never on `dev.jsonl`. It searches each question once, then re-ranks the same passages'
sentences with each setting and reports the share whose top sentence holds the
gold answer (declining left aside), per setting, and with the defaults where the
first sentence holding the answer ranks:

    .venv/bin/sanad eval ../shared/eval/external/persianqa --index-dir /tmp/ev/fa   # builds it
    .venv/bin/python benchmarks/sentence_ranking.py /tmp/ev/fa \\
        ../shared/eval/external/persianqa/questions.jsonl

With SANAD_EMBEDDING_MODEL set, dense evidence takes part as it does in answers.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import retrieval.evidence as evidence
from retrieval.config import load_settings
from retrieval.evaluate import EvalQuestion, answers, load_questions
from retrieval.index import SanadIndex
from retrieval.question import prepare_question
from retrieval.search import SearchResponse, search

GRID: dict[str, tuple[float, ...]] = {
    "RANK_BONUS": (0.0, 0.1, 0.2, 0.3),
    "PREFIX_CREDIT": (0.0, 0.3, 0.5, 0.7),
    "LEAD_CREDIT": (0.0, 0.3, 0.6, 1.0),
    "STEM_MIN_CHARS": (2, 3, 4),
    "ASKS_BONUS": (0.0, 0.1, 0.2),
    "DENSE_WEIGHT": (0.0, 1 / 6, 1 / 3, 2 / 3, 1.0),
}


def main() -> None:
    work, files = Path(sys.argv[1]), [Path(f) for f in sys.argv[2:]]
    settings = load_settings(data_dir=work / "data", corpus_dir=work / "corpus")
    index = SanadIndex(settings)
    index.ensure_ready()
    if index.embedder is not None:  # each question is embedded once, not once per setting
        index.embedder.embed_query = functools.cache(index.embedder.embed_query)  # type: ignore[method-assign]
    items = []
    for f in files:
        for q in load_questions(f):
            question = prepare_question(q.question, settings.max_query_chars)
            items.append((q, search(index, question, k=settings.answer_passages)))
    defaults = {name: getattr(evidence, name) for name in GRID}

    def top_holds() -> float:
        hits = 0
        for q, response in items:
            ranked = _ranked(response, index)
            top = ranked[0].sentence if ranked else None
            hits += top is not None and answers(q, top.chunk.doc_id, top.text)
        return hits / len(items)

    print(f"{len(items)} questions, mode {index.mode}; defaults: {defaults}")
    print(f"{'defaults':<28}{top_holds():.3f}")
    print("where the first sentence holding the answer ranks, with the defaults:")
    for place, share in answer_ranks(items, index).items():
        print(f"  {place:<26}{share:.3f}")
    for name, values in GRID.items():
        for value in values:
            setattr(evidence, name, value)
            print(f"{name + ' = ' + format(value, '.3g'):<28}{top_holds():.3f}", flush=True)
        setattr(evidence, name, defaults[name])


def _ranked(response: SearchResponse, index: SanadIndex) -> list[evidence.ScoredSentence]:
    """The response's sentences ranked with the current constants, on the question
    as searched (respelled, compounds added), as answers rank them."""
    view = response.view
    scorer = evidence.EvidenceScorer(view.lexical, view.evidence, index.embedder)
    return scorer.rank(
        response.question,
        response.results,
        lexical_weight=response.lexical_weight,
        dense=response.mode != "lexical",
    )


def answer_ranks(
    items: list[tuple[EvalQuestion, SearchResponse]], index: SanadIndex
) -> dict[str, float]:
    """Shares of questions whose first answering sentence ranks first, second, lower,
    or is in none of the quoted passages."""
    counts = dict.fromkeys(("first", "second", "lower", "none"), 0)
    for q, response in items:
        ranked = _ranked(response, index)
        held = [answers(q, s.sentence.chunk.doc_id, s.sentence.text) for s in ranked]
        at = held.index(True) if True in held else None
        counts["none" if at is None else ("first", "second")[at] if at < 2 else "lower"] += 1
    return {k: v / len(items) for k, v in counts.items()}


if __name__ == "__main__":
    main()
