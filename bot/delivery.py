"""Getting replies to Telegram: split to its limit, retried, HTML with a plain-text fallback.

429s are PTB's `AIORateLimiter`'s business (it waits `retry_after` and retries);
this module retries timeouts and network errors with backoff, and resends as
plain text when Telegram refuses our HTML.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from typing import TypeVar

import httpx
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from bot.render import MAX_MESSAGE, render_passages, split_html, to_plain, ui_html
from bot.storage import AnswerRecord

__all__ = [
    "MAX_PARTS",
    "DraftStreamer",
    "MaybeDelivered",
    "Place",
    "edit_html",
    "send_html",
    "send_passages",
    "split_parts",
    "typing",
    "with_retries",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Attempts for a request that timed out or hit a network error, and the first pause.
ATTEMPTS = 4
BACKOFF = 0.5
#: An answer ready sooner than this never shows "typing…" (saves requests under load).
TYPING_AFTER = 0.3

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Place:
    """Where a reply goes: a chat, a forum topic in it, and the message it answers."""

    def __init__(
        self, chat_id: int, thread_id: int | None = None, reply_to: int | None = None
    ) -> None:
        self.chat_id, self.thread_id, self.reply_to = chat_id, thread_id, reply_to

    @property
    def reply(self) -> ReplyParameters | None:
        if self.reply_to is None:
            return None
        return ReplyParameters(self.reply_to, allow_sending_without_reply=True)


async def with_retries(call: Callable[[], Awaitable[T]], *, idempotent: bool = True) -> T:
    """Await `call()`, retrying timeouts and network errors with exponential backoff.

    A request that is not `idempotent` (a new message) is sent again only when
    Telegram cannot have acted on it: the connection was never made, or Telegram
    answered with an error. When the request went out and no answer came back (a
    read timeout, a dropped connection), it may have been delivered; the Bot API has
    no way to ask, so it is not sent twice (`MaybeDelivered`).
    """
    for attempt in range(ATTEMPTS):
        try:
            return await call()
        except BadRequest:
            raise  # our request is wrong: sending it again won't help
        except (TimedOut, NetworkError) as e:
            if not idempotent and not _surely_unsent(e):
                raise MaybeDelivered(str(e)) from e
            if attempt == ATTEMPTS - 1:
                raise
            pause = BACKOFF * 2**attempt
            log.warning("Telegram request failed (%s); retrying in %.1f s", type(e).__name__, pause)
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")


class MaybeDelivered(NetworkError):
    """A new message went out and no answer came back: it may be in the chat already."""


def _surely_unsent(error: TelegramError) -> bool:
    """Whether Telegram cannot have acted on the request that failed with `error`."""
    cause = error.__cause__
    if cause is None:
        return True  # Telegram (or its proxy) answered with an error status
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _html_rejected(error: BadRequest) -> bool:
    message = error.message.lower()
    return (
        "parse entities" in message
        or "can't find end" in message
        or "unsupported start tag" in message
    )


#: A reply is at most this many messages: what does not fit ends in `more`.
MAX_PARTS = 4
#: Markup longer than this is split in a worker thread, off the event loop.
_SPLIT_INLINE_CHARS = 8_000


async def split_parts(markup: str, more: str = "…") -> list[str]:
    """`markup` in messages within Telegram's limit, at most `MAX_PARTS` of them: when
    it takes more, the last says `more` (HTML: how to see the rest)."""
    if len(markup) > _SPLIT_INLINE_CHARS:
        parts = await asyncio.to_thread(split_html, markup)
    else:
        parts = split_html(markup)
    if len(parts) > MAX_PARTS:
        parts = [*parts[: MAX_PARTS - 1], more]
    return parts


async def send_html(
    bot: Bot,
    place: Place,
    markup: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    more: str = "…",
) -> list[Message]:
    """Send `markup` in as many messages as it takes (at most `MAX_PARTS`); the keyboard
    goes on the last."""
    return await _send_parts(bot, place, await split_parts(markup, more), keyboard)


async def send_passages(
    bot: Bot, place: Place, record: AnswerRecord, lang: str, only: int | None = None
) -> list[Message]:
    """An answer's cited passages (or passage `only`), capped with how to see the rest."""
    markup = render_passages(record, lang, only=only)
    return await send_html(bot, place, markup, more=ui_html("reply_cut", lang))


async def _send_parts(
    bot: Bot, place: Place, parts: list[str], keyboard: InlineKeyboardMarkup | None
) -> list[Message]:
    sent: list[Message] = []
    for i, part in enumerate(parts):
        buttons = keyboard if i == len(parts) - 1 else None
        reply = place.reply if i == 0 else None

        async def send(
            body: str,
            parse_mode: str | None,
            buttons: InlineKeyboardMarkup | None = buttons,
            reply: ReplyParameters | None = reply,
        ) -> Message:
            return await bot.send_message(
                place.chat_id,
                body,
                parse_mode=parse_mode,
                message_thread_id=place.thread_id,
                reply_parameters=reply,
                reply_markup=buttons,
                link_preview_options=_NO_PREVIEW,
            )

        try:
            sent.append(await _html_or_plain(send, part, idempotent=False))
        except MaybeDelivered as e:
            log.warning("A message may have reached Telegram (%s); not sending it twice", e)
    return sent


async def _html_or_plain(
    call: Callable[[str, str | None], Awaitable[T]], part: str, *, idempotent: bool = True
) -> T:
    """`call(part, HTML)`, or `call(its plain text, None)` if Telegram refuses the HTML."""
    try:
        return await with_retries(lambda: call(part, ParseMode.HTML), idempotent=idempotent)
    except BadRequest as e:
        if not _html_rejected(e):
            raise
        log.warning("Telegram refused the HTML (%s); resending as plain text", e.message)
        return await with_retries(lambda: call(to_plain(part), None), idempotent=idempotent)


async def edit_html(
    bot: Bot, place: Place, message_id: int, markup: str, keyboard: InlineKeyboardMarkup | None
) -> None:
    """Replace a message's text with `markup`; what does not fit follows in new messages."""
    first, *rest = await split_parts(markup)

    async def edit(body: str, parse_mode: str | None) -> object:
        return await bot.edit_message_text(
            body,
            place.chat_id,
            message_id,
            parse_mode=parse_mode,
            reply_markup=None if rest else keyboard,
            link_preview_options=_NO_PREVIEW,
        )

    await _html_or_plain(edit, first)
    if rest:
        await _send_parts(bot, Place(place.chat_id, place.thread_id), rest, keyboard)


@contextlib.asynccontextmanager
async def typing(bot: Bot, place: Place) -> AsyncIterator[None]:
    """Show "typing…" while the block runs (if it takes longer than a moment)."""

    async def keep_typing() -> None:
        await asyncio.sleep(TYPING_AFTER)
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(
                    place.chat_id, ChatAction.TYPING, message_thread_id=place.thread_id
                )
            await asyncio.sleep(4.5)  # the action shows for about five seconds

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class DraftStreamer:
    """Shows an LLM answer while it is written, then replaces it with the verified one.

    Private chats get `sendMessageDraft`; groups get one message edited at most
    once a second. `on_draft` is called from the answering thread.
    """

    def __init__(self, bot: Bot, place: Place, *, private: bool, draft_id: int) -> None:
        self.bot, self.place, self.private, self.draft_id = bot, place, private, draft_id
        self.interval = 0.5 if private else 1.0
        self.message_id: int | None = None
        self._loop = asyncio.get_running_loop()
        self._last = 0.0
        self._pending: list[Future[None]] = []
        self._lock = asyncio.Lock()
        self._done = False

    def on_draft(self, text: str) -> None:
        now = time.monotonic()
        if self._done or now - self._last < self.interval or not text.strip():
            return
        self._last = now
        self._pending.append(asyncio.run_coroutine_threadsafe(self._show(text), self._loop))

    async def _show(self, text: str) -> None:
        shown = text[: MAX_MESSAGE // 2] + "…"  # short of the limit even in UTF-16
        async with self._lock:
            if self._done:
                return
            try:
                if self.private:
                    await self.bot.send_message_draft(
                        self.place.chat_id, self.draft_id, shown, self.place.thread_id
                    )
                elif self.message_id is None:
                    message = await self.bot.send_message(
                        self.place.chat_id,
                        shown,
                        message_thread_id=self.place.thread_id,
                        reply_parameters=self.place.reply,
                    )
                    self.message_id = message.message_id
                else:
                    await self.bot.edit_message_text(shown, self.place.chat_id, self.message_id)
            except TelegramError as e:
                # A lost draft is cosmetic: the verified answer still follows.
                log.info("draft not shown: %s", e)

    async def _close(self) -> None:
        for pending in self._pending:
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(pending)
        async with self._lock:
            self._done = True

    async def discard(self) -> None:
        """Take the draft down (the answer failed): unverified text must not stay."""
        await self._close()
        if self.message_id is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.delete_message(self.place.chat_id, self.message_id)

    async def finish(self, markup: str, keyboard: InlineKeyboardMarkup | None) -> None:
        """Put the verified answer (or a message saying why there is none) where the draft was."""
        await self._close()
        if self.message_id is not None:
            await edit_html(self.bot, self.place, self.message_id, markup, keyboard)
        else:
            await send_html(self.bot, self.place, markup, keyboard)
