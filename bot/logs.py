"""Logging set-up that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from pydantic import SecretStr
from pydantic_settings import BaseSettings

__all__ = ["RedactSecrets", "also_redact", "configure_logging", "secrets_of"]

#: Libraries whose lines below WARNING stay out of the log whatever its level: some
#: log request URLs (which carry the bot token); the rest are noise to our users.
QUIET_LIBRARIES = ("httpx", "httpcore", "chromadb", "sentence_transformers", "urllib3", "bm25s")

# Telegram bot tokens look like 123456789:AA…; they can also appear inside URLs
# that a library logs, before we know the configured value.
_TOKEN_SHAPE = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")


class RedactSecrets(logging.Filter):
    """Replace known secret values (and anything token-shaped) with `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Redact `secret` too (too short to be one: ignored); longest first, so that a
        secret containing another is replaced whole."""
        if len(secret) >= 4 and secret not in self.secrets:
            self.secrets = sorted([*self.secrets, secret], key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _TOKEN_SHAPE.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class QuietLibraries(logging.Filter):
    """Drop the `QUIET_LIBRARIES`' records below WARNING.

    Setting their loggers' levels is not enough: bm25s sets its own to DEBUG when it
    is imported, which happens after logging is set up (the first keyword index), and
    every ingest then printed "DEBUG bm25s: Building index from tokens"."""

    def filter(self, record: logging.LogRecord) -> bool:
        library = record.name.partition(".")[0]
        return record.levelno >= logging.WARNING or library not in QUIET_LIBRARIES


def secrets_of(settings: BaseSettings) -> list[str]:
    """Every `SecretStr` value in `settings`."""
    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]


def configure_logging(level: str, secrets: Iterable[str] = ()) -> RedactSecrets:
    """Log to stderr at `level`, with secrets redacted from every handler's output."""
    redactor = RedactSecrets(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(QuietLibraries())
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_sanad", False):
            root.removeHandler(old)
    handler._sanad = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Their records below WARNING are not even made (the handler's filter drops any
    # that a library's own setting lets through).
    for noisy in QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    return redactor


def also_redact(secret: str) -> None:
    """Redact `secret` from now on too: for secrets made up at run time (a webhook's)."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactSecrets):
                found.add(secret)
