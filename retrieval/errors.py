"""The one exception tree of Sanad's retrieval layer.

    SanadError
    ├── ConfigError          a setting is invalid
    ├── CorpusError          the corpus folder is missing or holds nothing to index
    ├── QueryError           the question is empty
    ├── StoreError           the vector store failed
    │   ├── StoreUnavailable the Chroma server cannot be reached
    │   └── ModelMismatch    the index was built with another embedding model
    ├── ModelUnavailable     the embedding model cannot be loaded
    └── DatabaseUnavailable  the PostgreSQL database cannot be reached

Every message says what to do next; the CLI prints it as one line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CorpusError",
    "DatabaseUnavailable",
    "ModelMismatch",
    "ModelUnavailable",
    "QueryError",
    "SanadError",
    "StoreError",
    "StoreUnavailable",
]


class SanadError(Exception):
    """Base class: anything Sanad reports to a user as a one-line message."""


class ConfigError(SanadError):
    """A setting has a value that is not allowed."""


class CorpusError(SanadError):
    """The corpus folder is missing, unreadable or empty."""


class QueryError(SanadError):
    """The question cannot be searched (for example, it is empty)."""


class StoreError(SanadError):
    """The vector store failed."""


class StoreUnavailable(StoreError):
    """The Chroma server cannot be reached."""


class ModelMismatch(StoreError):
    """The stored vectors come from a different embedding model."""


class ModelUnavailable(SanadError):
    """The embedding model cannot be loaded (offline and not cached, or broken)."""


class DatabaseUnavailable(SanadError):
    """The PostgreSQL database in SANAD_DATABASE_URL cannot be reached."""
