"""Sentence vectors pooled from their passage (late chunking), measured by `sanad eval`.

With a model, Sanad's ingest encodes every sentence alone (what quotes, declines and
citation checks stand on) and then every passage: about twice the tokens of a stack
that encodes each chunk once (README "Speed"). One pass per passage could give both:
the passage's vector as always, and each sentence's vector as the mean of its own
tokens' embeddings as the model read them within the passage, then the model's
layers after pooling (EmbeddingGemma's dense layers; normalization). This runs
`sanad eval` with the sentence vectors made that way and everything else as the
product makes it. A sentence that the passage's window cut off is encoded alone.

Give it a fresh `--index-dir`, since an index already built keeps its vectors:

    E=../shared/eval/external; export SANAD_EMBEDDING_MODEL="$(../shared/tools/fetch-eval-model)"
    .venv/bin/python -m benchmarks.late_chunking eval $E/persianqa eval/unanswerable/public-fa.jsonl \\
        --answers --json --index-dir /tmp/ev/fa-late
"""

from __future__ import annotations

import contextlib
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import retrieval.sentences as sentences
from bot.cli import main as sanad
from retrieval.config import load_settings
from retrieval.embeddings import Embedder, load_embedder

#: A sentence's place, as the evidence keys it: (chunk id, start, end) in the chunk.
Key = tuple[str, int, int]


def late_vectors(
    embedder: Embedder, chunks: Mapping[str, str], keys: Sequence[Key], texts: Sequence[str]
) -> dict[str, np.ndarray]:
    """Each distinct sentence text's vector, pooled from the first passage (of
    `chunks`, by id) that holds it, or encoded alone where the passage's window
    cut it off."""
    model = embedder.model
    if type(model[1]).__name__ != "Pooling":
        raise SystemExit(f"{type(model[1]).__name__} after the transformer: not a pooling model")
    prompt = embedder.document_prompt
    by_chunk: defaultdict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for (chunk_id, start, end), text in zip(keys, texts, strict=True):
        by_chunk[chunk_id].append((start, end, text))
    out: dict[str, np.ndarray] = {}
    alone: dict[str, None] = {}  # past the window: encoded alone, in order
    for chunk_id, spans in by_chunk.items():
        read = model.tokenizer(
            prompt + chunks[chunk_id],
            return_offsets_mapping=True,
            truncation=True,
            max_length=model.max_seq_length,
            return_tensors="pt",
        )
        offsets = read.pop("offset_mapping")[0]
        with torch.no_grad():
            tokens = model[0](dict(read))["token_embeddings"][0]
        first, last = offsets[:, 0], offsets[:, 1]
        for start, end, text in spans:
            if text in out or text in alone:
                continue
            mine = (last > first) & (first >= len(prompt) + start) & (last <= len(prompt) + end)
            if not bool(mine.any()):  # past the window
                alone[text] = None
                continue
            out[text] = _after_pooling(model, tokens[mine].mean(0, keepdim=True))
    if alone:
        out.update(zip(alone, embedder.embed_documents(list(alone)), strict=True))
    return out


def _after_pooling(model: Any, pooled: torch.Tensor) -> np.ndarray:
    """The model's modules after its pooling (dense layers, normalization; `late_vectors`
    checked the layout) on one pooled vector; unit length whatever they are."""
    features = {"sentence_embedding": pooled}
    with torch.no_grad():
        for module in list(model)[2:]:
            features = module(features)
    vector = features["sentence_embedding"][0].float().numpy()
    return np.asarray(vector / (np.linalg.norm(vector) or 1.0), dtype=np.float32)


@contextlib.contextmanager
def late_sentence_vectors(embedder: Embedder) -> Iterator[None]:
    """While inside, every ingest's sentence vectors are `late_vectors` of
    `embedder`'s model."""
    seen: dict[str, str] = {}  # chunk id → its text, as the evidence is built
    build = sentences.SentenceEvidence.__dict__["build"]
    rows = sentences.embed_sentence_rows

    def build_seeing(cls: type, chunks: Sequence[Any], **kwargs: Any) -> Any:
        seen.update((c.chunk_id, c.text) for c in chunks)
        return build.__func__(cls, chunks, **kwargs)

    def late_rows(
        keys: Sequence[Key], texts: Sequence[str], docs: Sequence[str], **kwargs: Any
    ) -> Any:
        vectors = late_vectors(embedder, seen, keys, texts)

        def blocks(distinct: list[str]) -> Iterator[np.ndarray]:
            yield np.stack([vectors[t] for t in distinct])

        # Nothing reused: every vector is the late one.
        return rows(keys, texts, docs, **{**kwargs, "old": {}, "reused": None, "embed": blocks})

    sentences.SentenceEvidence.build = classmethod(build_seeing)  # type: ignore[assignment,method-assign]
    sentences.embed_sentence_rows = late_rows  # type: ignore[assignment]
    try:
        yield
    finally:
        sentences.SentenceEvidence.build = build  # type: ignore[method-assign]
        sentences.embed_sentence_rows = rows


def main(argv: Sequence[str] | None = None) -> Any:
    with late_sentence_vectors(load_embedder(load_settings(data_dir=Path("unused")))):
        return sanad(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
