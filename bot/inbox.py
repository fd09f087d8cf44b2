"""Crash-safe updates: each one is on disk before Telegram hears it arrived.

Telegram forgets an update once the bot confirms it (polling: the next `getUpdates`
names a later offset; webhook: the HTTP 200). python-telegram-bot confirms as it
fetches, before any handler ran, so a process killed while a question waited lost
the question for good. Here every update is written to the chat store's inbox as
python-telegram-bot puts it on its update queue, which both the poller and the
webhook do before they confirm; it is marked handled when its handlers finish.
At start-up the updates that were received and never handled are handled then,
once each. One that stopped the process `MAX_ATTEMPTS` times is not tried again:
its chat is told to send it anew.

What remains: a reply that Telegram accepted moments before the process died,
before the update was marked handled, is sent again after the restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, SimpleUpdateProcessor

from bot.context import Services, who_of
from bot.render import ui_text
from bot.storage import ChatStore

__all__ = ["MAX_ATTEMPTS", "DurableUpdateQueue", "InboxUpdateProcessor", "handle_unhandled"]

log = logging.getLogger(__name__)

#: How many times an update may be started before it is reported instead.
MAX_ATTEMPTS = 3


class DurableUpdateQueue(asyncio.Queue[object]):
    """python-telegram-bot's update queue, writing each update to the inbox first.

    An update the inbox already holds (Telegram delivering one again that was received
    or handled before a restart) is not queued a second time.
    """

    def __init__(self, store: ChatStore, lease: float = 120.0) -> None:
        super().__init__()
        self.store = store
        self.lease = lease

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            body = json.dumps(item.to_dict(), ensure_ascii=False)
            taken = await asyncio.to_thread(
                self.store.receive, item.update_id, body, lease=self.lease
            )
            if not taken:
                log.info("Update %d was received before; not handling it again", item.update_id)
                return
        await super().put(item)

    async def put_kept(self, update: Update) -> None:
        """Queue an update the inbox already holds (one left unhandled by the last run)."""
        await super().put(update)


class InboxUpdateProcessor(SimpleUpdateProcessor):
    """Marks each update handled once its handlers (and the error handler) finished.

    An update cut short by shutdown stays unhandled, and is handled at the next start.
    """

    def __init__(self, max_concurrent_updates: int, store: ChatStore) -> None:
        super().__init__(max_concurrent_updates)
        self.store = store

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine  # cancelled (BaseException): left unhandled, for the next start
        except Exception:
            await self._handled(update)
            raise
        await self._handled(update)

    async def _handled(self, update: object) -> None:
        if isinstance(update, Update):
            await asyncio.to_thread(self.store.handled, update.update_id)


async def handle_unhandled(app: Application, *, older_than: float = 0.0) -> int:
    """Queue the updates received and never handled, taken up at least `older_than`
    seconds ago; return how many.

    A lone process calls it once started, before updates are fetched (0: all of them);
    replicas sharing a database call it on a beat with the lease, so that they take up
    only what a replica that died left behind.
    """
    queue = app.update_queue
    assert isinstance(queue, DurableUpdateQueue)
    store = queue.store
    queued = 0
    kept = await asyncio.to_thread(store.unhandled, older_than=older_than)
    for update_id, body, attempts in kept:
        update = Update.de_json(json.loads(body), app.bot)
        if attempts + 1 >= MAX_ATTEMPTS:
            log.error("Update %d stopped Sanad %d times; reporting it", update_id, attempts + 1)
            await _report_dropped(app, update)
            await asyncio.to_thread(store.handled, update_id)
            continue
        await queue.put_kept(update)
        queued += 1
    if queued:
        log.warning("Handling %d updates received and left unhandled", queued)
    return queued


async def _report_dropped(app: Application, update: Update) -> None:
    """Tell the chat its message was given up on, in its interface language."""
    chat = update.effective_chat
    if chat is None:
        return
    services = app.bot_data["sanad"]
    assert isinstance(services, Services)
    lang = await services.conversation.language(who_of(update))
    try:
        await app.bot.send_message(chat.id, ui_text("message_dropped", lang))
    except TelegramError as error:
        log.warning("Could not report a dropped update to its chat: %s", error)
