"""The Chroma vector store: embedded under the data dir, or a `chroma run` server.

Sanad always passes its own embeddings (Chroma's default model would need a
download) and records which model made them, so a store is never queried with
vectors from another model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.config import Settings
from retrieval.errors import ModelMismatch, StoreError, StoreUnavailable

__all__ = ["VectorMatch", "VectorStore"]

log = logging.getLogger(__name__)

_MODEL_KEY = "sanad:model"
_DIM_KEY = "sanad:dim"
_BATCH = 1000

# Chroma reads this at import: no usage data leaves the machine.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@dataclass(frozen=True, slots=True)
class VectorMatch:
    chunk_id: str
    similarity: float  # cosine similarity, 1 = same direction


class VectorStore:
    """One Chroma collection of chunk vectors made by one embedding model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = _connect(settings)
        self._collection: Any = None
        self._opened: tuple[str, int] | None = None
        self._count: int | None = None  # cached between writes: counting costs a round trip

    @property
    def location(self) -> str:
        s = self.settings
        if s.server_mode:
            return f"chroma server {s.chroma_host}:{s.chroma_port}"
        return str(s.data_dir / "chroma")

    def recorded_model(self) -> tuple[str, int] | None:
        """(model, dimension) the stored vectors came from, or None if no vectors yet."""
        col = self._existing()
        if col is None:
            return None
        meta = col.metadata or {}
        if _MODEL_KEY not in meta:
            return None
        return str(meta[_MODEL_KEY]), int(meta[_DIM_KEY])

    def open(self, model: str, dim: int) -> None:
        """Use the collection for `model`, creating it if needed; refuse another model's."""
        if self._collection is not None and self._opened == (model, dim):
            return
        recorded = self.recorded_model()
        if recorded is not None and recorded != (model, dim):
            raise ModelMismatch(
                f"The index was built with embedding model {recorded[0]} (dimension "
                f"{recorded[1]}), but SANAD_EMBEDDING_MODEL is {model} (dimension {dim}): "
                "run `sanad ingest --rebuild` to re-embed the corpus, or set the model back."
            )
        self._collection = self._call(
            lambda: self.client.get_or_create_collection(
                self.settings.collection,
                embedding_function=None,
                metadata={_MODEL_KEY: model, _DIM_KEY: dim},
                configuration={"hnsw": {"space": "cosine"}},
            )
        )
        self._opened = (model, dim)

    def drop(self) -> None:
        """Delete the collection (for a rebuild)."""
        if self._existing() is not None:
            self._call(lambda: self.client.delete_collection(self.settings.collection))
        self._collection = None
        self._opened = None
        self._count = None

    def close(self) -> None:
        """Release the client's connections (server mode keeps an HTTP pool)."""
        # Chroma's HTTP clients (its own and an admin one) keep httpx pools that
        # its close() leaves open.
        for client in (self.client, getattr(self.client, "_admin_client", None)):
            session = getattr(getattr(client, "_server", None), "_session", None)
            if session is not None:
                session.close()
        close = getattr(self.client, "close", None)
        if close is not None:
            close()
        self._collection = None
        self._opened = None
        self._count = None

    def ids(self) -> set[str]:
        col = self._require()
        return set(self._call(lambda: col.get(include=[]))["ids"])

    def count(self) -> int:
        if self._collection is not None and self._count is not None:
            return self._count
        col = self._collection or self._existing()
        count = 0 if col is None else int(self._call(col.count))
        if self._collection is not None:
            self._count = count
        return count

    def upsert(
        self, ids: Sequence[str], vectors: np.ndarray, texts: Sequence[str], metas: Sequence[dict]
    ) -> None:
        col = self._require()
        self._count = None
        for i in range(0, len(ids), _BATCH):
            sl = slice(i, i + _BATCH)
            self._call(
                lambda sl=sl: col.upsert(
                    ids=list(ids[sl]),
                    embeddings=vectors[sl],
                    documents=list(texts[sl]),
                    metadatas=list(metas[sl]),
                )
            )

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of `ids`, in that order (every id must be stored)."""
        col = self._require()
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(ids), _BATCH):
            batch = list(ids[i : i + _BATCH])
            got = self._call(lambda batch=batch: col.get(ids=batch, include=["embeddings"]))
            found.update(zip(got["ids"], got["embeddings"], strict=True))
        missing = [i for i in ids if i not in found]
        if missing:
            raise StoreError(
                f"{len(missing)} passages have no vector in {self.location} (first: "
                f"{missing[0]}): run `sanad ingest` to add them."
            )
        return np.asarray([found[i] for i in ids], dtype=np.float32)

    def delete(self, ids: Sequence[str]) -> None:
        col = self._require()
        self._count = None
        for i in range(0, len(ids), _BATCH):
            batch = list(ids[i : i + _BATCH])
            self._call(lambda batch=batch: col.delete(ids=batch))

    def query(self, vector: np.ndarray, k: int) -> list[VectorMatch]:
        col = self._require()
        n = min(k, self.count())
        if n == 0:
            return []
        result = self._call(
            lambda: col.query(query_embeddings=[vector], n_results=n, include=["distances"])
        )
        ids, distances = result["ids"][0], result["distances"][0]
        return [VectorMatch(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def _existing(self) -> Any:
        name = self.settings.collection
        names = {getattr(c, "name", c) for c in self._call(self.client.list_collections)}
        return self._call(lambda: self.client.get_collection(name)) if name in names else None

    def _require(self) -> Any:
        if self._collection is None:
            raise StoreError("The vector store is not open: call open() with the model first.")
        return self._collection

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except StoreError:
            raise
        except Exception as e:
            if self.settings.server_mode and _looks_like_connection_error(e):
                raise _unreachable(self.settings) from e
            raise StoreError(f"Chroma failed at {self.location}: {e}") from e


def _connect(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.server_mode:
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        try:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as e:
            raise StoreError(
                f"Cannot open the vector store at {path}: {e}. "
                "If it is damaged, run `sanad ingest --rebuild`."
            ) from e
    headers = {}
    if settings.chroma_token is not None:
        headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
    try:
        # chromadb's client makes its first request while it is built, without a
        # timeout: a hung server is found here first, with one.
        _heartbeat(settings, headers)
        client = chromadb.HttpClient(
            host=str(settings.chroma_host),
            port=settings.chroma_port,
            ssl=settings.chroma_ssl,
            headers=headers,
            settings=chroma_settings,
        )
    except Exception as e:
        raise _unreachable(settings) from e
    _bound_requests(client, settings.chroma_timeout)
    return client


def _heartbeat(settings: Settings, headers: dict[str, str]) -> None:
    import httpx

    scheme = "https" if settings.chroma_ssl else "http"
    url = f"{scheme}://{settings.chroma_host}:{settings.chroma_port}/api/v2/heartbeat"
    httpx.get(url, headers=headers, timeout=settings.chroma_timeout).raise_for_status()


def _bound_requests(client: Any, seconds: float) -> None:
    """Give the client's HTTP session a timeout.

    chromadb builds its `httpx.Client` with `timeout=None` and has no setting for it
    (chroma-core/chroma#1227, #5805): a server that accepts connections and then hangs
    would hold every search, and the threads running them, forever.
    """
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):
        raise StoreError(
            "This chromadb version's HTTP client has changed: Sanad cannot bound its "
            "requests. Install the chromadb version pyproject.toml names."
        )
    session.timeout = httpx.Timeout(seconds, connect=min(seconds, 5.0))


def _unreachable(settings: Settings) -> StoreUnavailable:
    return StoreUnavailable(
        f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port}: "
        "start it (`chroma run --path DIR --port PORT`) or unset SANAD_CHROMA_HOST "
        "to use the embedded store."
    )


def _looks_like_connection_error(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}".lower()
    return any(w in text for w in ("connect", "timeout", "timed out", "refused", "unreachable"))
