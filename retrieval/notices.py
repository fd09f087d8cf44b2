"""Notices: one-line remarks for whoever is watching, as a key of `prompts/strings.toml`.

The retrieval layer says *what* happened (the index is being built, the model fell
back, a question was cut); each front end renders it in its reader's language:
the CLI on stderr in English, `sanad chat` in the user's language, the bot's log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prompts import text as ui_text

__all__ = ["Notice", "Notify", "notice"]


@dataclass(frozen=True)
class Notice:
    """A remark: a key of `prompts/strings.toml` and its values."""

    key: str
    values: tuple[tuple[str, object], ...] = ()

    def render(self, lang: str) -> str:
        return ui_text(self.key, lang, **dict(self.values))

    def __str__(self) -> str:
        return self.render("en")


def notice(key: str, **values: object) -> Notice:
    return Notice(key, tuple(values.items()))


#: Where notices go: a front end's printer, or the log.
Notify = Callable[[Notice], None]
