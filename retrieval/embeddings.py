"""Sentence-transformers embeddings with each model's own query/passage prompts.

Loading never hangs on an unreachable model hub: a cached or local model loads
offline; otherwise the hub is probed with a short timeout first, because the hub
client retries for over a minute before giving up.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np
from tqdm.auto import tqdm

from retrieval.allocator import release_freed_memory
from retrieval.config import Settings
from retrieval.errors import ModelUnavailable
from retrieval.notices import Notify, notice
from retrieval.onnx_backend import backend_model_name, run_on_onnx
from retrieval.reach import connect_error

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["Embedder", "load_embedder", "pull_model"]

log = logging.getLogger(__name__)


class Embedder:
    """A loaded model plus the prompts to put before queries and passages."""

    def __init__(
        self,
        model: SentenceTransformer,
        name: str,
        *,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        batch_size: int = 8,
        batch_tokens: int = 1024,
        release_memory: bool = True,
    ) -> None:
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        #: Give the memory a batch freed back to the system after each batch of a run
        #: (`retrieval.allocator`): a lower peak, a slower ingest (README "Speed").
        self.release_memory = release_memory
        own = {k: v for k, v in (model.prompts or {}).items() if v}
        self._use_own_prompts = query_prompt is None and document_prompt is None and bool(own)
        family = _prompt_family(name)
        self.query_prompt = (
            query_prompt if query_prompt is not None else own.get("query", family[0])
        )
        self.document_prompt = (
            document_prompt
            if document_prompt is not None
            else own.get("document", own.get("passage", family[1]))
        )
        dim = model.get_embedding_dimension()
        if dim is None:
            raise ModelUnavailable(f"Model {name} does not report its embedding dimension.")
        self.dim = int(dim)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def symmetric(self) -> bool:
        """Are queries embedded as passages are (no prompt sets them apart)?"""
        return not self._use_own_prompts and self.query_prompt == self.document_prompt

    def embed_query(self, text: str) -> np.ndarray:
        """One L2-normalized query vector (the last few are cached: search, sentence
        scoring and citation checks all embed the same question)."""
        cached = self._queries.get(text)
        if cached is None:
            cached = self._encode([text], query=True, progress=False)[0]
            self._queries[text] = cached
            while len(self._queries) > 256:
                self._queries.popitem(last=False)
        return cached

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalized query vectors of many texts, batched (not cached): as
        `embed_query` gives them one at a time, at a fraction of the cost."""
        return self._encode(list(texts), query=True, progress=False)

    def embed_documents(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """L2-normalized passage vectors, batched; a progress bar on long runs."""
        return self._encode(list(texts), query=False, progress=progress)

    def _encode(self, texts: list[str], *, query: bool, progress: bool) -> np.ndarray:
        """The texts' vectors, in order, encoded a batch (`batches`) at a time."""
        if len(texts) < 2:
            return self._encode_batch(texts, query=query)
        prompt = self.query_prompt if query else self.document_prompt
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), desc="Embedding", unit="text", disable=not progress) as bar:
            for batch in self.batches([prompt + t for t in texts]):
                out[batch] = self._encode_batch([texts[i] for i in batch], query=query)
                if self.release_memory:
                    release_freed_memory()
                bar.update(len(batch))
        return out

    def batches(self, texts: list[str]) -> list[list[int]]:
        """Which of `texts` (prompts included) to encode together: longest first, as
        many as fit in `batch_tokens` padded tokens (the batch's count times its
        longest text's tokens, as the model reads them) and `batch_size`; a text
        longer than the budget goes alone.

        A batch is padded to its longest text, so a fixed count of texts pads short
        ones out to a long one's length and makes long texts' batches large: at most
        1,024 tokens encode the public sets' sentences and passages 15% and 23% faster
        than 8 texts a batch with EmbeddingGemma, 5–6% with MiniLM (README "Speed")."""
        lengths = self._token_counts(texts)
        out: list[list[int]] = []
        batch: list[int] = []
        for i in sorted(range(len(texts)), key=lengths.__getitem__, reverse=True):
            padded = (len(batch) + 1) * lengths[batch[0]] if batch else 0
            if batch and (padded > self.batch_tokens or len(batch) >= self.batch_size):
                out.append(batch)
                batch = []
            batch.append(i)
        if batch:
            out.append(batch)
        return out

    def _token_counts(self, texts: list[str]) -> list[int]:
        """The tokens the model reads of each text (up to its window); characters ÷ 4
        for a model whose tokenizer is not a Hugging Face one (batching only)."""
        most = getattr(self.model, "max_seq_length", None)
        limit: dict[str, Any] = {"truncation": True, "max_length": most} if most else {}
        try:
            counted = self.model.tokenizer(
                texts, return_attention_mask=False, return_token_type_ids=False, **limit
            )["input_ids"]
        except (AttributeError, TypeError, KeyError):
            return [min(most or sys.maxsize, len(t) // 4 + 2) for t in texts]
        return [len(ids) for ids in counted]

    def _encode_batch(self, texts: list[str], *, query: bool) -> np.ndarray:
        kwargs: dict[str, Any] = {
            "batch_size": max(1, len(texts)),
            "normalize_embeddings": True,
            "convert_to_numpy": True,
            "show_progress_bar": False,
        }
        if self._use_own_prompts:
            # The model's config carries its prompts (EmbeddingGemma): let it apply them.
            encode = self.model.encode_query if query else self.model.encode_document
            return np.asarray(encode(texts, **kwargs), dtype=np.float32)
        prompt = self.query_prompt if query else self.document_prompt
        return np.asarray(
            self.model.encode(texts, prompt=prompt or None, **kwargs), dtype=np.float32
        )


def _prompt_family(name: str) -> tuple[str, str]:
    """Prompts for model families whose config does not carry them."""
    lowered = name.lower()
    if "e5" in lowered and "instruct" not in lowered:
        return "query: ", "passage: "
    if "bge-m3" in lowered:
        return "", ""
    return "", ""


def load_embedder(settings: Settings, status: Notify | None = None) -> Embedder:
    """Load the configured model, or raise `ModelUnavailable` within seconds.

    `status` hears one notice once the model is found, before the slow part (importing
    PyTorch and reading the weights) begins.
    """
    name = settings.embedding_model
    started = time.perf_counter()
    model = _load(name, settings.model_load_timeout, status or (lambda _line: None))
    backend = settings.embedding_backend
    if backend != "torch":
        run_on_onnx(model, name, backend, settings.onnx_cache.expanduser())
    log.info(
        "loaded embedding model %s (%s) in %.1fs", name, backend, time.perf_counter() - started
    )
    return Embedder(
        model,
        backend_model_name(name, backend),
        query_prompt=settings.query_prompt,
        document_prompt=settings.document_prompt,
        batch_size=settings.embedding_batch_size,
        batch_tokens=settings.embedding_batch_tokens,
        release_memory=settings.embedding_release_memory,
    )


def _load(name: str, timeout: float, status: Notify) -> SentenceTransformer:
    """Find the model first (folder, cache, hub), and import sentence-transformers
    (PyTorch: ~10 s on two cores) only when there is a model to load."""
    folder = local_model_folder(name)
    if folder is not None:
        if not folder.is_dir():
            raise ModelUnavailable(
                f"There is no model folder at {folder}: fix SANAD_EMBEDDING_MODEL "
                "(a local folder or a model id), or set it to none for keyword-only search."
            )
        status(notice("model_loading", model=folder))
        return _sentence_transformer(str(folder), f"Cannot load the embedding model at {folder}")
    if is_cached(name):
        status(notice("model_loading", model=name))
        return _sentence_transformer(
            name, f"Cannot load the cached embedding model {name}", local_files_only=True
        )
    if _offline():
        raise ModelUnavailable(
            f"Embedding model {name} is not cached and HF_HUB_OFFLINE is set: "
            "run `sanad models pull` on a connected machine, or set SANAD_EMBEDDING_MODEL "
            "to a local folder (or to none for keyword-only search)."
        )
    if not _hub_reachable(timeout):
        raise ModelUnavailable(
            f"Embedding model {name} is not cached and the model hub ({_hub_host()}) "
            "cannot be reached: run `sanad models pull` when online, set "
            "SANAD_EMBEDDING_MODEL to a local folder, or to none for keyword-only search."
        )
    status(notice("model_downloading", model=name))
    return _sentence_transformer(name, f"Cannot download the embedding model {name}")


def _sentence_transformer(name: str, failure: str, **kwargs: Any) -> SentenceTransformer:
    _quiet_transformers()
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(name, device="cpu", **kwargs)
    except Exception as e:
        raise ModelUnavailable(f"{failure}: {e}") from e


def local_model_folder(name: str) -> Path | None:
    """The folder `name` points at, if it is a path rather than a hub id ("org/model")."""
    path = Path(name).expanduser()
    looks_like_path = (
        name.startswith(("/", "./", "../", "~", "\\")) or path.exists() or name.count("/") > 1
    )
    return path if looks_like_path else None


def is_cached(name: str) -> bool:
    """Whether the hub cache holds a snapshot of model `name`, checked without loading it."""
    from huggingface_hub import constants

    repo = name if "/" in name else f"sentence-transformers/{name}"
    snapshots = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots"
    return snapshots.is_dir() and any(
        (snapshot / marker).is_file()
        for snapshot in snapshots.iterdir()
        for marker in ("modules.json", "config.json")
    )


def pull_model(settings: Settings) -> Path:
    """Download the configured model into the local cache, for later offline use."""
    name = settings.embedding_model
    if not settings.dense_enabled:
        raise ModelUnavailable("SANAD_EMBEDDING_MODEL is 'none': there is no model to pull.")
    folder = local_model_folder(name)
    if folder is not None:
        if not folder.is_dir():
            raise ModelUnavailable(f"There is no model folder at {folder} to pull into.")
        return folder
    if not _hub_reachable(settings.model_load_timeout):
        raise ModelUnavailable(
            f"The model hub ({_hub_host()}) cannot be reached: connect to the internet "
            "(or set HF_ENDPOINT to a mirror) and run `sanad models pull` again."
        )
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(name))
    except Exception as e:
        raise ModelUnavailable(f"Cannot download {name}: {e}") from e


def _offline() -> bool:
    return any(
        os.environ.get(v, "").strip().lower() in {"1", "true", "yes", "on"}
        for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_host() -> str:
    return (
        urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
        or "huggingface.co"
    )


def _hub_reachable(timeout: float) -> bool:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    return connect_error(endpoint, timeout=timeout) is None


def _quiet_transformers() -> None:
    """Keep library progress bars and chatter off the user's terminal."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers always comes with s-t
        pass
