"""One consistent state of the index: what a search reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.catalog import ChunkRecord, DocumentRecord
from retrieval.lexical import LexicalIndex
from retrieval.normalize import Shingles, shingles
from retrieval.passage_vectors import PassageVectors
from retrieval.sentences import SentenceEvidence

__all__ = ["IndexView"]


@dataclass
class IndexView:
    """One consistent state of the index: what a search reads, all of a piece.

    An ingest builds a new view aside and swaps it in whole, so a search that
    started before sees the old corpus throughout, never a mix.
    """

    chunks: list[ChunkRecord]
    documents: dict[str, DocumentRecord]
    lexical: LexicalIndex
    evidence: SentenceEvidence
    #: every passage's vector in memory, for an exact dense search (small corpora)
    passages: PassageVectors | None = None
    position: dict[str, int] = field(init=False)
    languages: list[str] = field(init=False)
    _shingles: dict[int, Shingles] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.position = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self.languages = sorted({c.lang for c in self.chunks})

    def shingles(self, position: int) -> Shingles:
        """Word trigrams of chunk `position`, for near-duplicate checks (cached)."""
        found = self._shingles.get(position)
        if found is None:
            found = self._shingles[position] = shingles(self.chunks[position].text)
        return found
