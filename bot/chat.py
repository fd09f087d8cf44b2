"""`sanad chat`: the bot's conversation in a terminal — questions, /sources, /lang, follow-ups."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.config import BotSettings
from bot.conversation import Conversation, Who
from bot.render import render_answer, render_passages, to_plain
from bot.storage import AnswerRecord
from prompts import text
from retrieval.answer import Answerer
from retrieval.errors import SanadError
from retrieval.index import SanadIndex

__all__ = ["run_chat"]

#: The terminal is one private chat with one user.
_ME = Who(chat_id=0, user_id=0, private=True)
_INVISIBLE = str.maketrans("", "", "\u200e\u200f\u2066\u2067\u2068\u2069")

Read = Callable[[str], str]
Write = Callable[[str], None]


def _plain(markup: str) -> str:
    # Terminals reorder (or not) on their own; isolates would only show as boxes.
    return to_plain(markup).translate(_INVISIBLE)


def run_chat(settings: BotSettings, read: Read = input, write: Write = print) -> None:
    """Answer questions typed at the terminal until /quit or end of input."""
    asyncio.run(_chat(settings, read, write))


async def _chat(settings: BotSettings, read: Read, write: Write) -> None:
    index = SanadIndex(settings, notify=lambda m: write(f"({m})"))
    conversation = Conversation.open(settings, Answerer(index))
    loop = asyncio.get_running_loop()
    write("Sanad — ask in Dari, Arabic or English. /sources, /lang fa|ar|en, /new, /quit")
    try:
        while True:
            try:
                line = (await loop.run_in_executor(None, read, "› ")).strip()
            except (EOFError, KeyboardInterrupt):
                break
            if line in {"/quit", "/exit"}:
                break
            if line:
                write(await _turn(conversation, line))
    finally:
        conversation.close()
        index.close()


async def _turn(conversation: Conversation, line: str) -> str:
    """One line typed: a command or a question; returns what to print."""
    lang = await conversation.language(_ME, None if line.startswith("/") else line)
    command, _, rest = line.partition(" ")
    if command == "/lang":
        ok = await conversation.set_language(_ME, rest)
        return text("lang_set" if ok else "lang_usage", rest if ok else lang)
    if command == "/new":
        await conversation.forget(_ME)
        return text("forgotten", lang)
    if command == "/help":
        return _plain(text("help", lang))
    if command == "/about":
        return _plain(text("about", lang, **await conversation.about(lang)))
    if command == "/sources":
        record = await conversation.last_answer(_ME)
        if record is None:
            return text("no_last_answer", lang)
        only = int(rest) if rest.strip().isdigit() else None
        if only is not None and record.citation(only) is None:
            return text("no_such_source", lang, n=only)
        return _passages(record, lang, only)
    try:
        record = await conversation.ask(_ME, line)
    except SanadError as e:
        return f"{text('search_unavailable', lang)}\n({e})"
    return _plain(render_answer(record, lang))


def _passages(record: AnswerRecord, lang: str, only: int | None) -> str:
    # The quoted span stands out between ‹ › in a terminal, where there is no bold.
    markup = render_passages(record, lang, only).replace("<b>", "‹").replace("</b>", "›")
    return _plain(markup)
