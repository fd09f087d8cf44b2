"""Telegram handlers for the message log that summaries read, and its admin commands.

- every text or caption in a chat that logs is kept (`MessageLog.keep`), edits too;
- `/summaries on|off` and `/forget` are for the chat's admins (`admin_chat`);
- `/forgetme` anywhere.
"""

from __future__ import annotations

import logging

from telegram import Chat, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.chatlog import LoggedMessage
from bot.context import interface_language, services, who_of
from bot.handlers import say

__all__ = [
    "admin_chat",
    "forget",
    "forget_me",
    "is_chat_admin",
    "keep_message",
    "summaries_switch",
]

log = logging.getLogger(__name__)

_ADMINS = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


# -- the log ------------------------------------------------------------------------------


def _logged(message: Message) -> LoggedMessage | None:
    text = message.text or message.caption
    if not text or text.startswith("/"):
        return None
    user = message.from_user
    sender = message.sender_chat
    author = (
        (message.author_signature or sender.title or "")
        if sender is not None
        else (user.full_name if user else "")
    ) or "?"
    replied = message.reply_to_message
    reply_to = (
        replied.message_id if replied is not None and replied.forum_topic_created is None else None
    )
    return LoggedMessage(
        message.chat_id,
        message.message_id,
        author,
        message.date.timestamp(),
        text,
        user.id if user is not None and sender is None else None,
        message.message_thread_id if message.is_topic_message else None,
        reply_to,
    )


async def keep_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group or channel message, new or edited: into the log if the chat logs."""
    message = update.effective_message
    if message is None or message.chat.type == ChatType.PRIVATE:
        return
    logged = _logged(message)
    if logged is not None:
        s = services(context)
        await s.log.io(s.log.keep, logged)


# -- admin commands -------------------------------------------------------------------------


async def is_chat_admin(update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> bool:
    """In a channel only admins can post; elsewhere ask Telegram (anonymous admins post
    as the group itself)."""
    message = update.effective_message
    chat = update.effective_chat
    if chat is not None and chat.id == chat_id:
        if chat.type == ChatType.CHANNEL:
            return True
        if message is not None and message.sender_chat is not None:
            return message.sender_chat.id == chat_id
    user = update.effective_user
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat_id, user.id)
    except TelegramError as e:
        log.info("getChatMember failed for chat %s: %s", chat_id, e)
        return False
    return member.status in _ADMINS


async def admin_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
    """The group or channel, when its admin sent this; else None, having said why not."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        await say(update, context, "groups_only")
        return None
    if not await is_chat_admin(update, context, chat.id):
        await say(update, context, "chat_admin_only")
        return None
    return chat


async def summaries_switch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/summaries on|off` (chat admins): start or stop keeping this chat's messages."""
    choice = " ".join(context.args or []).strip().lower()
    if choice not in {"on", "off"}:
        await say(update, context, "summaries_usage")
        return
    chat = await admin_chat(update, context)
    if chat is None:
        return
    s = services(context)
    lang = await interface_language(update, context)
    await s.log.io(
        s.log.update_settings,
        chat.id,
        logging=int(choice == "on"),
        lang=lang,
        username=chat.username,
    )
    if choice == "on":
        settings = s.settings
        days = f"{settings.summary_log_days:g}"
        await say(
            update,
            context,
            "summaries_on",
            days=days,
            limit=settings.summary_log_max,
            tag=settings.nosummary_tag,
        )
    else:
        await say(update, context, "summaries_off")


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/forget` (chat admins): delete this chat's whole log."""
    chat = await admin_chat(update, context)
    if chat is None:
        return
    s = services(context)
    count = await s.log.io(s.log.forget_chat, chat.id)
    await say(update, context, "log_forgotten", count=count)


async def forget_me(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/forgetme`: delete the caller's messages from every chat's log."""
    s = services(context)
    count = await s.log.io(s.log.forget_author, who_of(update).user_id)
    await say(update, context, "forgetme_done", count=count)
