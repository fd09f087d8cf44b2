"""Vectors kept in step with the catalogue: each chunk's vector in the vector store
(and, for a small corpus, a copy of them all in memory for an exact search), and
each sentence's in the sentence evidence (read from and written to a shared
catalogue when replicas use one, so only what it lacks is embedded)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from retrieval.catalog import Catalog, ChunkRecord, DocumentRecord
from retrieval.embeddings import Embedder
from retrieval.errors import StoreError
from retrieval.passage_vectors import PassageVectors
from retrieval.sentence_vectors import DenseNull, embed_in_blocks
from retrieval.sentences import SentenceEvidence, TokenizedSentences
from retrieval.store import VectorStore

__all__ = [
    "embed_sentences",
    "keep_passage_copy",
    "passage_vectors",
    "sync_chunk_vectors",
]

log = logging.getLogger(__name__)


def embed_sentences(
    chunks: Sequence[ChunkRecord],
    embedder: Embedder,
    *,
    shared: Catalog | None,
    previous: SentenceEvidence | None,
    tokenized: TokenizedSentences | None,
    progress: bool,
    announce: Callable[[], None] | None = None,
) -> SentenceEvidence:
    """The chunks' sentence evidence with `embedder`'s vectors and dense null, reusing
    what `previous` (and a `shared` catalogue) holds; `announce` is called first
    when sentences are to be embedded."""
    stored: dict[str, tuple[str, int, bytes]] = {}
    null: DenseNull | None = None
    if shared is not None:
        # Replicas share one catalogue and no disk: the vectors another process made
        # are read from it, and only what it lacks is embedded here.
        stored = shared.sentence_vectors(embedder.name)
        found = shared.meta(DenseNull.meta_key(embedder.name))
        null = DenseNull.from_json(found) if found else None
        previous = SentenceEvidence.from_stored(chunks, stored, embedder.name, null, previous)
    if announce is not None and (shared is None or len(stored) < len(chunks)):
        announce()
    evidence = SentenceEvidence.build(
        chunks,
        model=embedder.name,
        embed=lambda texts: embed_in_blocks(embedder.embed_documents, texts, progress=progress),
        # A symmetric model's query vectors of sentences are their vectors already.
        embed_queries=None if embedder.symmetric else embedder.embed_queries,
        previous=previous,
        tokenized=tokenized,
    )
    if shared is not None:
        _share(shared, evidence, stored, null)
    return evidence


def _share(
    catalog: Catalog,
    evidence: SentenceEvidence,
    stored: dict[str, tuple[str, int, bytes]],
    stored_null: DenseNull | None,
) -> None:
    """Write what the shared catalogue lacks of `evidence`'s vectors, and its null
    (`stored` and `stored_null`: what the catalogue held when the build began)."""
    rows = evidence.stored_rows(skip={k: v[0] for k, v in stored.items()})
    if rows or set(stored) - set(evidence.spans):
        catalog.put_sentence_vectors(evidence.model, rows, keep=evidence.spans)
    if evidence.null is not None and evidence.null != stored_null:
        catalog.set_meta(DenseNull.meta_key(evidence.model), evidence.null.to_json())


def sync_chunk_vectors(
    store: VectorStore,
    chunks: Sequence[ChunkRecord],
    docs: dict[str, DocumentRecord],
    embedder: Embedder,
    evidence: SentenceEvidence | None,
    *,
    progress: bool,
) -> dict[str, np.ndarray]:
    """Make `store` hold exactly `chunks`' vectors: delete the stale ones, work out and
    add the missing ones (`passage_vectors`); returns the vectors added, by chunk id."""
    store.open(embedder.name, embedder.dim)
    wanted = {c.chunk_id: c for c in chunks}
    have = store.ids()
    stale = sorted(have - set(wanted))
    if stale:
        store.delete(stale)
    missing = [c for cid, c in wanted.items() if cid not in have]
    if not missing:
        return {}
    vectors = passage_vectors(missing, docs, embedder, evidence, progress=progress)
    metas = [
        {
            "doc_id": c.doc_id,
            "ordinal": c.ordinal,
            "start": c.start,
            "end": c.end,
            "lang": c.lang,
            "title": docs[c.doc_id].title if c.doc_id in docs else "",
            "url": docs[c.doc_id].url if c.doc_id in docs else "",
        }
        for c in missing
    ]
    store.upsert([c.chunk_id for c in missing], vectors, [c.text for c in missing], metas)
    return dict(zip([c.chunk_id for c in missing], vectors, strict=True))


def passage_vectors(
    chunks: Sequence[ChunkRecord],
    docs: Mapping[str, DocumentRecord],
    embedder: Embedder,
    evidence: SentenceEvidence | None,
    *,
    progress: bool,
) -> np.ndarray:
    """One unit vector per chunk. Given `evidence` (`SANAD_PASSAGE_VECTORS=sentence-mean`),
    the mean of its sentences' vectors, which the evidence holds already, rather than
    the model reading the passage again; without it, the passage embedded whole.

    Encoding a passage of 250–500 tokens costs the model more than all its sentences
    (attention grows with the square of the length): with EmbeddingGemma the bundled
    corpus's passages took 53 s and its sentences 19 s. On the public sets the mean
    costs a little quality, so it is not the default (README "Speed").

    A title the manifest gives is the context a passage's document implies ("the
    war" of which article?): it counts as one more sentence. A title taken from the
    text's own first line adds nothing but noise (the same opening words on every
    passage), so it is left out. A chunk without sentence vectors (none long enough
    to score, or `evidence` made without this model) is embedded whole, its given
    title before its text.
    """
    ids = [c.chunk_id for c in chunks]
    if evidence is not None and evidence.has_vectors(embedder.name) and len(evidence):
        sums, counts = evidence.sentence_sums(ids)
    else:
        sums, counts = np.zeros((len(ids), embedder.dim), dtype=np.float32), np.zeros(len(ids))
    titles = [
        docs[c.doc_id].title if c.doc_id in docs and docs[c.doc_id].title_given else ""
        for c in chunks
    ]
    distinct = sorted({t for t, n in zip(titles, counts, strict=True) if t and n})
    if distinct:
        title_vectors = dict(zip(distinct, embedder.embed_documents(distinct), strict=True))
        for i, title in enumerate(titles):
            if title and counts[i]:
                sums[i] += title_vectors[title]
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    vectors = sums / np.where(norms > 0, norms, 1.0)
    whole = np.flatnonzero(counts == 0).tolist()
    if whole:  # as the model gives them
        texts = [f"{titles[i]}\n\n{chunks[i].text}" if titles[i] else chunks[i].text for i in whole]
        vectors[whole] = embedder.embed_documents(texts, progress=progress and len(whole) > 64)
    return vectors


def keep_passage_copy(
    store: VectorStore,
    chunks: Sequence[ChunkRecord],
    model: str,
    folder: Path,
    *,
    exact: bool,
    fresh: Mapping[str, np.ndarray],
    previous: PassageVectors | None,
) -> PassageVectors | None:
    """The in-memory copy of the store's vectors of `chunks` (see `PassageVectors`),
    saved in `folder`: `previous` as it is if it still holds them all, else rebuilt
    from it, from the vectors just embedded (`fresh`) and, for the rest, from the
    store. None, and no folder, where search goes through Chroma (not `exact`)."""
    ids = [c.chunk_id for c in chunks]
    if not exact:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    if previous is not None and not fresh and previous.covers(ids, model):
        return previous
    try:
        copy = PassageVectors.build(ids, model, fetch=store.vectors, fresh=fresh, previous=previous)
    except StoreError as e:
        log.warning("dense search goes through Chroma: %s", e)
        return None
    copy.save(folder)
    return copy
