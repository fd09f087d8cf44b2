"""Retrieval quality beside speed: Sanad and LangChain's BM25 on the public sets.

`python -m benchmarks.quality PATH…` takes what `sanad eval` takes: evaluation
folders, whose corpora it merges, and question files (unanswerable questions over
those folders, or `dev.jsonl` over the bundled corpus when no folder is given). It
prints one JSON line: per question language, R@1, R@5 and MRR@10 of Sanad's keyword
search and of LangChain's `BM25Retriever` over `RecursiveCharacterTextSplitter(1000,
200)` chunks, and Sanad's answer figures (answered, first quote holds the answer,
unanswerable questions declined, citation markers valid). Keyword-only: both sides,
no model; Sanad's index in a throwaway data dir.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retrieval.config import BUNDLED_CORPUS_DIR
from retrieval.evalset import open_eval_set
from retrieval.evaluate import score_retrieval

ROOT = Path(__file__).resolve().parent.parent
#: The public sets, when the development workspace's shared/ folder is beside the project.
EXTERNAL = ROOT.parent / "shared" / "eval" / "external"


def langchain_bm25(paths: Sequence[Path]) -> dict[str, dict[str, float]]:
    from langchain_community.retrievers import BM25Retriever

    from benchmarks.stacks import langchain_splits

    with tempfile.TemporaryDirectory() as tmp:
        evalset = open_eval_set(list(paths), Path(tmp))
        splits = langchain_splits(evalset.corpus_dir or BUNDLED_CORPUS_DIR)
        bm25 = BM25Retriever.from_documents(splits, k=10)

        def retrieve(question: str) -> list[tuple[str, str]]:
            return [
                (Path(d.metadata["source"]).stem, d.page_content) for d in bm25.invoke(question)
            ]

        scores = score_retrieval(evalset.questions, retrieve, k=5)
    return {lang: s.to_json() for lang, s in scores.items()}


def sanad(paths: Sequence[Path]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if k != "SANAD_CORPUS_DIR"}
        env |= {"SANAD_EMBEDDING_MODEL": "none", "SANAD_DATA_DIR": data}
        done = subprocess.run(
            [str(Path(sys.executable).with_name("sanad")), "eval", *map(str, paths), "--answers", "--json"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return dict(json.loads(done.stdout))


def main(argv: Sequence[str] | None = None) -> None:
    paths = [Path(f) for f in (argv if argv is not None else sys.argv[1:])]
    print(json.dumps({"sets": [p.stem for p in paths], "folders": any(p.is_dir() for p in paths),
                      "sanad": sanad(paths), "langchain_bm25": langchain_bm25(paths)}))  # fmt: skip


if __name__ == "__main__":
    main()
