"""`sanad chat`: the bot's conversation in a terminal — questions, /sources, /lang, follow-ups.

The prompt is read on the main thread, so Ctrl-C at the prompt leaves at once (and
Ctrl-C during an answer returns to the prompt); each turn runs on one event loop.
Everything printed is in the user's interface language: their /lang, else the
terminal's locale when it is Dari/Persian or Arabic, else the language they ask in.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import textwrap
from collections.abc import Callable

from bot.config import BotSettings
from bot.conversation import Conversation, Who, chosen_passage
from bot.render import render_answer, render_passages, to_terminal
from bot.storage import AnswerRecord
from prompts import text
from retrieval.answer import Answerer
from retrieval.errors import SanadError
from retrieval.index import SanadIndex
from retrieval.notices import Notice

__all__ = ["run_chat"]

_LINK_LINE = re.compile(r'\n<a href="([^"]+)">[^<]*</a>')

Read = Callable[[str], str]
Write = Callable[[str], None]


def _me() -> Who:
    """The terminal is one private chat with one user, who speaks the locale's language."""
    locale = next(
        (os.environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(v)), ""
    )
    code = locale.split(".")[0].split("_")[0].lower()
    return Who(chat_id=0, user_id=0, private=True, client_lang=code or None)


def wrap(message: str, width: int | None) -> str:
    """Wrap at spaces to `width` columns (never inside a word); None leaves lines whole."""
    if width is None or width < 20:
        return message
    return "\n".join(
        textwrap.fill(line, width, break_long_words=False, break_on_hyphens=False) or line
        for line in message.split("\n")
    )


def run_chat(
    settings: BotSettings, read: Read = input, write: Write = print, width: int | None = None
) -> None:
    """Answer questions typed at the terminal until /quit, Ctrl-C or end of input."""
    me = _me()
    lang = "en"  # until the conversation says otherwise: notices print in it

    def notify(notice: Notice) -> None:
        write(wrap(f"({notice.render(lang)})", width))

    index = SanadIndex(settings, notify=notify)
    conversation = Conversation.open(settings, Answerer(index))
    try:
        with asyncio.Runner() as runner:
            lang = runner.run(conversation.language(me))
            write(wrap(to_terminal(text("chat_banner", lang)), width))
            while True:
                try:
                    line = read("› ").strip()
                except (EOFError, KeyboardInterrupt):
                    write("")  # end the prompt's line: the shell's prompt starts on its own
                    break
                if line in {"/quit", "/exit"}:
                    break
                if not line:
                    continue
                question = None if line.startswith("/") else line
                lang = runner.run(conversation.language(me, question))
                try:
                    reply = runner.run(_turn(conversation, me, line, lang))
                except KeyboardInterrupt:
                    reply = text("chat_interrupted", lang)
                write(wrap(reply, width))
    finally:
        conversation.close()
        index.close()


async def _turn(conversation: Conversation, me: Who, line: str, lang: str) -> str:
    """One line typed, a command or a question, answered in `lang`: what to print."""
    if not line.startswith("/"):
        try:
            record = await conversation.ask(me, line)
        except SanadError as e:
            return f"{text('search_unavailable', lang)}\n({e})"
        return to_terminal(render_answer(record, lang))
    command, _, rest = line.partition(" ")
    rest = rest.strip()
    if command == "/lang":
        ok = await conversation.set_language(me, rest)
        return to_terminal(text("lang_set", rest) if ok else text("lang_usage", lang))
    if command == "/new":
        await conversation.forget(me)
        return to_terminal(text("forgotten", lang))
    if command == "/help":
        return to_terminal(text("chat_help", lang))
    if command == "/about":
        return to_terminal(text("about", lang, **await conversation.about(lang)))
    if command == "/sources":
        return await _sources(conversation, me, lang, rest)
    return to_terminal(text("chat_unknown_command", lang, command=command))


async def _sources(conversation: Conversation, me: Who, lang: str, rest: str) -> str:
    record = await conversation.last_answer(me)
    if record is None:
        return to_terminal(text("no_last_answer", lang))
    only, refusal = chosen_passage(record, rest)
    if refusal is not None:
        key, values = refusal
        return to_terminal(text(key, lang, **values))
    return _passages(record, lang, only)


def _passages(record: AnswerRecord, lang: str, only: int | None) -> str:
    # The quoted span stands out between ‹ › in a terminal, where there is no bold.
    markup = render_passages(record, lang, only).replace("<b>", "‹").replace("</b>", "›")
    # The "open the source" link: the address itself, which a terminal can open.
    markup = _LINK_LINE.sub(lambda m: "\n" + html.unescape(m[1]), markup)
    head = text("sources_of", lang, question=record.question)
    return to_terminal(f"{head}\n\n{markup}")
