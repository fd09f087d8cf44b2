"""Compare fusion methods on a question set: is hybrid ever worse than either side?

Prints R@5 and MRR@10 per language for lexical, dense, Sanad's fusion (z-scores,
lexical weighted by vocabulary coverage) and the alternatives it was chosen over.

    SANAD_EMBEDDING_MODEL="$(../shared/tools/fetch-eval-model)" SANAD_DATA_DIR=/tmp/sanad-eval \\
        .venv/bin/python benchmarks/fusion_variants.py ../shared/eval/dev.jsonl
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from retrieval.config import load_settings
from retrieval.evaluate import EvalQuestion, answers, load_questions
from retrieval.fusion import fuse
from retrieval.index import SanadIndex
from retrieval.normalize import tokenize

Ranked = list[tuple[int, float]]
Fusion = Callable[[Ranked, Ranked, float], list[int]]


def rrf(lex: Ranked, dense: Ranked, weight: float, k: int = 60) -> list[int]:
    scores: dict[int, float] = defaultdict(float)
    for r, (i, _) in enumerate(lex, 1):
        scores[i] += weight / (k + r)
    for r, (i, _) in enumerate(dense, 1):
        scores[i] += 1 / (k + r)
    return sorted(scores, key=lambda i: -scores[i])


VARIANTS: dict[str, Fusion] = {
    "lexical": lambda lex, dense, w: [i for i, _ in lex],
    "dense": lambda lex, dense, w: [i for i, _ in dense],
    "rrf, equal weights": lambda lex, dense, w: rrf(lex, dense, 1.0),
    "rrf, coverage weight": rrf,
    "sanad (z-score, coverage weight)": lambda lex, dense, w: [
        f.index for f in fuse(lex, dense, lexical_weight=w)
    ],
}


def main() -> None:
    settings = load_settings()
    index = SanadIndex(settings, notify=lambda m: print(m, file=sys.stderr))
    index.ensure_ready()
    embedder = index.embedder
    if embedder is None:
        sys.exit(f"needs an embedding model: {index.dense_note}")
    questions = [q for q in load_questions(Path(sys.argv[1])) if q.answerable]
    rows: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in VARIANTS}
    for q in questions:
        tokens = tokenize(q.question)
        lex = [(m.index, m.score) for m in index.lexical.search(tokens, 50)]
        dense = [
            (index.position[m.chunk_id], m.similarity)
            for m in index.store.query(embedder.embed_query(q.question), 50)
        ]
        weight = index.lexical.coverage(tokens)
        for name, method in VARIANTS.items():
            rows[name][q.lang].append(_rank(q, index, method(lex, dense, weight)))
    langs = sorted({q.lang for q in questions})
    print(f"{'method':<34}" + "".join(f"{lang + ' R@5':>10}{lang + ' MRR':>10}" for lang in langs))
    for name, by_lang in rows.items():
        cells = ""
        for lang in langs:
            ranks = by_lang[lang]
            r5 = sum(0 < r <= 5 for r in ranks) / len(ranks)
            mrr = sum(1 / r for r in ranks if 0 < r <= 10) / len(ranks)
            cells += f"{r5:>10.2f}{mrr:>10.3f}"
        print(f"{name:<34}{cells}")


def _rank(q: EvalQuestion, index: SanadIndex, ranking: list[int]) -> int:
    for r, i in enumerate(ranking[:10], 1):
        chunk = index.chunks[i]
        if answers(q, chunk.doc_id, chunk.text):
            return r
    return 0


if __name__ == "__main__":
    main()
