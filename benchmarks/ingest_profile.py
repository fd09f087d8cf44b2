"""Where a keyword-only ingest of a synthetic corpus spends its time.

Builds the synthetic corpus of `search_speed.py` (the bundled corpus's real
sentences in new documents), then reports, without a model:

- the ingest's wall time, how much of it the ingesting process waited for its
  worker processes (the documents being prepared), the garbage collections in it,
  and its steps around the preparing (storing, the keyword index, the sentence
  evidence);
- preparing every document in this one process (what the workers share), and the
  functions that take the most of it (cProfile, cumulative; profiling slows it);
- storing the prepared documents in a new catalogue, alone (three times), and the
  catalogue's size.

    .venv/bin/python benchmarks/ingest_profile.py --chunks 10000
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import pstats
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.search_speed import real_sentences, write_corpus
from retrieval.catalog import Catalog
from retrieval.config import load_settings
from retrieval.corpus import read_corpus
from retrieval.index import SanadIndex
from retrieval.prepare import prepare

#: Functions of the preparing step reported by name (substring of the profile's label).
STEPS = (
    "packed_signals",
    "tokenize_sentences",
    "kept_tokens",
    "split_paragraphs",
    "chunk_with_sentences",
)
#: The ingest's own steps around the preparing: (what it is, function label).
TAIL = (
    ("preparing and storing the documents", "write_documents"),
    ("reading the chunks back", "catalog.py:chunks"),
    ("keyword index", "build_lexical"),
    ("sentence evidence", "build_evidence"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs, work = Path(tmp) / "corpus", Path(tmp) / "data"
        write_corpus(docs, real_sentences(), args.chunks)
        settings = load_settings(data_dir=work, corpus_dir=docs, embedding_model="none")

        profile = cProfile.Profile()
        started = time.perf_counter()
        with _collections_timed() as collections:
            profile.runcall(SanadIndex(settings).ingest)
        wall = time.perf_counter() - started
        stats = pstats.Stats(profile)
        waited = _cumulative(stats, "_wait")  # for a worker's pipe
        print(f"ingest: {wall:.2f} s, of which waiting for the workers {waited:.2f} s")
        print(
            f"  garbage collection: {sum(collections):.2f} s in {len(collections)} "
            f"collections, the longest {max(collections, default=0):.2f} s"
        )
        for label, name in TAIL:
            print(f"  {label}: {_cumulative(stats, name):.2f} s (profiled)")

        sources, _ = read_corpus(docs)
        one = {"min_tokens": settings.chunk_min_tokens, "max_tokens": settings.chunk_max_tokens}
        started = time.perf_counter()
        prepared = [prepare(source, **one) for source in sources]
        print(
            f"preparing {len(sources)} documents in one process: "
            f"{time.perf_counter() - started:.2f} s"
        )
        for attempt in range(3):  # what storing them costs the ingesting process
            path = Path(tmp) / f"catalog-{attempt}.sqlite3"
            catalog = Catalog(path)
            started = time.perf_counter()
            catalog.replace_documents((p.document, p.chunks) for p in prepared)
            stored = time.perf_counter() - started
            catalog.close()
            size = path.stat().st_size / 1e6
            print(f"  storing them in a new catalogue: {stored:.2f} s ({size:.0f} MB)")
        del prepared

        profile = cProfile.Profile()
        for source in sources:
            profile.runcall(prepare, source, **one)
        stats = pstats.Stats(profile)
        total = _cumulative(stats, "prepare.py")
        for step in STEPS:
            print(f"  {step}: {_cumulative(stats, step) / total:.0%} of it (profiled)")


@contextlib.contextmanager
def _collections_timed() -> Iterator[list[float]]:
    """The duration of each garbage collection while in the block (seconds)."""
    took: list[float] = []
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            took.append(time.perf_counter() - started[0])

    gc.callbacks.append(timed)
    try:
        yield took
    finally:
        gc.callbacks.remove(timed)


def _cumulative(stats: pstats.Stats, name: str) -> float:
    """The largest cumulative time of a function whose label contains `name`."""
    rows = stats.stats  # type: ignore[attr-defined]
    return max(
        (ct for (file, _, func), (_, _, _, ct, _) in rows.items() if name in f"{file}:{func}"),
        default=0.0,
    )


if __name__ == "__main__":
    main()
