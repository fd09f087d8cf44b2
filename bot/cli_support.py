"""What the `sanad` commands share: one-line errors, settings, the index, the mode option."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from retrieval.errors import ConfigError, QueryError, SanadError

if TYPE_CHECKING:
    # Imported where used: `sanad --help` and keyword-only work never pay for
    # what they do not run (pydantic, bm25s, Chroma, LangChain, PyTorch).
    from bot.config import BotSettings
    from retrieval.config import Settings
    from retrieval.index import SanadIndex

__all__ = [
    "ModeOption",
    "bot_settings",
    "cli_settings",
    "err",
    "llm_of",
    "open_index",
    "user_errors",
]

ModeOption = Annotated[
    Literal["hybrid", "lexical", "dense"] | None,
    typer.Option("--mode", help="Force one retriever (default: hybrid when a model loads)."),
]


def err(message: str) -> None:
    """One line on stderr."""
    typer.echo(message, err=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn Sanad's errors into one line on stderr and an exit code; no tracebacks."""
    try:
        yield
    except (ConfigError, QueryError) as e:
        err(f"error: {e}")
        raise typer.Exit(2) from None
    except SanadError as e:
        err(f"error: {e}")
        raise typer.Exit(1) from None


def cli_settings() -> Settings:
    """The retrieval settings, with logging configured (secrets masked)."""
    from bot.logs import configure_logging, secrets_of
    from retrieval.config import load_settings

    settings = load_settings()
    configure_logging(settings.log_level, secrets_of(settings))
    return settings


def open_index(settings: Settings) -> SanadIndex:
    """The index, its notices on stderr in English."""
    from retrieval.index import SanadIndex

    return SanadIndex(settings, notify=lambda notice: err(notice.render("en")))


def bot_settings() -> BotSettings:
    """The bot's settings (retrieval's and its own), with logging configured."""
    from bot.config import load_bot_settings
    from bot.logs import configure_logging, secrets_of

    settings = load_bot_settings()
    configure_logging(settings.log_level, secrets_of(settings))
    return settings


def llm_of(settings: Settings) -> Any:
    """The configured LLM, or None when SANAD_LLM_MODEL is not set."""
    if not settings.llm_enabled:
        return None
    from retrieval.llm import ChatLLM

    return ChatLLM(settings)
