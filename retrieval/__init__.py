"""Sanad's retrieval layer: from a folder of source texts to ranked, citable passages.

It knows nothing of Telegram; the bot and the CLI (package `bot`) build on it.

    >>> from retrieval import SanadIndex, load_settings, search
    >>> index = SanadIndex(load_settings())          # doctest: +SKIP
    >>> search(index, "جنگ میان طالبان و داعش چه زمانی آغاز شد؟").results  # doctest: +SKIP

Names are imported on first use, so `import retrieval` (and `sanad --help`) stays
cheap: LangChain, Chroma and the model libraries load only for the work that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.config import Settings, load_settings
    from retrieval.errors import (
        ConfigError,
        CorpusError,
        DatabaseUnavailable,
        ModelMismatch,
        ModelUnavailable,
        QueryError,
        SanadError,
        StoreError,
        StoreUnavailable,
    )
    from retrieval.index import SanadIndex
    from retrieval.ingest import IngestReport
    from retrieval.language import detect_language
    from retrieval.normalize import search_key
    from retrieval.retriever import SanadRetriever
    from retrieval.search import SearchResponse, SearchResult, search

#: Where each public name lives.
_HOMES = {
    "ConfigError": "errors",
    "CorpusError": "errors",
    "DatabaseUnavailable": "errors",
    "ModelMismatch": "errors",
    "ModelUnavailable": "errors",
    "QueryError": "errors",
    "SanadError": "errors",
    "StoreError": "errors",
    "StoreUnavailable": "errors",
    "IngestReport": "ingest",
    "SanadIndex": "index",
    "SanadRetriever": "retriever",
    "SearchResponse": "search",
    "SearchResult": "search",
    "Settings": "config",
    "detect_language": "language",
    "load_settings": "config",
    "search": "search",
    "search_key": "normalize",
}

__all__ = [
    "ConfigError",
    "CorpusError",
    "DatabaseUnavailable",
    "IngestReport",
    "ModelMismatch",
    "ModelUnavailable",
    "QueryError",
    "SanadError",
    "SanadIndex",
    "SanadRetriever",
    "SearchResponse",
    "SearchResult",
    "Settings",
    "StoreError",
    "StoreUnavailable",
    "detect_language",
    "load_settings",
    "search",
    "search_key",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"retrieval.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
