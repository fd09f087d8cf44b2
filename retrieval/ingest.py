"""The steps of one ingest, below `SanadIndex.ingest`: read the sources, prepare and
store the changed documents, build the keyword index and the sentence evidence.

Each step takes what it works on and returns what it built; `SanadIndex` holds the
lock, decides what changed and swaps the new view in.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.catalog import Catalog, ChunkRecord, DocumentRecord
from retrieval.chunking import Chunk
from retrieval.config import Settings
from retrieval.corpus import Document, Source, read_corpus
from retrieval.embeddings import Embedder
from retrieval.errors import CorpusError
from retrieval.lexical import LexicalIndex
from retrieval.prepare import ChunkTokens, Numbering, numbering
from retrieval.sentences import SentenceEvidence, TokenizedSentences
from retrieval.vector_sync import embed_sentences
from retrieval.workers import prepare_documents, worker_count

__all__ = [
    "IngestReport",
    "Written",
    "build_evidence",
    "build_lexical",
    "changed_sources",
    "collections_paused",
    "corpus_to_follow",
    "read_sources",
    "write_documents",
]


@dataclass
class IngestReport:
    """What one ingest changed, per document id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    mode: str = "lexical"

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged; {self.chunks} chunks, {self.embedded} embedded "
            f"({self.mode})"
        )


@contextlib.contextmanager
def collections_paused() -> Iterator[None]:
    """No cyclic garbage collection while the keyword index and the sentence evidence
    are built: they make millions of small objects (token lists and sets) that live
    on, and each full collection would walk all of them again for nothing (about a
    tenth of a keyword-only ingest at 10k chunks). Reference counting still frees
    what dies; collection resumes after, if it was on. Process-wide: in the bot, other
    threads' cycles wait too, for the ingest's seconds.

    What was made meanwhile then goes to the oldest generation at once (frozen and
    thawed: two list splices), as if it had lived through the younger collections;
    otherwise the first young collection after would walk all of it, on whichever
    thread allocates next (0.4 s after a keyword-only ingest of ~100k chunks). A
    cycle among it is still freed by the next full collection. Not where something
    else keeps objects frozen (the serving bot, `bot.heap`): thawing would undo it."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def changed_sources(
    sources: list[Source], known: dict[str, DocumentRecord], report: IngestReport
) -> list[Source]:
    """The sources that are new or changed since the catalogue (`known`) took them in;
    each source is recorded in `report` as added, updated or unchanged."""
    changed = []
    for src in sources:
        before = known.get(src.doc_id)
        if before is not None and before.sha256 == src.sha256:
            report.unchanged.append(src.doc_id)
            continue
        changed.append(src)
        (report.updated if before else report.added).append(src.doc_id)
    return changed


def corpus_to_follow(settings: Settings, built_from: str | None) -> Path | None:
    """The folder SANAD_CORPUS_DIR names, if the index must be rebuilt from it: it names
    another folder than the one the index was built from (`built_from`). A shared
    catalogue holds what `sanad ingest` last wrote; replicas (which may have no corpus
    folder at all) never re-index it on their own."""
    wanted = settings.corpus_dir.expanduser().resolve()
    if settings.database_url is not None or built_from == str(wanted):
        return None
    if not wanted.is_dir():
        raise CorpusError(
            f"SANAD_CORPUS_DIR is {settings.corpus_dir}, which is not a folder "
            f"(the index was built from {built_from or 'another folder'}): "
            "fix the setting, or unset it for the bundled corpus."
        )
    return wanted


def read_sources(source: Path, uploads: Path | None) -> tuple[list[Source], list[str]]:
    """The documents of `source`, with those admins uploaded through the bot
    (`uploads`, when `source` is the corpus folder and uploads exist), and warnings."""
    sources, warnings = read_corpus(source)
    if uploads is not None:
        uploaded, more = read_corpus(uploads)
        taken = {s.doc_id for s in sources}
        sources += [s for s in uploaded if s.doc_id not in taken]
        warnings += more
    return sources, warnings


@dataclass
class Written:
    """What `write_documents` stored, by chunk id: the chunks, and their tokens as the
    index keeps them, numbered in `numbers`."""

    chunks: dict[str, ChunkRecord]
    tokens: dict[str, ChunkTokens]
    numbers: Numbering


def write_documents(catalog: Catalog, changed: list[Source], settings: Settings) -> Written:
    """Prepare the changed sources (in worker processes when there is much to do)
    and store them with their chunks, as they come: one document's chunks per
    worker in memory at a time."""
    numbers = numbering()
    tokens: dict[str, ChunkTokens] = {}
    texts: dict[str, str] = {}  # each document's text (its source's, mostly: no copy)
    places: list[tuple[str, str, int, int, int, str]] = []  # each chunk but its text

    def prepared() -> Iterator[tuple[Document, list[Chunk]]]:
        for p in prepare_documents(
            changed,
            min_tokens=settings.chunk_min_tokens,
            max_tokens=settings.chunk_max_tokens,
            workers=worker_count(settings.ingest_workers),
            numbers=numbers,
        ):
            tokens.update(p.tokens)
            texts[p.document.doc_id] = p.document.text
            places.extend(
                (c.chunk_id, c.doc_id, c.ordinal, c.start, c.end, c.lang) for c in p.chunks
            )
            yield p.document, p.chunks

    catalog.replace_documents(prepared())
    # The chunks' texts made again only now: kept from the start, they would all be
    # held beside everything the ingest holds while it prepares.
    chunks = {
        place[0]: ChunkRecord(*place, texts[place[1]][place[3] : place[4]]) for place in places
    }
    return Written(chunks, tokens, numbers)


def build_lexical(
    chunks: list[ChunkRecord], tokenized: TokenizedSentences, folder: Path
) -> LexicalIndex:
    """The keyword index of `chunks`, from their tokens' numbers, saved in `folder`."""
    lexical = LexicalIndex.from_numbered([c.chunk_id for c in chunks], tokenized.numbered)
    lexical.save(folder)
    return lexical


def build_evidence(
    chunks: list[ChunkRecord],
    embedder: Embedder | None,
    folder: Path,
    *,
    progress: bool,
    shared: Catalog | None = None,
    previous: SentenceEvidence | None = None,
    announce: Callable[[], None] | None = None,
    tokenized: TokenizedSentences | None = None,
) -> SentenceEvidence:
    """Sentences, tokens and (with a model) vectors and the dense null, saved in `folder`.

    `shared`: a catalogue other replicas read, where vectors are shared;
    `previous`: the evidence whose vectors are reused (read from `folder` if not given);
    `announce`: called when sentences are to be embedded (on a question's path);
    `tokenized`: the chunks' sentences, already tokenized for the keyword index."""
    if embedder is None:
        with collections_paused():
            evidence = SentenceEvidence.build(chunks, tokenized=tokenized)
    else:
        if previous is None:  # its vectors are reused: read only when embedding
            previous = SentenceEvidence.load(folder)
        evidence = embed_sentences(
            chunks,
            embedder,
            shared=shared,
            previous=previous,
            tokenized=tokenized,
            progress=progress,
            announce=announce,
        )
    with collections_paused():  # the save makes as many small objects again
        evidence.save(folder)
    return evidence
