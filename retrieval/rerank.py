"""An optional cross-encoder that re-scores the best candidate sentences.

Off by default (`SANAD_RERANKER_MODEL` unset). When set, a sentence-transformers
`CrossEncoder` reads the question and each of the best candidate sentences
together; its scores, standardized over those candidates, are added to theirs.
A model that cannot be loaded leaves ranking as it is, with a one-line notice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from retrieval.config import Settings
from retrieval.embeddings import is_cached, local_model_folder
from retrieval.errors import ModelUnavailable

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

__all__ = ["Reranker", "load_reranker"]

log = logging.getLogger(__name__)


class Reranker:
    """A loaded cross-encoder: `scores(question, texts)` → one score per text."""

    def __init__(self, model: CrossEncoder, name: str) -> None:
        self.model = model
        self.name = name

    def scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        pairs = [(question, t) for t in texts]
        return np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float32)


def load_reranker(settings: Settings) -> Reranker:
    """Load `SANAD_RERANKER_MODEL` (a local folder, or a model cached from the hub)."""
    name = settings.reranker_model
    if not name:
        raise ModelUnavailable("No reranker is configured (SANAD_RERANKER_MODEL).")
    hint = (
        "run `sanad models pull` for it on a connected machine, point "
        "SANAD_RERANKER_MODEL at a local folder, or unset it."
    )
    # Found first, as the embedding model is: PyTorch is imported only for a model
    # that is there.
    folder = local_model_folder(name)
    if folder is not None and not folder.is_dir():
        raise ModelUnavailable(f"Reranker {name} cannot be loaded (no such folder): {hint}")
    if folder is None and not is_cached(name):
        raise ModelUnavailable(f"Reranker {name} cannot be loaded (not cached): {hint}")
    from sentence_transformers import CrossEncoder

    try:
        if folder is not None:
            model = CrossEncoder(str(folder), device="cpu")
        else:
            model = CrossEncoder(name, device="cpu", local_files_only=True)
    except Exception as e:
        raise ModelUnavailable(
            f"Reranker {name} cannot be loaded ({type(e).__name__}): {hint}"
        ) from e
    log.info("loaded reranker %s", name)
    return Reranker(model, name)
