"""Load a folder of source texts (.txt, .md, .html) and what is known about each.

A manifest (`manifest.toml` or `manifest.json`) in the folder may give each
document's title, author, publisher, date, URL and language, keyed by file name
without extension. Without it, the title is the first meaningful line and the
language is detected.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from retrieval.clean import Paragraph, split_paragraphs
from retrieval.errors import CorpusError
from retrieval.language import detect_language
from retrieval.normalize import key_words

__all__ = ["SUFFIXES", "Document", "Source", "read_corpus", "read_document", "read_manifest"]

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".html", ".htm")
_MANIFESTS = ("manifest.toml", "manifest.json")


@dataclass(frozen=True)
class Document:
    """One source text. `text` is what offsets point into and what is shown.

    For .txt and .md that is the file exactly; for .html it is the page's text
    (tags dropped, entities decoded), since markup cannot be quoted to a reader.
    """

    doc_id: str
    path: Path
    text: str
    sha256: str
    title: str
    lang: str
    author: str = ""
    publisher: str = ""
    date: str = ""
    url: str = ""
    title_en: str = ""
    #: The title came from the manifest (False: taken from the text's first line).
    title_given: bool = True
    paragraphs: list[Paragraph] = field(default_factory=list, repr=False, compare=False)

    def metadata(self) -> dict[str, str]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "title_en": self.title_en,
            "author": self.author,
            "publisher": self.publisher,
            "date": self.date,
            "url": self.url,
            "lang": self.lang,
            "path": str(self.path),
        }


@dataclass(frozen=True)
class Source:
    """One file of the corpus, read and checked to be UTF-8 but not yet cleaned:
    enough to tell whether it changed since the last ingest (`sha256`), and all that
    turning it into a `Document` needs (which an ingest may do in another process)."""

    doc_id: str
    path: Path
    sha256: str
    text: str  # the file's text as read; .html is turned into text by `document()`
    meta: dict[str, Any] = field(default_factory=dict)

    def document(
        self, *, detect: bool = True, words: Callable[[str], list[str]] = key_words
    ) -> Document:
        """The source cleaned: paragraphs split and marked, language and title found.

        `detect=False` leaves a language the manifest does not give empty, for the
        caller to find (an ingest does, from the passages it makes of the document).
        `words`: a paragraph's key words (see `split_paragraphs`).
        """
        meta = self.meta
        text = self.text
        if self.path.suffix.lower() in {".html", ".htm"}:
            text = _html_text(text)
        paragraphs = split_paragraphs(text, words)
        lang = str(meta.get("language") or meta.get("lang") or "")
        if not lang and detect:
            lang = detect_language("\n".join(p.text for p in paragraphs if p.kept))
        title = str(meta.get("title") or _first_line(paragraphs) or self.path.stem)
        return Document(
            doc_id=self.doc_id,
            path=self.path,
            text=text,
            sha256=self.sha256,
            title=title,
            lang=lang,
            author=str(meta.get("author", "")),
            publisher=str(meta.get("publisher", "")),
            date=str(meta.get("date", "")),
            url=str(meta.get("url", "")),
            title_en=str(meta.get("title_en", "")),
            title_given=bool(meta.get("title")),
            paragraphs=paragraphs,
        )


def read_corpus(path: Path) -> tuple[list[Source], list[str]]:
    """Read every source text under `path` (a folder or one file).

    Returns the sources and a warning per file that was skipped. Raises
    `CorpusError` when there is nothing to read at all.
    """
    if not path.exists():
        raise CorpusError(
            f"Corpus folder {path} does not exist: set SANAD_CORPUS_DIR or pass a path."
        )
    files = (
        [path]
        if path.is_file()
        else sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    )
    files = [p for p in files if not p.name.startswith(".")]
    if not files:
        raise CorpusError(
            f"No .txt, .md or .html files in {path}: add source texts or point SANAD_CORPUS_DIR elsewhere."
        )
    manifest, warnings = read_manifest(path if path.is_dir() else path.parent)
    sources: list[Source] = []
    seen: dict[str, Path] = {}
    for file in files:
        doc_id = file.stem
        if doc_id in seen:
            warnings.append(f"skipped {file}: same name as {seen[doc_id]}")
            continue
        try:
            sources.append(_read_source(file, manifest.get(doc_id, {})))
            seen[doc_id] = file
        except (OSError, UnicodeDecodeError) as e:
            warnings.append(f"skipped {file}: {_reason(e)}")
    for w in warnings:
        log.warning("%s", w)
    return sources, warnings


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text (convert it to UTF-8 and ingest again)"
    reason = error.strerror if isinstance(error, OSError) else None
    return f"cannot be read ({reason or error})"


def read_manifest(folder: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """A folder's manifest entries by file name, and a warning if it cannot be read."""
    for name in _MANIFESTS:
        file = folder / name
        if not file.is_file():
            continue
        try:
            raw = file.read_bytes()
            data = tomllib.loads(raw.decode()) if name.endswith(".toml") else json.loads(raw)
        except (OSError, ValueError) as e:
            return {}, [f"ignored {file}: {e}"]
        docs = data.get("documents", {}) if isinstance(data, dict) else {}
        if not isinstance(docs, dict):
            return {}, [f"ignored {file}: 'documents' must be a table keyed by file name"]
        return {k: v for k, v in docs.items() if isinstance(v, dict)}, []
    return {}, []


def read_document(file: Path) -> Document:
    """One source text, read and cleaned as an ingest would (without a manifest)."""
    return _read_source(file, {}).document()


def _read_source(file: Path, meta: dict[str, Any]) -> Source:
    raw = file.read_bytes()
    return Source(
        doc_id=file.stem,
        path=file,
        sha256=hashlib.sha256(raw + json.dumps(meta, sort_keys=True).encode()).hexdigest(),
        # Plain UTF-8: a byte-order mark stays as U+FEFF, so offsets are offsets into
        # the file's text as read (utf-8-sig would shift every one of them by one).
        text=raw.decode("utf-8"),
        meta=meta,
    )


def _first_line(paragraphs: list[Paragraph]) -> str:
    for p in paragraphs:
        if p.kept:
            line = re.sub(r"^#+\s*", "", p.text).strip()
            if len(re.findall(r"\w+", line)) >= 2:
                return line if len(line) <= 120 else line[:119].rstrip() + "…"
    return ""


class _TextExtractor(HTMLParser):
    _BLOCK = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "table",
            "section",
            "article",
            "header",
            "footer",
            "blockquote",
            "pre",
            "title",
            "nav",
            "aside",
            "figcaption",
        ]
    )
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"[ \t\r\n]+", " ", data))


def _html_text(source: str) -> str:
    parser = _TextExtractor()
    parser.feed(source)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line) + "\n"
