"""`sanad threads`, `sanad summarize` and `sanad import-history`: chats from the terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from bot.cli_support import bot_settings, err, llm_of, user_errors

__all__ = ["import_history", "summarize", "threads"]


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
        err(f"error: {file}: {e}")
        raise typer.Exit(2) from None
    conversations = separate(messages)
    for message_id in report:
        typer.echo(json.dumps({"id": message_id, "conv": conversations[message_id]}))


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

    with user_errors():
        settings = bot_settings()
        chosen = parse_window([] if window == "all" else [window])
        if chosen is None or chosen.from_id is not None:
            err("error: --window takes 2h, 24h, 3d, a count like 200, or all")
            raise typer.Exit(2)
        found = _read_export(export, read_export)
        messages = in_window(found.messages, chosen, settings.summary_max_messages)
        if not messages:
            typer.echo(to_terminal(_ui("summary_empty", lang)))
            return
        llm = llm_of(settings)
        made = summarize_chat(chat_messages(messages), llm)
        typer.echo(to_terminal(render_summary(made, messages, lang, lambda _m: None)))


def import_history(
    export: Annotated[Path, typer.Argument(help="A Telegram Desktop chat export (result.json).")],
    chat: Annotated[int, typer.Option("--chat", help="The chat's Bot API id, e.g. -100123….")],
) -> None:
    """Fill a chat's summary log from its export (the chat must have /summaries on)."""
    from bot.chatlog import MessageLog
    from bot.export import read_export
    from bot.storage import ChatStore

    with user_errors():
        settings = bot_settings()
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
                err(
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
        err(f"error: {path}: {e}; nothing was changed")
        raise typer.Exit(2) from None


def _ui(key: str, lang: str, **values: object) -> str:
    from bot.render import ui_html

    return ui_html(key, lang, **values)
