"""Encoding time by how texts are batched (`SANAD_EMBEDDING_BATCH_SIZE`,
`SANAD_EMBEDDING_BATCH_TOKENS`), through the product's own `Embedder`.

Samples sentences and passages from corpora as ingest cuts them (a keyword-only
index of each, built in a temporary folder), then encodes them as ingest does
(`embed_documents`) under each batching, the batchings taking turns round after
round so that the machine's drift hits them all; reports the median time of each
with min and max, and the largest difference from the first batching's vectors.

    .venv/bin/python benchmarks/batching.py                  # the shipped MiniLM, bundled corpus
    E=../shared/eval/external
    .venv/bin/python benchmarks/batching.py --model "$(../shared/tools/fetch-eval-model)" \\
        --corpus $E/persianqa/corpus $E/arcd/corpus --sentences 100 --passages 10
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.backends import shipped_model
from benchmarks.measure import Figure
from retrieval.config import BUNDLED_CORPUS_DIR, load_settings
from retrieval.embeddings import Embedder, load_embedder
from retrieval.index import SanadIndex

#: Batchings compared by default: (texts at most, padded tokens at most); the first
#: is 8 texts whatever their length, as before the token budget.
BATCHINGS = ("8:1000000", "8:1024", "8:512", "8:2048", "32:1024")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", default=None, help="a model folder (default: MiniLM)")
    parser.add_argument("--corpus", type=Path, nargs="+", default=[BUNDLED_CORPUS_DIR])
    parser.add_argument("--sentences", type=int, default=200, help="sampled from each corpus")
    parser.add_argument("--passages", type=int, default=20, help="sampled from each corpus")
    parser.add_argument("--batchings", nargs="+", default=list(BATCHINGS), help="TEXTS:TOKENS")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sentences, passages = sample_texts(args.corpus, args.sentences, args.passages)
    settings = load_settings(data_dir=Path("unused"), embedding_model=args.model or shipped_model())
    embedder = load_embedder(settings)
    embedder.embed_documents(sentences[:4])  # warm up
    print(f"model: {settings.embedding_model}; {len(sentences)} sentences, "
          f"{len(passages)} passages\n")  # fmt: skip
    print("| texts | padded tokens | sentences | passages | largest vector difference |")
    print("|---|---|---|---|---|")
    times: dict[str, dict[str, list[float]]] = {b: {"s": [], "p": []} for b in args.batchings}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for batching in args.batchings:
            texts, tokens = map(int, batching.split(":"))
            embedder.batch_size, embedder.batch_tokens = texts, tokens
            for kind, group in (("s", sentences), ("p", passages)):
                seconds, made = _timed(embedder, group)
                times[batching][kind].append(seconds)
                vectors.setdefault(f"{batching}{kind}", made)
    first = args.batchings[0]
    for batching in args.batchings:
        texts, tokens = batching.split(":")
        apart = max(
            float(np.abs(vectors[f"{batching}{k}"] - vectors[f"{first}{k}"]).max()) for k in "sp"
        )
        cells = [Figure.of(times[batching][k], "s") for k in "sp"]
        print(f"| {texts} | {tokens} | {cells[0]} | {cells[1]} | {apart:.1e} |")


def sample_texts(corpora: list[Path], sentences: int, passages: int) -> tuple[list[str], list[str]]:
    """Distinct sentences and passages, as an ingest cuts them, sampled from each
    corpus (seeded: the same texts every run)."""
    rng = random.Random(0)
    out_s: list[str] = []
    out_p: list[str] = []
    for corpus in corpora:
        with tempfile.TemporaryDirectory() as data:
            settings = load_settings(data_dir=Path(data), corpus_dir=corpus, embedding_model="none")
            index = SanadIndex(settings)
            index.ensure_ready()
            spans = index.evidence.spans
            found = {c.text[a:b]: None for c in index.chunks for a, b in spans[c.chunk_id]}
            out_s += rng.sample(list(found), min(sentences, len(found)))
            texts = [c.text for c in index.chunks]
            out_p += rng.sample(texts, min(passages, len(texts)))
            index.close()
    return out_s, out_p


def _timed(embedder: Embedder, texts: list[str]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    made = embedder.embed_documents(texts)
    return time.perf_counter() - started, made


if __name__ == "__main__":
    main()
