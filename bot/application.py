"""Building and running the Telegram `Application`: `sanad run` ends up here.

    settings = load_bot_settings()
    app = build_application(settings)
    asyncio.run(serve(app, settings))     # until SIGINT/SIGTERM

Long polling by default; a webhook (with a secret token) when
`TELEGRAM_WEBHOOK_URL` is set. Answers are computed in a bounded thread pool,
so a slow one never holds up other chats. Each update is kept on disk until it is
handled, so a question or upload received before a crash is handled after the
restart (`bot.inbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from urllib.parse import urlsplit

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    Updater,
    filters,
)

from bot import chatlog_handlers, handlers, summary_handlers
from bot.buttons import button_handlers
from bot.chatlog import MessageLog
from bot.config import BotSettings
from bot.context import Services, services
from bot.conversation import Conversation
from bot.heap import release_heap, settle_heap
from bot.inbox import DurableUpdateQueue, InboxUpdateProcessor, handle_unhandled
from bot.limits import InFlight, QuestionRateLimit, SummaryLimits
from bot.logs import also_redact
from bot.ops import OpsServer
from bot.replicas import leads, schedule_replica_jobs
from prompts import UI_LANGUAGES, text
from retrieval.answer import Answerer
from retrieval.errors import ConfigError
from retrieval.index import SanadIndex

__all__ = ["COMMANDS", "build_application", "serve"]

# PTB 22 warns on every 429 unless durations are timedeltas (its next major's default);
# nothing of ours reads them, so opt in.
os.environ.setdefault("PTB_TIMEDELTA", "1")

log = logging.getLogger(__name__)

#: Commands shown in Telegram's menu, with their description keys in prompts/strings.toml.
COMMANDS = ("start", "help", "ask", "sources", "summary", "lang", "new", "forgetme", "about")

BOTFATHER_HELP = (
    "TELEGRAM_BOT_TOKEN is not set. Talk to @BotFather in Telegram, send /newbot, "
    "and put the token it gives you in .env as TELEGRAM_BOT_TOKEN=… "
    "(or try Sanad without Telegram: `sanad chat`)."
)


def build_application(
    settings: BotSettings, *, index: SanadIndex | None = None, answerer: Answerer | None = None
) -> Application:
    """The Application with Sanad's handlers, rate limiter and thread pool."""
    if settings.telegram_bot_token is None:
        raise ConfigError(BOTFATHER_HELP)
    root = settings.telegram_api_base_url
    if answerer is None:
        answerer = Answerer(index or SanadIndex(settings))
    conversation = Conversation.open(settings, answerer)
    store = conversation.store  # the inbox lives in the chat store
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        # Honours 429 retry_after and keeps under Telegram's per-chat and global limits.
        .rate_limiter(AIORateLimiter(max_retries=5))
        # Every update is on disk before it is confirmed to Telegram (bot/inbox.py).
        .update_queue(DurableUpdateQueue(store, settings.update_lease_seconds))
        .concurrent_updates(InboxUpdateProcessor(256, store))
        .connect_timeout(10)
        .read_timeout(30)
        .write_timeout(30)
        .pool_timeout(10)
        .get_updates_read_timeout(40)
        .build()
    )
    log_ = MessageLog(
        store,
        days=settings.summary_log_days,
        per_chat=settings.summary_log_max,
        tag=settings.nosummary_tag,
    )
    app.bot_data["sanad"] = Services(
        settings,
        conversation,
        QuestionRateLimit(store, settings.questions_per_minute),
        # A replica that died mid-answer frees its users when its updates' lease runs out.
        InFlight(store, stale_after=settings.update_lease_seconds),
        log_,
        SummaryLimits(store, settings.summaries_per_user, settings.summaries_per_chat),
    )
    _add_handlers(app)
    job_queue = app.job_queue
    assert job_queue is not None  # python-telegram-bot[job-queue] is a dependency
    interval = settings.purge_minutes * 60
    job_queue.run_repeating(_purge, interval=interval, first=interval, name="purge")
    summary_handlers.schedule_digests(job_queue, log_.digests())
    schedule_replica_jobs(app, settings, store.db)
    return app


async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep the chat store from growing: old answers and expired memory go on a schedule
    (by one replica when several share a database)."""
    if not leads(context):
        return
    s = services(context)
    gone = await s.conversation.purge()
    gone += await s.log.io(s.log.purge)
    if gone:
        log.info("Purged %d old answers, conversations and logged messages", gone)


def _add_handlers(app: Application) -> None:
    """Handlers for new messages in private chats and groups.

    An edited message is not answered again (the user sends the question anew), and
    channel posts are not questions: a channel speaks for its owners, and an answer
    there would be posted to every subscriber.
    """
    new = filters.UpdateType.MESSAGE  # not edits, not channel posts
    private = new & filters.ChatType.PRIVATE
    posts = new | filters.UpdateType.CHANNEL_POST
    app.add_handler(TypeHandler(Update, handlers.guard), group=-1)
    # The summaries' message log sees every group and channel message, new or edited,
    # in a handler group of its own, whatever else answers it.
    logged = (
        filters.UpdateType.MESSAGES | filters.UpdateType.CHANNEL_POSTS
    ) & ~filters.ChatType.PRIVATE
    app.add_handler(
        MessageHandler(logged & (filters.TEXT | filters.CAPTION), chatlog_handlers.keep_message),
        group=1,
    )
    for name, callback in (
        ("summaries", chatlog_handlers.summaries_switch),
        ("summary", summary_handlers.summary),
        ("forget", chatlog_handlers.forget),
        ("digest", summary_handlers.digest),
    ):
        app.add_handler(CommandHandler(name, callback, filters=posts))
    app.add_handler(CommandHandler("forgetme", chatlog_handlers.forget_me, filters=new))
    for name, callback in (
        ("start", handlers.start),
        ("help", handlers.help_command),
        ("ask", handlers.ask),
        ("sources", handlers.sources),
        ("lang", handlers.language),
        ("new", handlers.new),
        ("about", handlers.about),
    ):
        app.add_handler(CommandHandler(name, callback, filters=new))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, handlers.on_text))
    app.add_handler(
        MessageHandler(
            private & filters.Document.FileExtension("json"), summary_handlers.import_history
        )
    )
    app.add_handler(MessageHandler(private & filters.Document.ALL, handlers.on_document))
    app.add_handler(
        MessageHandler(
            private & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL,
            handlers.on_media,
        )
    )
    for handler in [*summary_handlers.summary_buttons(), *button_handlers()]:
        app.add_handler(handler)
    app.add_error_handler(handlers.on_error)


async def _post_init(app: Application) -> None:
    """Register the command menu per language, and open the index before the first user."""
    for lang in UI_LANGUAGES:
        commands = [BotCommand(c, text(f"cmd_{c}", lang)) for c in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=lang)
    await app.bot.set_my_commands([BotCommand(c, text(f"cmd_{c}", "en")) for c in COMMANDS])
    conversation = app.bot_data["sanad"].conversation
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(conversation.executor, conversation.answerer.index.ensure_ready)
    settle_heap()


async def _post_shutdown(app: Application) -> None:
    """Let running answers finish, then close the store and the index."""
    conversation = app.bot_data["sanad"].conversation
    app.bot_data["sanad_leader"].close()
    app.bot_data["sanad"].metrics.close()
    app.bot_data["sanad"].log.close()
    conversation.close()
    conversation.answerer.index.close()
    release_heap()


async def serve(
    app: Application,
    settings: BotSettings,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until `stop` is set or SIGINT/SIGTERM arrives, then shut down cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with app:  # initialize (getMe) … shutdown
            await _post_init(app)
            await app.start()
            if settings.database_url is None:  # a lone process: nothing else is answering
                await asyncio.to_thread(app.bot_data["sanad"].in_flight.forget_all)
                await handle_unhandled(app)
            updater = app.updater
            assert updater is not None
            await _start_receiving(updater, settings)
            ops = None
            if settings.ops_port is not None:
                metrics = app.bot_data["sanad"].metrics
                ops = OpsServer(app, metrics, settings.ops_listen, settings.ops_port)
                ops.start()
            await stop.wait()
            log.warning("Stopping: finishing answers in progress…")
            if ops is not None:
                await ops.stop()
            await updater.stop()
            await app.stop()
    finally:
        await _post_shutdown(app)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def _start_receiving(updater: Updater, settings: BotSettings) -> None:
    """Long polling, or a webhook with a secret token when TELEGRAM_WEBHOOK_URL is set."""
    if settings.telegram_webhook_url:
        url = settings.telegram_webhook_url
        also_redact(settings.webhook_secret)  # made up for this run when not configured
        await updater.start_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            url_path=urlsplit(url).path.lstrip("/"),
            webhook_url=url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
        log.warning("Sanad is listening for Telegram at %s", url)
    else:
        await updater.start_polling(allowed_updates=Update.ALL_TYPES, poll_interval=0.0)
        log.warning("Sanad is polling Telegram for messages")
