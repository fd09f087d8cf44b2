"""`sanad eval`: retrieval and answer quality over question files and evaluation folders."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli_support import ModeOption, cli_settings, err, open_index, user_errors

if TYPE_CHECKING:
    from retrieval.evaluate import EvalQuestion
    from retrieval.index import SanadIndex
    from retrieval.search import Mode

__all__ = ["eval_command"]


def eval_command(  # noqa: PLR0917 (Typer maps parameters to options)
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Question files (.jsonl, over the configured corpus) or evaluation folders "
            "(corpus/ + questions*.jsonl); several folders are merged into one corpus."
        ),
    ],
    k: Annotated[int, typer.Option("-k", min=1, max=10, help="Recall cut-off.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    mode: ModeOption = None,
    with_answers: Annotated[
        bool, typer.Option("--answers", help="Also score answers (slower: composes each one).")
    ] = False,
    index_dir: Annotated[
        Path | None,
        typer.Option(
            "--index-dir",
            help="For folders: keep the index here and reuse it next time "
            "(default: a throwaway directory).",
        ),
    ] = None,
    misses: Annotated[
        Path | None,
        typer.Option(
            "--misses",
            help="Write each answerable question not found in the top k to this "
            "JSON Lines file: its rank in the top 10 (or null) and the passages found.",
        ),
    ] = None,
) -> None:
    """Score retrieval (R@1, R@k, MRR@10) and, with --answers, answers, per language."""
    from bot.logs import configure_logging, secrets_of
    from retrieval.config import load_settings
    from retrieval.evalset import open_eval_set
    from retrieval.evaluate import score_retrieval
    from retrieval.search import search

    with user_errors(), tempfile.TemporaryDirectory(prefix="sanad-eval-") as scratch:
        if misses is not None:
            _write_misses(misses, [])
        work = index_dir or Path(scratch)
        evalset = open_eval_set(paths, work)
        if evalset.corpus_dir is not None:
            settings = load_settings(data_dir=work / "data", corpus_dir=evalset.corpus_dir)
            configure_logging(settings.log_level, secrets_of(settings))
            err(f"corpus: {evalset.documents} documents from {len(paths)} source(s) in {work}")
        else:
            settings = cli_settings()
        index = open_index(settings)
        if evalset.corpus_dir is not None:
            index.ingest(progress=sys.stderr.isatty())
        questions = evalset.questions
        used: list[Mode] = []

        def retrieve(question: str) -> list[tuple[str, str]]:
            response = search(index, question, k=10, mode=mode)
            used.append(response.mode)
            return [(r.chunk.doc_id, r.chunk.text) for r in response.results]

        missed: list[dict[str, Any]] = []

        def note_miss(q: EvalQuestion, ranked: list[tuple[str, str]], rank: int | None) -> None:
            if rank is None or rank > k:
                missed.append(_miss(q, ranked, rank))

        scores = score_retrieval(
            _progress(questions, "search"),
            retrieve,
            k=k,
            on_rank=None if misses is None else note_miss,
        )
        if misses is not None:
            _write_misses(misses, missed)
            err(f"{len(missed)} question(s) not found in the top {k}: {misses}")
        table = {lang: s.to_json() for lang, s in scores.items()}
        effective = used[0] if used else (mode or index.mode)
        answer_table = _score_answers(index, questions) if with_answers else None
        if as_json:
            payload: dict[str, Any] = {"k": k, "mode": effective, "languages": table}
            if answer_table is not None:
                payload["answers"] = answer_table
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        _print_eval(effective, k, table, answer_table)


def _print_eval(
    mode: str, k: int, table: dict[str, Any], answer_table: dict[str, Any] | None
) -> None:
    typer.echo(f"mode: {mode}")
    typer.echo(f"{'lang':<6}{'n':>5}{'R@1':>8}{f'R@{k}':>8}{'MRR@10':>9}")
    for lang, row in table.items():
        typer.echo(
            f"{lang:<6}{row['n']:>5}{row['r@1']:>8.2f}{row['r@k']:>8.2f}{row['mrr@10']:>9.3f}"
        )
    if answer_table is None:
        return
    columns = {
        "answered": "answered",
        "cited_answering": "cited ok",
        "first_quote": "1st quote",
        "any_quote": "any quote",
        "declined": "declined",
        "valid_markers": "markers ok",
    }
    typer.echo("\nanswers:")
    typer.echo(f"{'lang':<6}" + "".join(f"{label:>11}" for label in columns.values()))
    for lang, row in answer_table.items():
        cells = ["-" if row[key] is None else f"{row[key]:.2f}" for key in columns]
        typer.echo(f"{lang:<6}" + "".join(f"{c:>11}" for c in cells))


#: Passages of a missed question shown in `--misses`, and characters of each.
MISS_PASSAGES = 3
MISS_CHARS = 120


def _miss(q: EvalQuestion, ranked: list[tuple[str, str]], rank: int | None) -> dict[str, Any]:
    return {
        "id": q.id,
        "lang": q.lang,
        "question": q.question,
        "gold_docs": list(q.gold_docs),
        "evidence": list(q.evidence),
        "rank": rank,
        "found": [
            {"doc_id": doc_id, "text": " ".join(text.split())[:MISS_CHARS]}
            for doc_id, text in ranked[:MISS_PASSAGES]
        ],
    }


def _write_misses(path: Path, missed: list[dict[str, Any]]) -> None:
    """Write `missed` as JSON Lines (called with none first, so that a path that
    cannot be written stops the command before the evaluation, not after it)."""
    from retrieval.errors import CorpusError

    try:
        path.write_text(
            "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in missed), encoding="utf-8"
        )
    except OSError as e:
        raise CorpusError(f"Cannot write the misses to {path}: {e.strerror or e}") from e


def _progress(items: list[EvalQuestion], label: str) -> Iterable[EvalQuestion]:
    """A progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty() or len(items) < 50:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="q", file=sys.stderr, leave=False)


def _score_answers(index: SanadIndex, questions: list[EvalQuestion]) -> dict[str, Any]:
    from retrieval.answer import Answerer
    from retrieval.evaluate import AnswerSample, score_answers

    answerer = Answerer(index)

    def ask(question: str) -> AnswerSample:
        a = answerer.ask(question)
        return AnswerSample(
            a.abstained,
            a.answer,
            [(c.n, c.result.chunk.doc_id, c.text) for c in a.citations],
            [(c.result.chunk.doc_id, quote) for c, quote in a.quoted()],
        )

    scores = score_answers(_progress(questions, "answers"), ask)
    return {lang: s.to_json() for lang, s in scores.items()}
