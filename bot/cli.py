"""The `sanad` command line: ask, chat, run (the bot), ingest, search, eval, doctor, models,
and for chats: threads, summarize, import-history."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from bot.cli_chats import import_history, summarize, threads
from bot.cli_eval import eval_command
from bot.cli_support import (
    ModeOption,
    bot_settings,
    cli_settings,
    err,
    open_index,
    user_errors,
)
from retrieval.errors import ConfigError

if TYPE_CHECKING:
    # Imported where used: `sanad --help` and keyword-only work never pay for
    # what they do not run (pydantic, bm25s, Chroma, LangChain, PyTorch).
    from retrieval.search import SearchResponse

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
                err(f"error: {e.format_message()}{hint}")
                code = e.exit_code
        except typer.Abort:
            err("stopped.")
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
app.command("eval")(eval_command)
app.command()(threads)
app.command()(summarize)
app.command("import-history")(import_history)


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context) -> None:
    """Answers questions over Dari/Persian and Arabic source texts, with citations."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


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
    with user_errors():
        settings = cli_settings()
        report = open_index(settings).ingest(path, rebuild=rebuild, progress=sys.stderr.isatty())
        for warning in report.warnings:
            err(f"warning: {warning}")
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

    with user_errors():
        settings = cli_settings()
        response = search(open_index(settings), query, k=k or settings.top_k, mode=mode)
        for notice in response.notices:
            err(f"note: {notice.render('en')}")
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

    with user_errors():
        settings = cli_settings()
        answer = Answerer(open_index(settings)).ask(question)
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

    with user_errors():
        settings = bot_settings()
        # The model's fallback reason is part of the report: say it there, once.
        index = SanadIndex(settings, notify=lambda _message: None)
        doctor_report(settings, index, typer.echo)


@models_app.command("pull")
def models_pull() -> None:
    """Download the configured embedding model now, for later offline use."""
    from retrieval.embeddings import pull_model

    with user_errors():
        settings = cli_settings()
        typer.echo(f"model {settings.embedding_model} is at {pull_model(settings)}")


@app.command()
def run() -> None:
    """Start the Telegram bot (long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set)."""
    import asyncio

    from telegram.error import InvalidToken, NetworkError

    from bot.application import build_application, serve

    with user_errors():
        settings = bot_settings()
        app_ = build_application(settings)
        try:
            asyncio.run(serve(app_, settings))
        except InvalidToken:
            err(
                f"error: {settings.telegram_api_base_url} refused the bot token: check "
                "TELEGRAM_BOT_TOKEN (BotFather's /token shows it) and TELEGRAM_API_BASE_URL."
            )
            raise typer.Exit(2) from None
        except NetworkError as e:
            err(
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

    with user_errors():
        settings = cli_settings()
        url = to or (settings.database_url.get_secret_value() if settings.database_url else None)
        if url is None:
            raise ConfigError(
                "say where to: sanad migrate --to postgresql://user:password@host:port/db "
                "(or set SANAD_DATABASE_URL)"
            )
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"--to must be a postgresql:// URL, not {redact_url(url)}")
        report = migrate_to_postgresql(
            settings.data_dir, url, progress=lambda table: err(f"copying {table}…")
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
    with user_errors():
        run_chat(bot_settings(), width=width)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    run: Callable[..., Any] = app
    return run(args=argv, prog_name="sanad")


if __name__ == "__main__":  # pragma: no cover
    main()
