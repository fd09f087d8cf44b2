"""Ingest: corpus → prepare (clean, chunk) → catalogue → BM25 + vectors, incrementally.

Chunk ids derive from content, so re-ingesting an unchanged corpus changes
nothing; a changed file replaces its chunks and a deleted file's chunks go. The
vector store is synced to the catalogue by id, so vectors missing for any reason
(a model that was offline at the last ingest, say) are filled in next time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from retrieval.allocator import release_freed_memory
from retrieval.catalog import CATALOG_FILE, Catalog, ChunkRecord, DocumentRecord
from retrieval.config import Settings
from retrieval.database import open_database
from retrieval.embeddings import Embedder, load_embedder
from retrieval.errors import ModelUnavailable, StoreUnavailable
from retrieval.ingest import (
    IngestReport,
    build_evidence,
    build_lexical,
    changed_sources,
    collections_paused,
    corpus_to_follow,
    read_sources,
    write_documents,
)
from retrieval.lexical import LexicalIndex
from retrieval.notices import Notify, notice
from retrieval.passage_vectors import PASSAGES_DIR, PassageVectors
from retrieval.sentences import SENTENCES_DIR, SentenceEvidence, TokenizedSentences
from retrieval.store import VectorStore
from retrieval.vector_sync import keep_passage_copy, sync_chunk_vectors
from retrieval.view import IndexView

__all__ = ["SanadIndex"]  # IngestReport: retrieval.ingest

log = logging.getLogger(__name__)


#: The catalogue's record of the corpus setting the index was built under.
_CORPUS_KEY = "corpus_setting"


class SanadIndex:
    """The searchable index of one corpus: catalogue, BM25 and (when possible) vectors.

    The embedding model and the vector store are opened lazily, once. If the
    model cannot be loaded, the index runs lexical-only and says why in
    `dense_note`.
    """

    def __init__(
        self, settings: Settings, *, embedder: Embedder | None = None, notify: Notify | None = None
    ) -> None:
        self.settings = settings
        self.notify: Notify = notify or (lambda message: log.warning("%s", message.render("en")))
        self.catalog = Catalog(open_database(settings, CATALOG_FILE))
        self._embedder = embedder
        self._embedder_tried = embedder is not None or not settings.dense_enabled
        self.dense_note = "" if settings.dense_enabled else "SANAD_EMBEDDING_MODEL is none"
        self._store: VectorStore | None = None
        self._view: IndexView | None = None
        self._lock = threading.RLock()
        # Settings are fixed for the life of this object: the corpus setting is checked
        # against the catalogue once, not on every question.
        self._corpus_followed = False
        self._vectors_in_step = False  # the store holds a vector for every chunk
        self.loaded_version = -1  # the catalogue version the current view was read at

    # -- parts, opened on first use ---------------------------------------------------

    @property
    def embedder(self) -> Embedder | None:
        if self._embedder_tried:  # settled: no need to wait for an ingest's lock
            return self._embedder
        with self._lock:
            if not self._embedder_tried:
                self._embedder_tried = True
                try:
                    self._embedder = load_embedder(self.settings, status=self.notify)
                except ModelUnavailable as e:
                    self.dense_note = str(e)
                    self.notify(notice("model_fallback", reason=e))
            return self._embedder

    @property
    def mode(self) -> str:
        return "hybrid" if self.embedder is not None else "lexical"

    @property
    def store(self) -> VectorStore:
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                self._store = VectorStore(self.settings)
            return self._store

    def view(self) -> IndexView:
        """The current state of the index, loaded on first use (see `IndexView`)."""
        view = self._view
        if view is not None:
            return view
        with self._lock:
            if self._view is None:
                self._view = self._load_view()
            return self._view

    def _load_view(self) -> IndexView:
        """The catalogue as it is now, with the keyword index and sentence evidence on
        disk, or rebuilt from the catalogue where they are missing or behind. Read
        without cyclic collection, as an ingest builds them: at 10k chunks, collections
        walking the million token strings as they were read tripled the load."""
        with collections_paused():
            return self._read_view()

    def _read_view(self) -> IndexView:
        self.loaded_version = self.catalog.version()
        chunks = self.catalog.chunks()
        ids = [c.chunk_id for c in chunks]
        lexical = LexicalIndex.load(self._lexical_dir)
        evidence = SentenceEvidence.load(self._sentences_dir)
        tokenized = None  # split and tokenized once, for either
        if lexical is None or lexical.ids != ids:
            tokenized = TokenizedSentences(chunks)
            lexical = build_lexical(chunks, tokenized, self._lexical_dir)
        if evidence is None or set(evidence.spans) != set(ids):
            tokenized = tokenized or TokenizedSentences(chunks)
            evidence = self._build_evidence(chunks, None, progress=False, tokenized=tokenized)
        # A copy behind the catalogue is not loaded: rebuilt once the model is.
        exact = self.settings.dense_enabled and self._exact(len(ids))
        passages = (
            PassageVectors.load(self.settings.data_dir / PASSAGES_DIR, ids) if exact else None
        )
        return IndexView(chunks, self.catalog.documents(), lexical, evidence, passages)

    def refresh(self) -> bool:
        """Reload the view if another process's ingest changed the catalogue since it was
        read (replicas sharing one PostgreSQL catalogue); True if it was swapped. Searches
        keep reading the old view until the new one is whole."""
        if self._view is None or self.catalog.version() == self.loaded_version:
            return False
        with self._lock:
            if self.catalog.version() == self.loaded_version:
                return False
            view = self._load_view()
            embedder = self._embedder  # the model, if this process has loaded it already
            self._view = view if embedder is None else self._with_vectors(view, embedder)
            self._vectors_in_step = False  # the next question checks the store again
            return True

    @property
    def loaded(self) -> bool:
        """Whether the index is in memory (searches do not wait for loading)."""
        return self._view is not None

    @property
    def lexical(self) -> LexicalIndex:
        return self.view().lexical

    @property
    def chunks(self) -> list[ChunkRecord]:
        """All chunks, in the lexical index's order."""
        return self.view().chunks

    @property
    def position(self) -> dict[str, int]:
        """Chunk id → position in `chunks`."""
        return self.view().position

    @property
    def catalog_documents(self) -> dict[str, DocumentRecord]:
        return self.view().documents

    @property
    def evidence(self) -> SentenceEvidence:
        return self.view().evidence

    @property
    def uploads_dir(self) -> Path:
        """Where documents added through the bot are kept (part of the corpus)."""
        return self.settings.data_dir / "uploads"

    def is_upload(self, document: DocumentRecord) -> bool:
        """Whether `document` was added through the bot: from this data dir's uploads or,
        with a shared catalogue, any replica's (their files are on their own disks)."""
        folder = Path(document.path).parent
        if self._shared:
            return folder.name == self.uploads_dir.name
        return folder.resolve() == self.uploads_dir.resolve()

    def _has_uploads(self, source: Path) -> bool:
        uploads = self.uploads_dir
        if not uploads.is_dir() or uploads.resolve() == source.resolve():
            return False
        return any(p.is_file() and not p.name.startswith(".") for p in uploads.iterdir())

    @property
    def _lexical_dir(self) -> Path:
        return self.settings.data_dir / "lexical"

    def _exact(self, passages: int) -> bool:
        """Does dense search score every passage in memory (`PassageVectors`)?"""
        s = self.settings
        return not s.server_mode and not self._shared and passages <= s.exact_search_max_passages

    @property
    def _sentences_dir(self) -> Path:
        return self.settings.data_dir / SENTENCES_DIR

    def close(self) -> None:
        """Release the vector store's and the catalogue's connections."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
            self.catalog.close()

    # -- building ---------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self.chunks

    def ensure_ready(self) -> None:
        """Build the index on first use, and fill in vectors the store lacks.

        While another thread holds the index (an ingest), a search does not wait:
        it reads the view in place until the ingest swaps in the new one.
        """
        free = self._lock.acquire(blocking=self._view is None)
        if not free:
            return
        try:
            self._prepare()
        finally:
            self._lock.release()

    def _prepare(self) -> None:
        if self.is_empty():
            self.notify(notice("index_building", folder=self.settings.corpus_dir))
            self.ingest()
            return
        self._follow_corpus_setting()
        embedder = self.embedder
        if embedder is None:
            return
        try:
            # Checked until it holds once (then ingests keep it so): not a store request
            # on every question, which a hung Chroma server would make a timeout each.
            if not self._vectors_in_step:
                # Refuses another model's vectors before any sentence is embedded.
                self.store.open(embedder.name, embedder.dim)
        except StoreUnavailable as e:
            # Search falls back to keywords; the vectors are synced once it is back.
            self.notify(notice("store_unavailable", reason=e))
            self._embed_sentences(embedder)
            return
        # Sentence vectors first: a passage's vector may be their mean (sentence-mean).
        self._embed_sentences(embedder)
        try:
            if not self._vectors_in_step:
                if self.store.count() != len(self.chunks):
                    self.notify(notice("vectors_syncing"))
                    self._sync_vectors(embedder, progress=False)
                else:
                    self._copy_passages(embedder, {})
                self._vectors_in_step = True
        except StoreUnavailable as e:
            self.notify(notice("store_unavailable", reason=e))

    def _embed_sentences(self, embedder: Embedder) -> None:
        """Give the view's sentence evidence `embedder`'s vectors, if it lacks them."""
        view = self.view()
        if not view.evidence.has_vectors(embedder.name):
            self._view = self._with_vectors(view, embedder, announce=True)

    def _with_vectors(
        self, view: IndexView, embedder: Embedder, *, announce: bool = False
    ) -> IndexView:
        """`view` with its sentence evidence carrying `embedder`'s vectors."""
        evidence = self._build_evidence(
            view.chunks, embedder, progress=False, previous=view.evidence, announce=announce
        )
        return replace(view, evidence=evidence)

    def _build_evidence(
        self,
        chunks: list[ChunkRecord],
        embedder: Embedder | None,
        *,
        progress: bool,
        previous: SentenceEvidence | None = None,
        announce: bool = False,
        tokenized: TokenizedSentences | None = None,
    ) -> SentenceEvidence:
        """`build_evidence` for this index: its folder, its shared catalogue, its notices."""
        name = embedder.name if embedder is not None else ""
        return build_evidence(
            chunks,
            embedder,
            self._sentences_dir,
            progress=progress,
            shared=self.catalog if self._shared else None,
            previous=previous,
            announce=(lambda: self.notify(notice("sentences_embedding", model=name)))
            if announce
            else None,
            tokenized=tokenized,
        )

    @property
    def corpus_setting(self) -> Path:
        """SANAD_CORPUS_DIR, resolved: the folder the index should hold."""
        return self.settings.corpus_dir.expanduser().resolve()

    @property
    def built_from(self) -> str | None:
        """The corpus setting the index was last built under (None: not recorded yet)."""
        return self.catalog.meta(_CORPUS_KEY)

    def _follow_corpus_setting(self) -> None:
        """Re-index when SANAD_CORPUS_DIR names another folder than the index was built from."""
        if self._corpus_followed:
            return
        built_from = self.built_from
        wanted = corpus_to_follow(self.settings, built_from)
        if wanted is None:
            self._corpus_followed = True
            return
        if built_from is not None:
            self.notify(notice("corpus_changed", was=built_from, now=wanted))
        self.ingest()

    def ingest(
        self, path: Path | None = None, *, rebuild: bool = False, progress: bool = False
    ) -> IngestReport:
        """Bring the index in line with `path` (default: the configured corpus).

        A folder is the whole corpus: files gone from it are removed from the
        index. A single file is added or updated on its own. What the ingest freed
        (its texts, the model's batches, an index it replaced) then goes back to the
        system, not kept by the allocator for the rest of the process's life.
        """
        try:
            return self._ingest(path, rebuild=rebuild, progress=progress)
        finally:
            release_freed_memory()

    def _ingest(self, path: Path | None, *, rebuild: bool, progress: bool) -> IngestReport:
        source = path or self.settings.corpus_dir
        # One ingest at a time per catalogue, across processes and replicas: a second
        # waits, then finds the first one's work done.
        with self._lock, self.catalog.db.exclusive("ingest"), contextlib.ExitStack() as paused:
            uploads = self.uploads_dir if source.is_dir() and self._has_uploads(source) else None
            sources, warnings = read_sources(source, uploads)
            report = IngestReport(warnings=warnings)
            embedder = self.embedder
            if embedder is None:  # nothing but what is built here: no collection at all
                paused.enter_context(collections_paused())
            self._vectors_in_step = False  # until the vectors are synced below
            if rebuild:
                self.catalog.clear()
                if embedder is not None or self.settings.server_mode:
                    self.store.drop()
            if embedder is not None:
                self.store.open(embedder.name, embedder.dim)  # refuses another model's vectors
            known = self.catalog.documents()
            changed = changed_sources(sources, known, report)
            with collections_paused():
                written = write_documents(self.catalog, changed, self.settings)
            if source.is_dir():
                gone = set(known) - {s.doc_id for s in sources}
                # Uploads through another replica live on its disk, not in this folder.
                report.removed = sorted(d for d in gone if not self.is_upload(known[d]))
                self.catalog.remove_documents(report.removed)
            del sources, changed  # their texts are in the catalogue now
            # The setting in effect, not `source`: `sanad ingest FOLDER` is a choice the
            # next question must keep; only a changed setting asks for re-indexing.
            self.catalog.set_meta(_CORPUS_KEY, str(self.corpus_setting))
            self._corpus_followed = True
            with collections_paused():
                chunks = self.catalog.chunks(known=written.chunks)
                tokenized = TokenizedSentences(chunks, written.tokens, written.numbers)
                lexical = build_lexical(chunks, tokenized, self._lexical_dir)
                del written
            report.chunks = len(chunks)
            previous = self._view
            evidence = self._build_evidence(
                chunks,
                embedder,
                progress=progress,
                previous=previous.evidence if previous else None,
                tokenized=tokenized,
            )
            del tokenized
            # The passage vectors' copy is brought in step with the store below.
            passages = previous.passages if previous else None
            self._view = IndexView(chunks, self.catalog.documents(), lexical, evidence, passages)
            if embedder is not None:
                report.embedded = self._sync_vectors(embedder, progress=progress)
                self._vectors_in_step = True
            if rebuild or report.added or report.updated or report.removed:
                self.loaded_version = self.catalog.bump_version()  # replicas reload
            else:
                self.loaded_version = self.catalog.version()
            report.mode = self.mode
            return report

    @property
    def _shared(self) -> bool:
        """The catalogue is a database other processes (replicas) read too."""
        return self.settings.database_url is not None

    def _sync_vectors(self, embedder: Embedder, *, progress: bool) -> int:
        view = self.view()
        fresh = sync_chunk_vectors(
            self.store,
            view.chunks,
            self.catalog.documents(),
            embedder,
            view.evidence if self.settings.passage_vectors == "sentence-mean" else None,
            progress=progress,
        )
        self._copy_passages(embedder, fresh)
        return len(fresh)

    def _copy_passages(self, embedder: Embedder, fresh: dict[str, np.ndarray]) -> None:
        """Keep the view's in-memory copy of the passage vectors in step with the store."""
        view = self.view()
        copy = keep_passage_copy(
            self.store,
            view.chunks,
            embedder.name,
            self.settings.data_dir / PASSAGES_DIR,
            exact=self._exact(len(view.chunks)),
            fresh=fresh,
            previous=view.passages,
        )
        if copy is not view.passages:
            self._view = replace(view, passages=copy)
