"""Evaluation sets on disk: question files, or folders with a corpus of their own.

A folder holds `corpus/` (the source texts, optionally with a manifest) and one or
more `questions*.jsonl` files (the format of `load_questions`). Several folders
can be merged into one corpus, so that each question competes with every
document of every folder: the merged corpus is a folder of symbolic links, built
in a working directory the caller owns (nothing is copied or changed).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retrieval.corpus import SUFFIXES, read_manifest
from retrieval.errors import CorpusError
from retrieval.evaluate import EvalQuestion, load_questions

__all__ = ["EvalSet", "open_eval_set"]


@dataclass(frozen=True)
class EvalSet:
    questions: list[EvalQuestion]
    #: The merged corpus of the folders given, or None when only question files were.
    corpus_dir: Path | None
    documents: int = 0


def open_eval_set(paths: Sequence[Path], work: Path) -> EvalSet:
    """Read question files and set folders; merge the folders' corpora under `work`."""
    questions: list[EvalQuestion] = []
    folders: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted(path.glob("questions*.jsonl"))
            if not (path / "corpus").is_dir() or not files:
                raise CorpusError(
                    f"{path} is not an evaluation folder: it needs corpus/ and questions*.jsonl."
                )
            folders.append(path)
            for file in files:
                questions += load_questions(file)
        elif path.is_file():
            questions += load_questions(path)
        else:
            raise CorpusError(f"{path} does not exist: give a questions .jsonl file or a folder.")
    if not folders:
        return EvalSet(questions, None)
    merged = work / "corpus"
    merged.mkdir(parents=True, exist_ok=True)
    owner: dict[str, Path] = {}
    manifest: dict[str, Any] = {}
    for folder in folders:
        source = (folder / "corpus").resolve()
        for file in sorted(source.rglob("*")):
            if not file.is_file() or file.suffix.lower() not in SUFFIXES:
                continue
            if file.name in owner:
                raise CorpusError(
                    f"{file.name} is in both {owner[file.name]} and {folder}: "
                    "merged folders need distinct file names."
                )
            owner[file.name] = folder
            link = merged / file.name
            if not link.exists():
                link.symlink_to(file)
        entries, problems = read_manifest(source)
        if problems:
            raise CorpusError(problems[0])
        manifest.update(entries)
    if manifest:
        (merged / "manifest.json").write_text(
            json.dumps({"documents": manifest}, ensure_ascii=False), encoding="utf-8"
        )
    return EvalSet(questions, merged, len(owner))
