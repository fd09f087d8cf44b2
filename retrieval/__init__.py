"""Sanad's retrieval layer: from a folder of source texts to ranked, citable passages.

It knows nothing of Telegram; the bot and the CLI (package `bot`) build on it.

    >>> from retrieval import SanadIndex, load_settings, search
    >>> index = SanadIndex(load_settings())          # doctest: +SKIP
    >>> search(index, "جنگ میان طالبان و داعش چه زمانی آغاز شد؟").results  # doctest: +SKIP
"""

from retrieval.config import Settings, load_settings
from retrieval.errors import (
    ConfigError,
    CorpusError,
    ModelMismatch,
    ModelUnavailable,
    QueryError,
    SanadError,
    StoreError,
    StoreUnavailable,
)
from retrieval.index import IngestReport, SanadIndex
from retrieval.language import detect_language
from retrieval.normalize import search_key
from retrieval.retriever import SanadRetriever
from retrieval.search import SearchResponse, SearchResult, search

__all__ = [
    "ConfigError",
    "CorpusError",
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
