"""`sanad doctor`: everything in effect for the answers and the bot, and what it can reach.

Every line is one fact. Secrets are never printed (only whether they are set), and
URLs lose any user:password part. Reachability is a TCP connection with a short
timeout to each endpoint in use: the Chroma server, the LLM endpoint, the Bot API root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from bot.config import BotSettings
from retrieval.index import SanadIndex
from retrieval.reach import connect_error

__all__ = ["Check", "doctor_report", "probe"]

#: Seconds to wait for each endpoint: long enough for a LAN, short enough to stay snappy.
PROBE_TIMEOUT = 2.0

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    """One endpoint: what it is, where, and whether a connection got through."""

    what: str
    where: str
    reachable: bool
    detail: str = ""

    def line(self) -> str:
        state = "reachable" if self.reachable else f"UNREACHABLE ({self.detail})"
        return f"  {self.what}: {self.where}: {state}"


def probe(what: str, url: str, default_port: int) -> Check:
    """Open (and close) a TCP connection to the host of `url`."""
    error = connect_error(url, default_port=default_port, timeout=PROBE_TIMEOUT)
    return Check(what, _public(url), error is None, error or "")


def _public(url: str) -> str:
    """The URL without a user:password part (those are secrets)."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=f"***@{netloc}").geturl()


def _env_name(settings: BotSettings, name: str) -> str:
    field = type(settings).model_fields[name]
    alias = field.validation_alias
    return alias if isinstance(alias, str) else f"SANAD_{name.upper()}"


def _shown(value: object) -> str:
    if isinstance(value, SecretStr):
        return "(set, hidden)"
    if isinstance(value, frozenset):
        return ",".join(str(v) for v in sorted(value)) or "(empty)"
    if isinstance(value, str) and "://" in value:
        return _public(value)
    return "(unset)" if value is None else str(value)


def doctor_report(settings: BotSettings, index: SanadIndex, echo: Echo) -> None:
    """Print the settings, the answer path, the bot's set-up, the checks and the index."""
    echo("settings (environment and .env):")
    for name in type(settings).model_fields:
        echo(f"  {_env_name(settings, name)} = {_shown(getattr(settings, name))}")

    echo("answers:")
    embedder = index.embedder
    if embedder is not None:
        echo(f"  retrieval: hybrid (model {embedder.name}, dimension {embedder.dim})")
    else:
        echo(f"  retrieval: keyword-only ({index.dense_note})")
    echo(f"  reranker: {settings.reranker_model or 'none'}")
    echo(f"  writer: {f'LLM {settings.llm_model}' if settings.llm_model else 'extractive'}")

    echo("bot:")
    token = settings.telegram_bot_token
    echo(f"  token: {'set (hidden)' if token else 'NOT SET: `sanad run` needs it'}")
    if settings.telegram_webhook_url:
        echo(
            f"  updates: webhook {_public(settings.telegram_webhook_url)}, listening on "
            f"{settings.telegram_webhook_listen}:{settings.telegram_webhook_port}"
        )
    else:
        echo("  updates: long polling")
    if settings.allowed_user_ids or settings.allowed_chat_ids:
        echo(
            f"  access: allowlist of {len(settings.allowed_user_ids)} user(s) and "
            f"{len(settings.allowed_chat_ids)} chat(s), plus admins"
        )
    else:
        echo("  access: everyone (no allowlist)")
    echo(f"  admins: {len(settings.admin_ids)} (may add documents)")
    echo(
        f"  limits: {settings.questions_per_minute} questions/minute per user, uploads up "
        f"to {settings.max_upload_bytes:,} bytes, {settings.worker_threads} answer threads"
    )
    echo(f"  memory: last {settings.memory_turns} turns, for {settings.memory_hours:g} hours")
    echo(_chat_store_line(settings))

    echo("reachable:")
    for check in _checks(settings):
        echo(check.line())

    _index_lines(index, echo)


def _chat_store_line(settings: BotSettings) -> str:
    """Where answers and memory live, how big the file is, how often it is purged."""
    from bot.storage import ANSWER_DAYS, CHAT_STORE_FILE

    path = settings.data_dir / CHAT_STORE_FILE
    files = [path, path.with_name(path.name + "-wal")]
    size = sum(f.stat().st_size for f in files if f.exists())
    shown = f"{size / 1_000_000:.1f} MB" if path.exists() else "not created yet"
    return (
        f"  chat store: {path} ({shown}); answers kept {ANSWER_DAYS} days, "
        f"purged every {settings.purge_minutes:g} minutes"
    )


def _checks(settings: BotSettings) -> list[Check]:
    checks: list[Check] = []
    if settings.server_mode:
        scheme = "https" if settings.chroma_ssl else "http"
        url = f"{scheme}://{settings.chroma_host}:{settings.chroma_port}"
        checks.append(probe("chroma server", url, settings.chroma_port))
    if settings.llm_base_url:
        checks.append(probe("LLM endpoint", settings.llm_base_url, 80))
    checks.append(probe("Bot API", settings.telegram_api_base_url, 80))
    return checks


def _index_lines(index: SanadIndex, echo: Echo) -> None:
    echo("index:")
    built_from = index.built_from
    wanted = index.corpus_setting
    echo(f"  catalogue: {index.catalog.db.location}")
    echo(f"  built from: {built_from or '(nothing yet)'}")
    if built_from is not None and built_from != str(wanted):
        echo(f"  SANAD_CORPUS_DIR is now {wanted}: the next question re-indexes from it")
    counts = index.catalog.counts_by_language()
    if not counts:
        echo("  empty: built on the first question, or run `sanad ingest`")
    for lang, (docs, chunks) in counts.items():
        echo(f"  {lang}: {docs} documents, {chunks} passages")
    embedder = index.embedder
    if embedder is None:
        echo("  vectors: not used (keyword-only)")
        return
    from retrieval.errors import StoreError

    try:
        index.store.open(embedder.name, embedder.dim)
        echo(f"  vectors: {index.store.count()} in {index.store.location}")
    except StoreError as e:
        echo(f"  vectors: {e}")
