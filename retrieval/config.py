"""Settings for the retrieval layer, read from the environment and `.env`.

Every field is documented in `.env.example`. The bot extends this class with its
own fields (see `bot.config`), so one object carries the whole configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval.errors import ConfigError
from retrieval.onnx_backend import Backend

__all__ = ["BUNDLED_CORPUS_DIR", "DEFAULT_EMBEDDING_MODEL", "Settings", "load_settings"]

#: The five source texts shipped with Sanad (`data/corpus/` in the project).
BUNDLED_CORPUS_DIR = Path(__file__).resolve().parent.parent / "data" / "corpus"

#: Multilingual, MIT-licensed, ~120M parameters: practical on a CPU.
DEFAULT_EMBEDDING_MODEL = "intfloat/multilingual-e5-small"


class Settings(BaseSettings):
    """What Sanad's retrieval needs to know; each field maps to `SANAD_<NAME>`."""

    model_config = SettingsConfigDict(
        env_prefix="SANAD_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(default=Path(".sanad"), description="Where indexes and state live.")
    corpus_dir: Path = Field(
        default=BUNDLED_CORPUS_DIR, description="Folder of .txt/.md/.html source texts."
    )
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="sentence-transformers model id or local path; 'none' = lexical-only.",
    )
    query_prompt: str | None = Field(
        default=None, description="Text put before every query; unset = the model's own."
    )
    document_prompt: str | None = Field(
        default=None, description="Text put before every passage; unset = the model's own."
    )
    reranker_model: str | None = Field(
        default=None,
        description="sentence-transformers CrossEncoder id or local folder that re-scores "
        "candidate sentences; unset = no reranker.",
    )
    #: Texts encoded at once, at most. Small batches pad less and hold less attention
    #: memory: against 32, 8 encodes EmbeddingGemma passages 4× faster (peak RSS 2.5 →
    #: 1.6 GB) and MiniLM's as fast (RSS 0.76 → 0.58 GB); see README "Speed".
    embedding_batch_size: int = Field(default=8, ge=1, le=1024)
    #: Padded tokens a batch holds at most (its count times its longest text's
    #: tokens); a longer text goes alone. Chosen on the public sets' texts (README
    #: "Speed"): long texts go fewer at a time, short ones still 8.
    embedding_batch_tokens: int = Field(default=1024, ge=1, le=1_000_000)
    #: After each batch of an ingest, hand the memory the batch freed back to the
    #: system (glibc's malloc_trim; elsewhere nothing), not only once the ingest ends:
    #: a lower peak for a slower ingest (MiniLM, bundled corpus: 24 MB lower, 5% slower;
    #: README "Speed"). On: running out of memory stops a bot, a slower ingest does not.
    embedding_release_memory: bool = True
    embedding_backend: Backend = Field(
        default="torch",
        description="What runs the model: PyTorch, ONNX Runtime, or ONNX Runtime with "
        "8-bit weights (see retrieval.onnx_backend).",
    )
    onnx_cache: Path = Field(
        default=Path("~/.cache/sanad/onnx"),
        description="Where models exported for the ONNX backends are kept.",
    )
    model_load_timeout: float = Field(
        default=3.0, gt=0, le=120, description="Seconds to wait for the model hub."
    )
    chroma_host: str | None = Field(
        default=None, description="Chroma server host; unset = embedded store."
    )
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    chroma_ssl: bool = False
    chroma_token: SecretStr | None = None
    chroma_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds a Chroma server request may take before search falls back "
        "to keywords (large ingests may need more).",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://user:password@host:port/db for state shared by replicas; "
        "unset = SQLite files in the data dir.",
    )
    collection: str = Field(
        default="sanad", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$"
    )
    chunk_min_tokens: int = Field(default=250, ge=16, le=2000)
    chunk_max_tokens: int = Field(default=500, ge=32, le=4000)
    ingest_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Processes that clean and chunk a large corpus; 0 = one per core, "
        "1 = all in the ingesting process.",
    )
    exact_search_max_passages: int = Field(
        default=20_000,
        ge=0,
        le=1_000_000,
        description="Up to this many passages, dense search scores every passage's vector "
        "in memory (exact, and faster than Chroma's query); above it, or 0, Chroma's "
        "approximate index. Only with the embedded store and no shared catalogue.",
    )
    passage_vectors: Literal["encoded", "sentence-mean"] = Field(
        default="encoded",
        description="How a passage's vector is made: 'encoded', the model reads the whole "
        "passage; 'sentence-mean', the mean of its sentences' vectors (ingest with a model "
        "reads each text once: faster, a little less accurate on the public sets).",
    )
    max_query_chars: int = Field(default=2000, ge=10, le=100_000)
    top_k: int = Field(default=5, ge=1, le=100)
    llm_model: str | None = Field(
        default=None,
        description="'provider:model' for LangChain's init_chat_model; unset = extractive answers.",
    )
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, …)."
    )
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(default=30.0, gt=0, le=600)
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    answer_passages: int = Field(default=5, ge=1, le=20)
    answer_max_quotes: int = Field(default=3, ge=1, le=10)
    answer_max_chars: int = Field(default=800, ge=100, le=10_000)
    decline_dense_z: float = Field(
        default=1.45,
        ge=-5,
        le=10,
        description="Best sentence similarity needed, in standard deviations above "
        "the corpus's unrelated-sentence similarity.",
    )
    decline_lexical: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Share of the question's content words a passage needs.",
    )
    decline_sentence: float = Field(
        default=0.11,
        ge=0,
        le=1,
        description="Share of the question's distinctive words (weighted by rarity in the "
        "corpus and among the passages' sentences) the best sentence needs.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    @field_validator(
        "chroma_host",
        "query_prompt",
        "document_prompt",
        "llm_model",
        "llm_base_url",
        "reranker_model",
        "database_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty variable in `.env` means "not set", not "empty string"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("embedding_model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("give a model id, a local path, or 'none' for lexical-only")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError(
                "give a postgresql://user:password@host:port/database URL, or leave it unset "
                "for SQLite files in SANAD_DATA_DIR"
            )
        return value

    @model_validator(mode="after")
    def _chunk_bounds(self) -> Settings:
        if self.chunk_min_tokens >= self.chunk_max_tokens:
            raise ValueError("SANAD_CHUNK_MIN_TOKENS must be smaller than SANAD_CHUNK_MAX_TOKENS")
        return self

    @property
    def dense_enabled(self) -> bool:
        """False when the user asked for lexical-only retrieval."""
        return self.embedding_model.lower() != "none"

    @property
    def server_mode(self) -> bool:
        return self.chroma_host is not None

    @property
    def llm_enabled(self) -> bool:
        return self.llm_model is not None


def load_settings(cls: type[Settings] = Settings, **overrides: object) -> Settings:
    """Build settings, turning validation errors into one readable `ConfigError`."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as e:
        raise ConfigError(_describe(e, cls)) from e


def _describe(error: ValidationError, cls: type[Settings]) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    parts = []
    for item in error.errors():
        loc = item.get("loc") or ()
        field = str(loc[0]) if loc else ""
        name = f"{prefix}{field}".upper() if field else "settings"
        if field and field in cls.model_fields:
            alias = cls.model_fields[field].validation_alias
            if isinstance(alias, str):
                name = alias.upper()
        parts.append(f"{name}: {item['msg']}")
    return "Invalid setting: " + "; ".join(parts)
