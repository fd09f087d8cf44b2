"""Running the real bot against the fake Bot API server, for the end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application

from bot.application import build_application, serve
from bot.config import BotSettings, load_bot_settings
from tests.fake_telegram import FakeBotAPI

#: Token-shaped, so the log tests show it is redacted even where we don't know it.
TOKEN = "123456789:AAH-fake-token-for-tests-only_0123456789"


def bot_settings(api: FakeBotAPI, monkeypatch: Any, **env: str) -> BotSettings:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.root)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_bot_settings()


def llm_bot_settings(api: FakeBotAPI, llm: Any, monkeypatch: Any) -> BotSettings:
    """`bot_settings` with the scripted LLM server (the `llm` fixture) as the writer."""
    return bot_settings(
        api,
        monkeypatch,
        SANAD_LLM_MODEL="openai:test-model",
        SANAD_LLM_BASE_URL=llm.base_url,
        SANAD_LLM_API_KEY="sk-test-secret",
        SANAD_LLM_TIMEOUT="10",
    )


@asynccontextmanager
async def running(
    api: FakeBotAPI, settings: BotSettings, **kwargs: Any
) -> AsyncIterator[Application]:
    """The bot polling `api` until the block ends, then shut down as on SIGTERM."""
    app = build_application(settings, **kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, settings, stop))
    try:
        await api.wait_for(lambda: api.calls("getUpdates") or task.done(), timeout=60)
        if task.done():
            task.result()
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
