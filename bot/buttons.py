"""The buttons under an answer: all its sources, one source, one source translated.

Callback data is parsed strictly, one pattern per button kind (anything else gets
the "answer gone" alert and nothing more), and a button shows an answer's passages
only in the chat the answer was given in: a forwarded or replayed button from
another chat gets a short alert instead.
"""

from __future__ import annotations

import re

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.context import interface_language, place_of, services
from bot.delivery import send_html, send_passages, typing
from bot.render import escape_text, ui_text
from bot.storage import AnswerRecord

__all__ = ["button_handlers", "citation_data", "sources_data", "translate_data"]

_ID = r"(?P<id>[A-Za-z0-9_-]{11})"  # ChatStore.save_answer's ids
_N = r"(?P<n>[1-9][0-9]{0,2})"
SOURCES = re.compile(rf"^s:{_ID}$")
CITATION = re.compile(rf"^c:{_ID}:{_N}$")
TRANSLATE = re.compile(rf"^t:{_ID}:{_N}$")


def sources_data(record: AnswerRecord) -> str:
    return f"s:{record.id}"


def citation_data(record: AnswerRecord, n: int) -> str:
    return f"c:{record.id}:{n}"


def translate_data(record: AnswerRecord, n: int) -> str:
    return f"t:{record.id}:{n}"


async def _pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[AnswerRecord, Message, str, int | None] | None:
    """The answer a button belongs to and the source number it names (if any), when
    they may be shown here; else an alert and None."""
    query = update.callback_query
    if query is None:
        return None
    lang = await interface_language(update, context)
    found = context.match.groupdict() if context.match is not None else {}
    record_id = found.get("id") or ""
    n = int(found["n"]) if found.get("n") else None
    message = query.message
    if not isinstance(message, Message):  # too old for Telegram to send, or inline
        await query.answer(ui_text("answer_gone", lang), show_alert=True)
        return None
    record = await services(context).conversation.answer_record(record_id, message.chat_id)
    if record is None:
        # Unknown, expired, or given in another chat: the same alert, so that a
        # replayed button says nothing about answers elsewhere.
        await query.answer(ui_text("answer_gone", lang), show_alert=True)
        return None
    if n is not None and record.citation(n) is None:
        await query.answer(ui_text("answer_gone", lang), show_alert=True)
        return None
    await query.answer()
    return record, message, lang, n


async def on_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every cited passage of the answer (or the one a number button names)."""
    pressed = await _pressed(update, context)
    if pressed is not None:
        record, message, lang, n = pressed
        await send_passages(context.bot, place_of(message, quote=True), record, lang, n)


async def on_translate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One cited passage, translated into the interface language (LLM mode)."""
    pressed = await _pressed(update, context)
    if pressed is None:
        return
    record, message, lang, n = pressed
    if n is None:  # the pattern always names a source
        return
    place = place_of(message, quote=True)
    async with typing(context.bot, place):
        translated = await services(context).conversation.translate(record, n, lang)
    await send_html(context.bot, place, escape_text(translated, lang))


async def on_unknown(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Callback data no button of ours makes: answered (never left spinning), no more."""
    query = update.callback_query
    if query is not None:
        lang = await interface_language(update, context)
        await query.answer(ui_text("answer_gone", lang), show_alert=True)


def button_handlers() -> list[CallbackQueryHandler[ContextTypes.DEFAULT_TYPE, None]]:
    """One handler per button kind, then the catch-all; register them in this order."""
    return [
        CallbackQueryHandler(on_sources, pattern=SOURCES),
        CallbackQueryHandler(on_sources, pattern=CITATION),
        CallbackQueryHandler(on_translate, pattern=TRANSLATE),
        CallbackQueryHandler(on_unknown),
    ]
