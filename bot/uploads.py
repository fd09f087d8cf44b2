"""An admin sends a .txt, .md or .html document; it joins the corpus and is indexed."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import Bot, Document

from bot.heap import settle_heap_again
from prompts import Phrase
from retrieval.corpus import read_document
from retrieval.index import SanadIndex

if TYPE_CHECKING:
    from bot.context import Services

__all__ = ["SUFFIXES", "ingest_upload", "safe_name"]

SUFFIXES = {".txt", ".md", ".html", ".htm"}
_UNSAFE = re.compile(r"[^\w.-]+")

Report = Phrase  # what happened to the upload


def safe_name(file_name: str) -> str:
    """A file name that cannot leave the uploads folder or hide: letters, digits, _ . -"""
    path = Path(file_name.replace("\\", "/")).name
    stem = _UNSAFE.sub("_", Path(path).stem).strip("._")[:80] or "document"
    return stem + Path(path).suffix.lower()


async def ingest_upload(services: Services, bot: Bot, document: Document) -> Report:
    """Check, download and index `document`; say what happened."""
    name = document.file_name or "document"
    if Path(name).suffix.lower() not in SUFFIXES:
        return "upload_bad_type", {}
    limit = services.settings.max_upload_bytes
    too_large: Report = ("upload_too_large", {"limit": round(limit / 1_000_000, 1)})
    if document.file_size and document.file_size > limit:
        return too_large
    index = services.conversation.answerer.index
    target = index.uploads_dir / safe_name(name)
    known = index.catalog_documents.get(target.stem)
    if known is not None and not index.is_upload(known):
        return "upload_name_taken", {}
    file = await bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    if len(data) > limit:
        return too_large
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(services.conversation.executor, _ingest, index, target, data)


def _ingest(index: SanadIndex, target: Path, data: bytes) -> Report:
    """Save and index one upload (in a worker thread: this may embed passages)."""
    shown: dict[str, object] = {"name": target.name}
    target.parent.mkdir(parents=True, exist_ok=True)
    # Checked aside, under a hidden name no ingest reads: a rejected upload changes
    # nothing (an empty re-upload must not remove the file it would have replaced).
    partial = target.with_name(f".{target.stem}.partial{target.suffix}")
    partial.write_bytes(data)
    try:
        readable = any(p.kept for p in read_document(partial).paragraphs)
    except UnicodeDecodeError:
        partial.unlink()
        return "upload_unreadable", shown
    if not readable:
        partial.unlink()
        return "upload_no_text", shown
    partial.replace(target)
    index.ensure_ready()
    report = index.ingest(target)
    if report.added or report.updated:
        settle_heap_again()
    chunks = sum(1 for c in index.chunks if c.doc_id == target.stem)
    values: dict[str, object] = {**shown, "chunks": chunks, "total": len(index.chunks)}
    if target.stem in report.added:
        return "upload_report", values
    if target.stem in report.updated:
        return "upload_updated", values
    return "upload_unchanged", shown
