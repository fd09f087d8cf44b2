"""Telegram handlers for group and channel summaries.

- `/digest …` is for the chat's admins (the log itself: `bot.chatlog_handlers`);
- `/summary [window]` in a group or channel, `/summary @channel [window]` in private;
- `/forgetme` anywhere; a Telegram Desktop export (`.json`) sent in private fills a log;
- a button under a summary shows one bullet's messages.

The summarizing itself is `bot.summaries` over `retrieval.summaries`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, ContextTypes, JobQueue

from bot.chatlog import ChatSummarySettings, LoggedMessage, SummaryRecord
from bot.chatlog_handlers import admin_chat, is_chat_admin
from bot.context import Services, interface_language, place_of, services, who_of
from bot.delivery import Place, send_html, typing
from bot.export import read_export
from bot.handlers import say
from bot.render import ui_html, ui_text
from bot.replicas import leads
from bot.summaries import (
    ClockOf,
    LinkOf,
    Window,
    chat_messages,
    message_link,
    parse_window,
    render_messages,
    render_summary,
)
from retrieval.summaries import ChatSummary, summarize

__all__ = [
    "DIGEST_JOB",
    "SUMMARY_BUTTON",
    "digest",
    "import_history",
    "schedule_digests",
    "show_bullet",
    "summary",
    "summary_buttons",
]

log = logging.getLogger(__name__)

SUMMARY_BUTTON = re.compile(r"^g:(?P<id>[A-Za-z0-9_-]{11}):(?P<n>[1-9][0-9]?)$")
DIGEST_JOB = "digest:{chat_id}"
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
#: Largest export the Bot API lets a bot download.
MAX_EXPORT_BYTES = 20_000_000


# -- summaries --------------------------------------------------------------------------------


def _link_of(settings: ChatSummarySettings) -> LinkOf:
    def link(m: LoggedMessage) -> str | None:
        return message_link(m.chat_id, m.message_id, settings.username, m.thread_id)

    return link


def _clock(tz: str) -> ClockOf:
    zone = ZoneInfo(tz)

    def when(ts: float) -> str:
        return datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M %Z")

    return when


async def _channel(
    update: Update, context: ContextTypes.DEFAULT_TYPE, target: str
) -> ChatSummarySettings | None:
    """The channel (or group) `/summary @name` names, if it logs and the caller is its admin."""
    s = services(context)
    if target.startswith("@"):
        found = await s.log.io(s.log.chat_named, target)
    else:
        found = await s.log.io(s.log.settings, int(target))
    if found is None or not found.logging:
        await say(update, context, "channel_unknown", channel=target)
        return None
    if not await is_chat_admin(update, context, found.chat_id):
        await say(update, context, "channel_admin_only", channel=target)
        return None
    return found


def _own_link(window: Window, chat: ChatSummarySettings) -> bool:
    if window.link_chat is None:
        return True
    if window.link_chat.startswith("@"):
        return chat.username is not None and window.link_chat == "@" + chat.username.lower()
    return str(chat.chat_id) == f"-100{window.link_chat}"


async def summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/summary [window]`: what this chat (or topic) said; `/summary @channel [window]`
    in private, for the channel's admins."""
    s = services(context)
    message = update.effective_message
    assert message is not None
    args = list(context.args or [])
    private = message.chat.type == ChatType.PRIVATE
    if private:
        if not args or not re.match(r"^(@\w{4,}|-\d+)$", args[0]):
            await say(update, context, "groups_only")
            return
        source = await _channel(update, context, args.pop(0))
        if source is None:
            return
    else:
        source = await s.log.io(s.log.settings, message.chat_id)
        if not source.logging:
            await say(update, context, "summaries_not_on")
            return
    window = parse_window(args)
    if window is None:
        await say(update, context, "summary_usage")
        return
    if not _own_link(window, source):
        await say(update, context, "summary_other_chat")
        return
    who = who_of(update)
    wait = await s.log.io(s.summary_limits.wait_seconds, who.user_id, source.chat_id)
    if wait:
        await say(update, context, "summary_rate_limited", seconds=wait)
        return
    in_topic = message.is_topic_message and not window.whole_group and not private
    since = await _since(
        s, window, source.chat_id, who.user_id, message.message_id, private=private
    )
    messages, cut = await s.log.io(
        s.log.window,
        source.chat_id,
        cap=s.settings.summary_max_messages,
        since=since,
        from_id=window.from_id,
        last=window.last,
        thread_id=message.message_thread_id if in_topic else None,
    )
    if not messages:
        await say(update, context, "summary_empty")
        return
    lang = await interface_language(update, context)
    place = place_of(message, quote=not private)
    async with typing(context.bot, place):
        made = await _summarize(s, messages)
    note = ui_html("summary_capped", lang, count=len(messages)) if cut else None
    await post_summary(context, place, s, source, made, messages, lang, note=note)


async def _since(
    s: Services, window: Window, chat_id: int, user_id: int, before: int, *, private: bool
) -> float | None:
    now = time.time()
    if window.hours is not None:
        return now - window.hours * 3600
    if window.last is not None or window.from_id is not None:
        return None
    since = now - 24 * 3600  # the default: since the caller's last message, at most 24 h
    if not private:
        last = await s.log.io(s.log.last_from, chat_id, user_id, before)
        if last is not None:
            since = max(since, last.date)
    return since


async def _summarize(s: Services, messages: list[LoggedMessage]) -> ChatSummary:
    loop = asyncio.get_running_loop()
    answerer = s.conversation.answerer
    embedder = answerer.index.embedder  # loaded at start; None when keyword-only
    embed = embedder.embed_documents if embedder is not None else None
    return await loop.run_in_executor(
        s.conversation.executor, summarize, chat_messages(messages), answerer.llm, embed
    )


async def post_summary(  # noqa: PLR0917 (one call site each in /summary and the digest)
    context: ContextTypes.DEFAULT_TYPE,
    place: Place,
    s: Services,
    source: ChatSummarySettings,
    made: ChatSummary,
    messages: list[LoggedMessage],
    lang: str,
    *,
    note: str | None = None,
    header: str | None = None,
) -> None:
    """Send a summary with a button per bullet, and keep what the buttons need."""
    markup = render_summary(made, messages, lang, _link_of(source))
    markup = "\n\n".join(p for p in (header, markup, note) if p)
    keyboard = None
    if made.topics:
        record = await s.log.io(
            s.log.save_summary,
            place.chat_id,
            source.chat_id,
            lang,
            [list(t.message_ids) for t in made.topics],
        )
        buttons = [
            InlineKeyboardButton(
                ui_text("summary_button", lang, n=n), callback_data=f"g:{record.id}:{n}"
            )
            for n in range(1, len(made.topics) + 1)
        ]
        keyboard = InlineKeyboardMarkup([buttons[i : i + 4] for i in range(0, len(buttons), 4)])
    await send_html(context.bot, place, markup, keyboard)


async def show_bullet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A summary's button: the messages of bullet n, in the chat the summary was posted in."""
    query = update.callback_query
    assert query is not None
    s = services(context)
    lang = await interface_language(update, context)
    found = context.match.groupdict() if context.match is not None else {}
    message = query.message
    record: SummaryRecord | None = None
    if isinstance(message, Message):  # else too old for Telegram to send, or inline
        record = await s.log.io(s.log.summary, found.get("id", ""), message.chat_id)
    n = int(found.get("n") or 0)
    if record is None or not isinstance(message, Message) or n > len(record.bullets):
        await query.answer(ui_text("answer_gone", lang), show_alert=True)
        return
    await query.answer()
    ids = record.bullets[n - 1]
    source = await s.log.io(s.log.settings, record.source)
    shown = await s.log.io(s.log.messages, record.source, ids[:50])
    markup = render_messages(shown, len(ids), lang, _link_of(source), _clock(source.tz))
    await send_html(context.bot, place_of(message, quote=True), markup)


def summary_buttons() -> list[CallbackQueryHandler[ContextTypes.DEFAULT_TYPE, None]]:
    return [CallbackQueryHandler(show_bullet, pattern=SUMMARY_BUTTON)]


# -- the daily digest --------------------------------------------------------------------------


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/digest HH:MM`, `/digest tz Asia/Kabul`, `/digest off` (chat admins)."""
    args = [a.strip() for a in context.args or []]
    valid = (len(args) == 1 and (args[0].lower() == "off" or _HHMM.match(args[0]))) or (
        len(args) == 2 and args[0].lower() == "tz"
    )
    if not valid:
        await say(update, context, "digest_usage")
        return
    chat = await admin_chat(update, context)
    if chat is None:
        return
    s = services(context)
    if args[0].lower() == "tz":
        try:
            ZoneInfo(args[1])
        except (ZoneInfoNotFoundError, ValueError):
            await say(update, context, "digest_usage")
            return
        settings = await s.log.io(s.log.update_settings, chat.id, tz=args[1])
        key, values = "digest_tz_set", {"tz": settings.tz}
    elif args[0].lower() == "off":
        settings = await s.log.io(s.log.update_settings, chat.id, digest=None)
        key, values = "digest_off", {}
    else:
        hours, minutes = _HHMM.match(args[0]).groups()  # type: ignore[union-attr]
        when = f"{int(hours):02d}:{minutes}"
        lang = await interface_language(update, context)
        settings = await s.log.io(s.log.update_settings, chat.id, digest=when, lang=lang)
        key, values = "digest_set", {"time": when, "tz": settings.tz}
    assert context.job_queue is not None
    schedule_digest(context.job_queue, settings)  # scheduled before it is confirmed
    await say(update, context, key, **values)


def schedule_digest(job_queue: JobQueue, settings: ChatSummarySettings) -> None:
    """(Re)schedule a chat's daily digest, or remove it."""
    name = DIGEST_JOB.format(chat_id=settings.chat_id)
    for job in job_queue.get_jobs_by_name(name):
        job.schedule_removal()
    if settings.digest is None:
        return
    hours, minutes = (int(x) for x in settings.digest.split(":"))
    at = clock_time(hours, minutes, tzinfo=ZoneInfo(settings.tz))
    job_queue.run_daily(_post_digest, at, chat_id=settings.chat_id, name=name)


def schedule_digests(job_queue: JobQueue, chats: list[ChatSummarySettings]) -> None:
    """At start: every chat's digest, from the chat store."""
    for settings in chats:
        schedule_digest(job_queue, settings)


async def _post_digest(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Post the last 24 hours' summary in a chat (nothing when nothing was said)."""
    job = context.job
    assert job is not None
    assert job.chat_id is not None
    if not leads(context):  # another replica posts it
        return
    s = services(context)
    source = await s.log.io(s.log.settings, job.chat_id)
    if not source.logging or source.digest is None:
        return
    messages, cut = await s.log.io(
        s.log.window,
        source.chat_id,
        cap=s.settings.summary_max_messages,
        since=time.time() - 24 * 3600,
    )
    if not messages:
        return
    # The leader posts; the claim makes it once a day even while the lead changes hands.
    day = datetime.now(ZoneInfo(source.tz)).date().isoformat()
    if not await s.log.io(s.log.claim_digest, source.chat_id, day):
        return
    made = await _summarize(s, messages)
    note = ui_html("summary_capped", source.lang, count=len(messages)) if cut else None
    header = ui_html("digest_header", source.lang)
    place = Place(source.chat_id, None, None)
    await post_summary(
        context, place, s, source, made, messages, source.lang, note=note, header=header
    )


# -- history import ---------------------------------------------------------------------------


async def import_history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Telegram Desktop export sent in private: its messages join that chat's log, when
    the chat logs and the sender is its admin. A malformed file changes nothing."""
    s = services(context)
    message = update.effective_message
    assert message is not None
    assert message.document is not None
    document = message.document
    if document.file_size and document.file_size > MAX_EXPORT_BYTES:
        await say(update, context, "import_bad", reason="larger than 20 MB")
        return
    file = await context.bot.get_file(document.file_id)
    data = bytes(await file.download_as_bytearray())
    try:
        export = read_export(data)
    except ValueError as e:
        await say(update, context, "import_bad", reason=str(e))
        return
    target = await s.log.io(s.log.settings, export.chat_id)
    if not target.logging:
        await say(update, context, "import_not_logging")
        return
    if not await is_chat_admin(update, context, export.chat_id):
        await say(update, context, "chat_admin_only")
        return
    added = await s.log.io(s.log.import_messages, export.messages)
    await say(update, context, "import_done", count=added, chat=export.name)
