"""OpenVINO against ONNX Runtime on the same exported transformer, one thread each.

The issue asks for OpenVINO as a backend. sentence-transformers reaches it only
through `optimum-intel`, which cannot be installed beside this stack (README
"Speed"), but the OpenVINO runtime reads the ONNX file Sanad exports for its
`onnx` backend. This measures whether it would be worth a backend: the same
inputs (questions one at a time, passages in batches of `SANAD_EMBEDDING_BATCH_SIZE`)
through both runtimes, interleaved round by round, and how far their outputs are
apart. OpenVINO is not a dependency of Sanad, only of the `[bench]` extra, which
`scripts/setup` installs:

    .venv/bin/python benchmarks/openvino_runtime.py                  # the shipped MiniLM
    SANAD_EMBEDDING_MODEL="$(../shared/tools/fetch-eval-model)" \\
        .venv/bin/python benchmarks/openvino_runtime.py --questions ../shared/eval/external/persianqa/questions.jsonl
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.backends import (
    encoding_arguments,
    min_cosine,
    passage_texts,
    question_texts,
    shipped_model,
)
from retrieval.config import load_settings
from retrieval.onnx_backend import exported_transformer

Run = Callable[[dict[str, np.ndarray]], np.ndarray]


def main() -> None:
    parser = encoding_arguments(__doc__, queries=50, passages=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    try:
        import openvino
    except ImportError:
        sys.exit("This benchmark needs OpenVINO, in the bench extra: pip install -e '.[bench]'")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    name = args.model if args.model and args.model != "none" else shipped_model()
    settings = load_settings(data_dir=Path("unused"), embedding_model=name)
    model = SentenceTransformer(name, device="cpu")
    path = exported_transformer(model, name, "onnx", settings.onnx_cache.expanduser())
    runtimes = {
        "onnxruntime": _onnxruntime(path, args.threads),
        "openvino": _openvino(path, args.threads, openvino),
    }

    batch = settings.embedding_batch_size
    queries = [_inputs(model, [q]) for q in question_texts(args.questions)[: args.queries]]
    texts = passage_texts(args.corpus)[: args.passages]
    batches = [_inputs(model, texts[i : i + batch]) for i in range(0, len(texts), batch)]

    query_ms: dict[str, list[float]] = {r: [] for r in runtimes}
    per_second: dict[str, list[float]] = {r: [] for r in runtimes}
    for run in runtimes.values():
        run(queries[0])  # warm up
    for _ in range(args.rounds):  # A B A B: machine noise hits both
        for runtime, run in runtimes.items():
            for inputs in queries:
                started = time.perf_counter()
                run(inputs)
                query_ms[runtime].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            for inputs in batches:
                run(inputs)
            per_second[runtime].append(len(texts) / (time.perf_counter() - started))

    print(
        f"model: {name}; {len(queries)} questions, {len(texts)} passages "
        f"({batch} a batch), {args.threads} thread(s), {args.rounds} rounds; "
        f"OpenVINO {openvino.__version__}\n"
    )
    print(
        "| runtime | query p50 | query p95 | passages/s (min–max) | smallest cosine to ONNX Runtime's |"
    )
    print("|---|---|---|---|---|")
    reference = runtimes["onnxruntime"]
    for runtime, run in runtimes.items():
        cosine = min(_pooled_cosine(run(q), reference(q), q) for q in queries)
        rates = per_second[runtime]
        print(
            f"| {runtime} | {statistics.median(query_ms[runtime]):.1f} ms | "
            f"{float(np.percentile(query_ms[runtime], 95)):.1f} ms | "
            f"{statistics.median(rates):.1f} ({min(rates):.1f}–{max(rates):.1f}) | {cosine:.5f} |"
        )


def _inputs(model: Any, texts: list[str]) -> dict[str, np.ndarray]:
    features = model.preprocess(texts)
    names = ("input_ids", "attention_mask", "token_type_ids")
    return {k: features[k].numpy() for k in names if k in features}


def _onnxruntime(path: Path, threads: int) -> Run:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wanted = [i.name for i in session.get_inputs()]

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        out: np.ndarray = session.run(None, {k: inputs[k] for k in wanted})[0]
        return out

    return run


def _openvino(path: Path, threads: int, openvino: Any) -> Run:
    compiled = openvino.Core().compile_model(
        str(path), "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    )
    wanted = [port.get_any_name() for port in compiled.inputs]

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        out: np.ndarray = compiled({k: inputs[k] for k in wanted})[0]
        return out

    return run


def _pooled_cosine(a: np.ndarray, b: np.ndarray, inputs: dict[str, np.ndarray]) -> float:
    """The smallest cosine of the two outputs' sums over the real tokens (how a model
    pools them)."""
    mask = inputs["attention_mask"][..., None]
    return min_cosine((a * mask).sum(1), (b * mask).sum(1))


if __name__ == "__main__":
    main()
