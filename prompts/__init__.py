"""LLM templates and every user-facing string, in Dari (fa), Arabic (ar) and English (en)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

__all__ = [
    "LANGUAGE_NAMES",
    "READER_LANGUAGES",
    "UI_LANGUAGES",
    "Phrase",
    "template",
    "text",
    "ui_language",
]

_HERE = Path(__file__).resolve().parent

#: A user-facing message not yet in a language: a key of strings.toml and its values.
Phrase = tuple[str, dict[str, object]]

#: Languages the interface speaks.
UI_LANGUAGES = ("fa", "ar", "en")

#: Names of the answer languages, for prompts that must name one.
LANGUAGE_NAMES = {"fa": "Dari (Afghan Persian)", "ar": "Arabic", "en": "English"}


#: Languages whose readers get Dari: Pashto, Tajik, and Dari's own code.
_DARI_READERS = frozenset({"ps", "tg", "prs"})

#: Every language code given an interface of its own language or Dari (not the English default).
READER_LANGUAGES = frozenset(UI_LANGUAGES) | _DARI_READERS


def ui_language(lang: str) -> str:
    """The interface language for a detected language: Pashto readers get Dari."""
    if lang in UI_LANGUAGES:
        return lang
    return "fa" if lang in _DARI_READERS else "en"


@cache
def _strings() -> dict[str, dict[str, str]]:
    with (_HERE / "strings.toml").open("rb") as f:
        return tomllib.load(f)


def text(key: str, lang: str, **values: object) -> str:
    """The string `key` in the interface language for `lang`, with `values` filled in."""
    entry = _strings()[key]
    return entry[ui_language(lang)].format(**values)


@cache
def template(name: str, lang: str | None = None) -> str:
    """An LLM template: `templates/<name>.<lang>.txt`, else `templates/<name>.txt`."""
    folder = _HERE / "templates"
    if lang is not None:
        localized = folder / f"{name}.{ui_language(lang)}.txt"
        if localized.is_file():
            return localized.read_text(encoding="utf-8")
    return (folder / f"{name}.txt").read_text(encoding="utf-8")
