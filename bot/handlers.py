"""Telegram handlers: each a small `async def` that turns an update into a reply.

The conversation logic lives in `bot.conversation`; rendering in `bot.render`;
getting messages out (splitting, retries, fallbacks) in `bot.delivery`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.buttons import citation_data, sources_data, translate_data
from bot.context import Services, interface_language, place_of, services, who_of
from bot.conversation import chosen_passage
from bot.delivery import DraftStreamer, send_html, send_passages, typing
from bot.render import render_answer, ui_html, ui_text
from bot.storage import AnswerRecord
from bot.uploads import ingest_upload
from retrieval.clean import has_words
from retrieval.errors import SanadError

__all__ = ["Services", "say", "services"]

log = logging.getLogger(__name__)


async def say(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, **values: object
) -> None:
    message = update.effective_message
    if message is None:
        return
    lang = await interface_language(update, context, message.text)
    private = message.chat.type == ChatType.PRIVATE
    await send_html(context.bot, place_of(message, quote=not private), ui_html(key, lang, **values))


async def _refuse(
    update: Update, context: ContextTypes.DEFAULT_TYPE, key: str, **values: object
) -> None:
    """Say why a question is refused, at most once per user per window (`RefusalNotices`)."""
    if services(context).refusals.may_tell(who_of(update).user_id):
        await say(update, context, key, **values)


def addressed_text(message: Message, bot_id: int, username: str) -> str | None:
    """The question in `message` if it is meant for the bot, else None.

    In private chats every text is; in groups only a reply to the bot or a
    message that mentions it (the mention is taken out).
    """
    text = message.text or ""
    if message.chat.type == ChatType.PRIVATE:
        return text
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    mentions = message.parse_entities([MessageEntity.MENTION])
    wanted = f"@{username}".lower()
    for entity, value in mentions.items():
        if value.lower() == wanted:
            return (text[: entity.offset] + text[entity.offset + entity.length :]).strip()
    return None


def _is_for_bot(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    if update.callback_query is not None:
        return True
    message = update.message  # edits and channel posts are never answered
    if message is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    text = message.text or ""
    if text.startswith("/"):  # a command, unless it names another bot: /cmd@OtherBot
        _, _, target = text.split(maxsplit=1)[0].partition("@")
        return not target or target.lower() == context.bot.username.lower()
    return addressed_text(message, context.bot.id, context.bot.username) is not None


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse users and chats outside the allowlists, before any other handler runs."""
    s = services(context)
    s.metrics.updates.inc()
    user, chat = update.effective_user, update.effective_chat
    if s.settings.may_use(user.id if user else None, chat.id if chat else None):
        return
    if _is_for_bot(update, context):
        lang = await interface_language(update, context)
        if update.callback_query is not None:
            await update.callback_query.answer(ui_text("not_allowed", lang), show_alert=True)
        else:
            await say(update, context, "not_allowed")
    raise ApplicationHandlerStop


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user and say what Sanad does."""
    await say(update, context, "start")


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain questions, citations, buttons and commands."""
    await say(update, context, "help")


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Describe the corpus and how answers are made."""
    lang = await interface_language(update, context)
    await say(update, context, "about", **await services(context).conversation.about(lang))


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Set the interface language: /lang fa|ar|en."""
    chosen = (context.args or [""])[0]
    if await services(context).conversation.set_language(who_of(update), chosen):
        await say(update, context, "lang_set")
    else:
        await say(update, context, "lang_usage")


async def new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forget this conversation's turns."""
    await services(context).conversation.forget(who_of(update))
    await say(update, context, "forgotten")


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show every passage the last answer cited, or only passage N: /sources N."""
    record = await services(context).conversation.last_answer(who_of(update))
    if record is None:
        await say(update, context, "no_last_answer")
        return
    message = update.effective_message
    assert message is not None
    only, refusal = chosen_passage(record, " ".join(context.args or []))
    if refusal is not None:
        key, values = refusal
        await say(update, context, key, **values)
        return
    private = message.chat.type == ChatType.PRIVATE
    lang = await interface_language(update, context)
    await send_passages(context.bot, place_of(message, quote=not private), record, lang, only)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the question after /ask (the way to ask in groups)."""
    question = " ".join(context.args or [])
    if not question.strip():
        await say(update, context, "ask_usage")
        return
    await answer_question(update, context, question)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A text: in private chats a question; in groups only when meant for the bot."""
    message = update.effective_message
    assert message is not None
    question = addressed_text(message, context.bot.id, context.bot.username)
    if question is None:
        return  # group chatter not meant for us
    await answer_question(update, context, question)


async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice…: say that Sanad reads text only."""
    await say(update, context, "text_only")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's .txt/.md/.html joins the corpus; anyone else is told who may."""
    s = services(context)
    who = who_of(update)
    if not s.settings.is_admin(who.user_id):
        await say(update, context, "upload_admin_only")
        return
    message = update.effective_message
    assert message is not None
    assert message.document is not None
    async with typing(context.bot, place_of(message, quote=False)):
        key, values = await ingest_upload(s, context.bot, message.document)
    await say(update, context, key, **values)


def _keyboard(record: AnswerRecord, lang: str, can_translate: bool) -> InlineKeyboardMarkup | None:
    if not record.citations:
        return None
    rows = [
        [InlineKeyboardButton(ui_text("sources_button", lang), callback_data=sources_data(record))]
    ]
    numbers = [
        InlineKeyboardButton(f"[{c.n}]", callback_data=citation_data(record, c.n))
        for c in record.citations
    ]
    rows += [numbers[i : i + 6] for i in range(0, len(numbers), 6)]
    if can_translate:
        rows += [
            [
                InlineKeyboardButton(
                    ui_text("translate_button", lang, n=c.n),
                    callback_data=translate_data(record, c.n),
                )
            ]
            for c in record.citations
            if c.lang != lang
        ]
    return InlineKeyboardMarkup(rows)


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Rate-limit, answer (streaming a draft in LLM mode), and send the verified answer."""
    s = services(context)
    message = update.effective_message
    assert message is not None
    who = who_of(update)
    lang = await s.conversation.language(who, question)
    if not has_words(question):  # also invisible marks or emoji alone
        await say(update, context, "empty_question")
        return
    if not await asyncio.to_thread(s.in_flight.begin, who.user_id):
        await _refuse(update, context, "busy")
        return
    try:
        wait = await asyncio.to_thread(s.rate.wait_seconds, who.user_id)
        if wait:
            await _refuse(update, context, "rate_limited", seconds=wait)
            return
        place = place_of(message, quote=not who.private)
        llm = s.conversation.answerer.llm is not None
        streamer = (
            DraftStreamer(
                context.bot, place, private=who.private, draft_id=secrets.randbits(31) + 1
            )
            if llm
            else None
        )
        started = time.perf_counter()
        try:
            async with typing(context.bot, place):
                record = await s.conversation.ask(
                    who, question, on_draft=streamer.on_draft if streamer else None
                )
        except SanadError as e:
            log.warning("could not answer: %s", e)
            if streamer is None:
                await say(update, context, "search_unavailable")
            else:
                await streamer.finish(ui_html("search_unavailable", lang), None)
            return
        except Exception:
            if streamer is not None:
                await streamer.discard()  # never leave an unverified draft behind
            raise
        s.metrics.answered(declined=record.abstained, seconds=time.perf_counter() - started)
        markup = render_answer(record, lang)
        keyboard = _keyboard(record, lang, llm)
        if streamer is not None:
            await streamer.finish(markup, keyboard)
        else:
            await send_html(context.bot, place, markup, keyboard)
    finally:
        await asyncio.to_thread(s.in_flight.end, who.user_id)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with its traceback and tell the user briefly."""
    log.error("Error while handling an update", exc_info=context.error)
    services(context).metrics.errors.inc()
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await say(update, context, "sorry")
        except Exception:
            log.exception("Could not tell the user about the error")
