"""The floor for keyword search: plain bm25s, whitespace tokens, whole paragraphs.

No normalization, no stop words, no chunking (tokens: runs of word characters,
so punctuation stuck to a word does not hide it): the baseline that
`../shared/eval/external/README.md` reports, measured here on the same merged
folders Sanad is measured on, so the two stand side by side:

    .venv/bin/python benchmarks/plain_bm25.py ../shared/eval/external/xquad \\
        ../shared/eval/external/arcd
    SANAD_EMBEDDING_MODEL=none .venv/bin/sanad eval ../shared/eval/external/xquad \\
        ../shared/eval/external/arcd
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import bm25s
import numpy as np

from retrieval.evalset import open_eval_set
from retrieval.evaluate import score_retrieval


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        evalset = open_eval_set([Path(p) for p in sys.argv[1:]], Path(work))
        assert evalset.corpus_dir is not None
        paragraphs: list[tuple[str, str]] = []
        for file in sorted(evalset.corpus_dir.glob("*.txt")):
            text = file.read_text(encoding="utf-8")
            paragraphs += [(file.stem, p.strip()) for p in text.split("\n\n") if p.strip()]
        retriever = bm25s.BM25()
        retriever.index([_words(p) for _, p in paragraphs], show_progress=False)

        def retrieve(question: str) -> list[tuple[str, str]]:
            scores = np.asarray(retriever.get_scores(_words(question)))
            top = np.argsort(-scores, kind="stable")[:10]
            return [paragraphs[i] for i in top if scores[i] > 0]

        print(f"plain bm25s over {len(paragraphs)} paragraphs")
        print(f"{'lang':<6}{'n':>5}{'R@1':>8}{'R@5':>8}{'MRR@10':>9}")
        for lang, s in score_retrieval(evalset.questions, retrieve, k=5).items():
            row = s.to_json()
            print(
                f"{lang:<6}{row['n']:>5}{row['r@1']:>8.3f}{row['r@k']:>8.3f}{row['mrr@10']:>9.3f}"
            )


if __name__ == "__main__":
    main()
