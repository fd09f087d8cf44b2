"""What every Telegram handler shares: the services, who is asking, where to reply.

Kept apart from the handlers so that each kind of handler (messages, commands,
buttons) can live in a module of its own without importing the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.chatlog import MessageLog
from bot.config import BotSettings
from bot.conversation import Conversation, Who
from bot.delivery import Place
from bot.limits import InFlight, QuestionRateLimit, RefusalNotices, SummaryLimits
from bot.ops import Metrics

__all__ = ["Services", "interface_language", "place_of", "services", "who_of"]


@dataclass
class Services:
    """What every handler needs, kept in `application.bot_data["sanad"]`."""

    settings: BotSettings
    conversation: Conversation
    rate: QuestionRateLimit
    in_flight: InFlight
    log: MessageLog
    summary_limits: SummaryLimits
    refusals: RefusalNotices = field(default_factory=RefusalNotices)
    metrics: Metrics = field(default_factory=Metrics)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    found = context.application.bot_data["sanad"]
    assert isinstance(found, Services)
    return found


def who_of(update: Update) -> Who:
    """The asker; an update without a chat (an old inline button) is their private chat."""
    chat, user = update.effective_chat, update.effective_user
    chat_id = chat.id if chat is not None else (user.id if user is not None else 0)
    return Who(
        chat_id,
        user.id if user else chat_id,
        chat is None or chat.type == ChatType.PRIVATE,
        user.language_code if user else None,
    )


def place_of(message: Message, *, quote: bool) -> Place:
    """Reply in the message's forum topic, quoting it in groups."""
    thread = message.message_thread_id if message.is_topic_message else None
    return Place(message.chat_id, thread, message.message_id if quote else None)


async def interface_language(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str | None = None
) -> str:
    return await services(context).conversation.language(who_of(update), text)
