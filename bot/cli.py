"""The `sanad` command line: ask, chat, run (the bot), ingest, search, eval, doctor, models,
and for chats: threads, summarize, import-history."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from typer.core import TyperGroup

from retrieval.errors import ConfigError, QueryError, SanadError

if TYPE_CHECKING:
    # Imported where used: `sanad --help` and keyword-only work never pay for
    # what they do not run (pydantic, bm25s, Chroma, LangChain, PyTorch).
    from bot.config import BotSettings
    from retrieval.config import Settings
    from retrieval.evaluate import EvalQuestion
    from retrieval.index import SanadIndex
    from retrieval.search import Mode, SearchResponse

__all__ = ["app", "main"]


class _OneLineErrors(TyperGroup):
    """Usage errors as one line on stderr (exit 2), as every other error; plain help."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as e:  # Click's errors: usage, bad parameter, …
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError":
                typer.echo(e.format_message())  # a group given no command: its help
                code = 0
            else:
                hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
                _err(f"error: {e.format_message()}{hint}")
                code = e.exit_code
        except typer.Abort:
            _err("stopped.")
            code = 130
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="sanad",
    cls=_OneLineErrors,
    help="Answers questions over Dari/Persian and Arabic source texts, with citations.",
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: Rich's markup would eat the "[n]" of "/sources [n]".
    rich_markup_mode=None,
)
models_app = typer.Typer(
    help="Manage the embedding model.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(models_app, name="models")

ModeOption = Annotated[
    Literal["hybrid", "lexical", "dense"] | None,
    typer.Option("--mode", help="Force one retriever (default: hybrid when a model loads)."),
]


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """Answers questions over Dari/Persian and Arabic source texts, with citations."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _err(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn Sanad's errors into one line on stderr and an exit code; no tracebacks."""
    try:
        yield
    except (ConfigError, QueryError) as e:
        _err(f"error: {e}")
        raise typer.Exit(2) from None
    except SanadError as e:
        _err(f"error: {e}")
        raise typer.Exit(1) from None


def _settings() -> Settings:
    from bot.logs import configure_logging, secrets_of
    from retrieval.config import load_settings

    settings = load_settings()
    configure_logging(settings.log_level, secrets_of(settings))
    return settings


def _index(settings: Settings) -> SanadIndex:
    from retrieval.index import SanadIndex

    return SanadIndex(settings, notify=lambda notice: _err(notice.render("en")))


@app.command()
def ingest(
    path: Annotated[
        Path | None,
        typer.Argument(help="Folder (the whole corpus) or one file; default: SANAD_CORPUS_DIR."),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Drop the index and build it anew.")
    ] = False,
) -> None:
    """Index a folder of .txt/.md/.html source texts (incrementally)."""
    with _user_errors():
        settings = _settings()
        report = _index(settings).ingest(path, rebuild=rebuild, progress=sys.stderr.isatty())
        for warning in report.warnings:
            _err(f"warning: {warning}")
        for label, ids in (
            ("added", report.added),
            ("updated", report.updated),
            ("removed", report.removed),
        ):
            for doc_id in ids:
                typer.echo(f"{label:>9}  {doc_id}")
        typer.echo(report.summary())


@app.command("search")
def search_command(
    query: Annotated[str, typer.Argument(help="The question, in Dari, Arabic or English.")],
    k: Annotated[
        int | None, typer.Option("-k", min=1, max=100, help="How many passages [SANAD_TOP_K].")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    mode: ModeOption = None,
) -> None:
    """Find the passages that best answer a question."""
    from retrieval.search import search

    with _user_errors():
        settings = _settings()
        response = search(_index(settings), query, k=k or settings.top_k, mode=mode)
        for notice in response.notices:
            _err(f"note: {notice.render('en')}")
        if as_json:
            typer.echo(json.dumps(response.to_json(), ensure_ascii=False, indent=2))
        else:
            _print_results(response)


def _print_results(response: SearchResponse) -> None:
    typer.echo(
        f"{response.mode} search · language {response.language} · "
        f"{response.timings_ms['total']:.0f} ms"
    )
    if not response.results:
        typer.echo("No passage matches.")
    for r in response.results:
        title = r.document.title
        typer.echo(
            f"\n[{r.rank}] {title} ({r.chunk.doc_id}, {r.chunk.lang}, "
            f"chars {r.chunk.start}-{r.chunk.end})"
        )
        text = " ".join(r.chunk.text.split())
        typer.echo("    " + (text if len(text) <= 400 else text[:399] + "…"))


@app.command("eval")
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
) -> None:
    """Score retrieval (R@1, R@k, MRR@10) and, with --answers, answers, per language."""
    from bot.logs import configure_logging, secrets_of
    from retrieval.config import load_settings
    from retrieval.evalset import open_eval_set
    from retrieval.evaluate import score_retrieval
    from retrieval.search import search

    with _user_errors(), tempfile.TemporaryDirectory(prefix="sanad-eval-") as scratch:
        work = index_dir or Path(scratch)
        evalset = open_eval_set(paths, work)
        if evalset.corpus_dir is not None:
            settings = load_settings(data_dir=work / "data", corpus_dir=evalset.corpus_dir)
            configure_logging(settings.log_level, secrets_of(settings))
            _err(f"corpus: {evalset.documents} documents from {len(paths)} source(s) in {work}")
        else:
            settings = _settings()
        index = _index(settings)
        if evalset.corpus_dir is not None:
            index.ingest(progress=sys.stderr.isatty())
        questions = evalset.questions
        used: list[Mode] = []

        def retrieve(question: str) -> list[tuple[str, str]]:
            response = search(index, question, k=10, mode=mode)
            used.append(response.mode)
            return [(r.chunk.doc_id, r.chunk.text) for r in response.results]

        scores = score_retrieval(_progress(questions, "search"), retrieve, k=k)
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


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Dari, Arabic or English.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Answer a question from the sources, with numbered citations."""
    from bot.render import source_list, to_terminal
    from bot.storage import AnswerRecord
    from prompts import ui_language
    from retrieval.answer import Answerer

    with _user_errors():
        settings = _settings()
        answer = Answerer(_index(settings)).ask(question)
        if as_json:
            typer.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
            return
        typer.echo(answer.answer)
        for note in answer.notes:
            typer.echo(f"({note})")
        if answer.citations:
            typer.echo("")
            record = AnswerRecord.from_answer(answer)
            typer.echo(to_terminal(source_list(record, ui_language(answer.language))))


@app.command()
def doctor() -> None:
    """Show everything in effect (secrets hidden), what is reachable and what is indexed."""
    from bot.doctor import doctor_report
    from retrieval.index import SanadIndex

    with _user_errors():
        settings = _bot_settings()
        # The model's fallback reason is part of the report: say it there, once.
        index = SanadIndex(settings, notify=lambda _message: None)
        doctor_report(settings, index, typer.echo)


@models_app.command("pull")
def models_pull() -> None:
    """Download the configured embedding model now, for later offline use."""
    from retrieval.embeddings import pull_model

    with _user_errors():
        settings = _settings()
        typer.echo(f"model {settings.embedding_model} is at {pull_model(settings)}")


@app.command()
def threads(
    file: Annotated[Path, typer.Argument(help="Chat messages, one JSON object a line.")],
) -> None:
    """Separate a chat's interleaved conversations: one {"id", "conv"} line per message.

    Each line of FILE holds id, time ("HH:MM" or null), author, text, and optionally
    type and reply_to_message; lines with "context": true are read but not printed.
    """
    from retrieval.threads import read_chat_lines, separate

    try:
        messages, report = read_chat_lines(file.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        _err(f"error: {file}: {e}")
        raise typer.Exit(2) from None
    conversations = separate(messages)
    for message_id in report:
        typer.echo(json.dumps({"id": message_id, "conv": conversations[message_id]}))


@app.command()
def summarize(
    export: Annotated[Path, typer.Argument(help="A Telegram Desktop chat export (result.json).")],
    window: Annotated[
        str, typer.Option("--window", help="2h, 24h, 3d, a count like 200, or all.")
    ] = "24h",
    lang: Annotated[
        Literal["fa", "ar", "en"], typer.Option("--lang", help="Language of the summary's frame.")
    ] = "en",
) -> None:
    """Summarize a chat export in the terminal: a bullet per topic, with message ids.

    The window counts back from the export's last message; an LLM writes the bullets
    (each checked against its messages) when SANAD_LLM_MODEL is set.
    """
    from bot.export import read_export
    from bot.render import to_terminal
    from bot.summaries import chat_messages, in_window, parse_window, render_summary
    from retrieval.summaries import summarize as summarize_chat

    with _user_errors():
        settings = _bot_settings()
        chosen = parse_window([] if window == "all" else [window])
        if chosen is None or chosen.from_id is not None:
            _err("error: --window takes 2h, 24h, 3d, a count like 200, or all")
            raise typer.Exit(2)
        found = _read_export(export, read_export)
        messages = in_window(found.messages, chosen, settings.summary_max_messages)
        if not messages:
            typer.echo(to_terminal(_ui("summary_empty", lang)))
            return
        llm = _llm(settings)
        made = summarize_chat(chat_messages(messages), llm)
        typer.echo(to_terminal(render_summary(made, messages, lang, lambda _m: None)))


@app.command("import-history")
def import_history(
    export: Annotated[Path, typer.Argument(help="A Telegram Desktop chat export (result.json).")],
    chat: Annotated[int, typer.Option("--chat", help="The chat's Bot API id, e.g. -100123….")],
) -> None:
    """Fill a chat's summary log from its export (the chat must have /summaries on)."""
    from bot.chatlog import MessageLog
    from bot.export import read_export
    from bot.storage import ChatStore

    with _user_errors():
        settings = _bot_settings()
        found = _read_export(export, read_export)
        store = ChatStore.open(settings)
        log = MessageLog(
            store,
            days=settings.summary_log_days,
            per_chat=settings.summary_log_max,
            tag=settings.nosummary_tag,
        )
        try:
            if not log.settings(chat).logging:
                _err(
                    f"error: chat {chat} does not log messages: an admin must send "
                    "/summaries on there first."
                )
                raise typer.Exit(2)
            moved = [replace(m, chat_id=chat) for m in found.messages]
            added = log.import_messages(moved)
        finally:
            log.close()
            store.close()
        typer.echo(f"added {added} of {len(moved)} messages to the log of chat {chat}")


def _read_export(path: Path, read: Callable[[bytes], Any]) -> Any:
    try:
        return read(path.read_bytes())
    except (OSError, ValueError) as e:
        _err(f"error: {path}: {e}; nothing was changed")
        raise typer.Exit(2) from None


def _ui(key: str, lang: str, **values: object) -> str:
    from bot.render import ui_html

    return ui_html(key, lang, **values)


def _llm(settings: Settings) -> Any:
    if not settings.llm_enabled:
        return None
    from retrieval.llm import ChatLLM

    return ChatLLM(settings)


@app.command()
def run() -> None:
    """Start the Telegram bot (long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set)."""
    import asyncio

    from telegram.error import InvalidToken, NetworkError

    from bot.application import build_application, serve

    with _user_errors():
        settings = _bot_settings()
        app_ = build_application(settings)
        try:
            asyncio.run(serve(app_, settings))
        except InvalidToken:
            _err(
                f"error: {settings.telegram_api_base_url} refused the bot token: check "
                "TELEGRAM_BOT_TOKEN (BotFather's /token shows it) and TELEGRAM_API_BASE_URL."
            )
            raise typer.Exit(2) from None
        except NetworkError as e:
            _err(
                f"error: cannot reach the Bot API at {settings.telegram_api_base_url} ({e}): "
                "check the network or TELEGRAM_API_BASE_URL."
            )
            raise typer.Exit(1) from None


@app.command()
def migrate(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="postgresql://user:password@host:port/database (default: SANAD_DATABASE_URL).",
        ),
    ] = None,
) -> None:
    """Move the data dir's SQLite state (catalogue, answers, memory, inbox, message log)
    into PostgreSQL; the SQLite files stay as they are, as a backup."""
    from bot.migrate import migrate_to_postgresql
    from retrieval.database import redact_url

    with _user_errors():
        settings = _settings()
        url = to or (settings.database_url.get_secret_value() if settings.database_url else None)
        if url is None:
            raise ConfigError(
                "say where to: sanad migrate --to postgresql://user:password@host:port/db "
                "(or set SANAD_DATABASE_URL)"
            )
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"--to must be a postgresql:// URL, not {redact_url(url)}")
        report = migrate_to_postgresql(
            settings.data_dir, url, progress=lambda table: _err(f"copying {table}…")
        )
        print(f"{report.summary()} into {redact_url(url)}")
        print("now set SANAD_DATABASE_URL to it and restart the bot")


@app.command()
def chat() -> None:
    """Talk to Sanad in the terminal: questions, /sources [n], /lang fa|ar|en, /new, /about,
    /help, /quit."""
    import shutil

    from bot.chat import run_chat

    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    with _user_errors():
        run_chat(_bot_settings(), width=width)


def _bot_settings() -> BotSettings:
    from bot.config import load_bot_settings
    from bot.logs import configure_logging, secrets_of

    settings = load_bot_settings()
    configure_logging(settings.log_level, secrets_of(settings))
    return settings


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    run: Callable[..., Any] = app
    return run(args=argv, prog_name="sanad")


if __name__ == "__main__":  # pragma: no cover
    main()
