"""Sanad's dense side against the plain LangChain dense retriever, same model, same data.

The LangChain side is assembled as its documentation does: one Document per file (what `TextLoader`
makes),
`RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`,
`HuggingFaceEmbeddings` (sentence-transformers, with the model's own query and
document prompts) and `langchain_chroma.Chroma`, top 10 by similarity. A passage
answers when it comes from a gold file and holds a gold span (`retrieval.evaluate`).

Needs the benchmark extra (`pip install -e ".[bench]"`) and a model:

    SANAD_EMBEDDING_MODEL="$(../shared/tools/fetch-eval-model)" .venv/bin/python \\
        benchmarks/langchain_dense.py ../shared/eval/external/xquad ../shared/eval/external/arcd

Prints R@1, R@5 and MRR@10 per question language for LangChain's retriever and
for Sanad dense and hybrid over the same merged corpus (index in --index-dir,
default a throwaway directory).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from benchmarks.stacks import hf_embeddings
from retrieval.config import load_settings
from retrieval.evalset import open_eval_set
from retrieval.evaluate import score_retrieval
from retrieval.index import SanadIndex
from retrieval.search import search


def build_langchain(corpus: Path, model: str):
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # TextLoader (langchain_community) reads a file into one Document with its
    # source; the same, without pulling in langchain_community:
    docs = [
        Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
        for p in sorted(corpus.iterdir())
        if p.suffix == ".txt"
    ]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        docs
    )
    embeddings = hf_embeddings(model, [])  # as the speed benchmark's `langchain-hf`
    store = Chroma.from_documents(splits, embeddings, collection_metadata={"hnsw:space": "cosine"})
    mean = sum(len(s.page_content) for s in splits) / len(splits)
    print(f"LangChain: {len(splits)} chunks, {mean:.0f} characters on average", flush=True)

    def retrieve(question: str) -> list[tuple[str, str]]:
        found = store.similarity_search(question, k=10)
        return [(Path(d.metadata["source"]).stem, d.page_content) for d in found]

    return retrieve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--index-dir", type=Path)
    args = parser.parse_args()
    model = os.environ.get("SANAD_EMBEDDING_MODEL", "")
    if not model or model == "none":
        raise SystemExit("set SANAD_EMBEDDING_MODEL to a local model folder")
    with tempfile.TemporaryDirectory() as scratch:
        work = args.index_dir or Path(scratch)
        evalset = open_eval_set(args.folders, work)
        assert evalset.corpus_dir is not None
        index = SanadIndex(load_settings(data_dir=work / "data", corpus_dir=evalset.corpus_dir))
        index.ingest(progress=True)
        mean = sum(len(c.text) for c in index.chunks) / len(index.chunks)
        print(f"Sanad: {len(index.chunks)} chunks, {mean:.0f} characters on average", flush=True)
        systems = {
            "langchain dense": build_langchain(evalset.corpus_dir, model),
            "sanad dense": lambda q: _sanad(index, q, "dense"),
            "sanad hybrid": lambda q: _sanad(index, q, "hybrid"),
        }
        print(f"{'system':<18}{'lang':<6}{'n':>5}{'R@1':>8}{'R@5':>8}{'MRR@10':>9}")
        for name, retrieve in systems.items():
            for lang, s in score_retrieval(evalset.questions, retrieve, k=5).items():
                row = s.to_json()
                print(
                    f"{name:<18}{lang:<6}{row['n']:>5}{row['r@1']:>8.3f}{row['r@k']:>8.3f}"
                    f"{row['mrr@10']:>9.3f}",
                    flush=True,
                )


def _sanad(index: SanadIndex, question: str, mode: str) -> list[tuple[str, str]]:
    response = search(index, question, k=10, mode=mode)  # type: ignore[arg-type]
    return [(r.chunk.doc_id, r.chunk.text) for r in response.results]


if __name__ == "__main__":
    main()
