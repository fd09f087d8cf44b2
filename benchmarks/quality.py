"""Retrieval quality beside speed: Sanad and LangChain's BM25 on the public sets.

`python -m benchmarks.quality FOLDER…` merges the folders' corpora (as `sanad eval`
does) and prints one JSON line: per question language, R@1, R@5 and MRR@10 of
Sanad's keyword search and of LangChain's `BM25Retriever` over
`RecursiveCharacterTextSplitter(1000, 200)` chunks, and Sanad's answer figures
(answered, first quote holds the answer). Keyword-only: both sides, no model.
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

from retrieval.evalset import open_eval_set
from retrieval.evaluate import score_retrieval

ROOT = Path(__file__).resolve().parent.parent
#: The public sets, when the development workspace's shared/ folder is beside the project.
EXTERNAL = ROOT.parent / "shared" / "eval" / "external"


def langchain_bm25(folders: Sequence[Path]) -> dict[str, dict[str, float]]:
    from langchain_community.retrievers import BM25Retriever

    from benchmarks.stacks import langchain_splits

    with tempfile.TemporaryDirectory() as tmp:
        evalset = open_eval_set(list(folders), Path(tmp))
        assert evalset.corpus_dir is not None
        splits = langchain_splits(evalset.corpus_dir)
        bm25 = BM25Retriever.from_documents(splits, k=10)

        def retrieve(question: str) -> list[tuple[str, str]]:
            return [
                (Path(d.metadata["source"]).stem, d.page_content) for d in bm25.invoke(question)
            ]

        scores = score_retrieval(evalset.questions, retrieve, k=5)
    return {lang: s.to_json() for lang, s in scores.items()}


def sanad(folders: Sequence[Path]) -> dict[str, Any]:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sanad")), "eval", *map(str, folders), "--answers", "--json"],
        env={**os.environ, "SANAD_EMBEDDING_MODEL": "none"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def main(argv: Sequence[str] | None = None) -> None:
    folders = [Path(f) for f in (argv if argv is not None else sys.argv[1:])]
    print(json.dumps({"sets": [f.name for f in folders], "sanad": sanad(folders),
                      "langchain_bm25": langchain_bm25(folders)}))  # fmt: skip


if __name__ == "__main__":
    main()
