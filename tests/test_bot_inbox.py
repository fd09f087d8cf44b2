"""Updates received before a crash are handled after the restart, once (bot/inbox.py).

The crash itself, a SIGKILL of `sanad run`, is in test_bot_run.py; here the chat store
is left as a killed process leaves it, and the real bot starts over it.
"""

from __future__ import annotations

import json

from bot.inbox import MAX_ATTEMPTS
from bot.storage import CHAT_STORE_FILE, ChatStore
from tests.bot_harness import bot_settings, running
from tests.fake_telegram import FakeBotAPI, bare
from tests.test_bot_uploads import ADMIN, SAFFRON, _document

USER = 4242
QUESTION = "پوتین در نشست سازمان شانگهای در آستانه درباره طالبان چه گفت؟"


def _left_unhandled(settings, update, *, restarts: int = 0) -> None:
    """The chat store as a process leaves it that was killed while handling `update`,
    after `restarts` more starts that were killed too."""
    with_id = {"update_id": update.setdefault("update_id", 500), **update}
    store = ChatStore(settings.data_dir / CHAT_STORE_FILE)
    try:
        assert store.receive(with_id["update_id"], json.dumps(with_id))
        for _ in range(restarts):
            store.unhandled()
    finally:
        store.close()


def _answers(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [m["text"] for m in api.sent(chat_id) if "[1]" in m["text"]]


async def test_an_upload_received_before_a_crash_is_indexed_and_reported(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_ADMIN_IDS=str(ADMIN))
    _left_unhandled(settings, _document(api, ADMIN, "herat saffron.txt", SAFFRON.encode()))
    async with running(api, settings) as app:
        [report] = await api.wait_sent(ADMIN)
        index = app.bot_data["sanad"].conversation.answerer.index
        assert "herat_saffron" in index.catalog_documents
    assert bare(report["text"]).startswith("Added “herat_saffron.txt”")
    async with running(api, settings):  # handled: the next start does not report it again
        await api.settle()
    assert len(api.sent(ADMIN)) == 1


async def test_telegram_delivering_a_question_again_gets_one_answer(api, monkeypatch):
    """Killed after the question was kept but before Telegram heard so, Telegram offers it
    again while the inbox holds it; and killed after answering but before confirming, it
    offers it once more at the next start. One answer in all."""
    settings = bot_settings(api, monkeypatch, SANAD_EMBEDDING_MODEL="none")
    update = api.push(api.private_text(USER, QUESTION, lang="fa"))
    _left_unhandled(settings, update)
    async with running(api, settings):
        await api.wait_sent(USER)
        await api.settle()
    api.redeliver(update)  # never confirmed, as when the process died right after answering
    async with running(api, settings):
        await api.wait_for(lambda: not api.updates)  # fetched, and confirmed this time
        await api.settle()
    assert len(_answers(api, USER)) == 1
    assert len(api.sent(USER)) == 1


async def test_a_message_that_keeps_stopping_sanad_is_reported_not_retried(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_EMBEDDING_MODEL="none")
    _left_unhandled(
        settings, api.private_text(USER, QUESTION, lang="fa"), restarts=MAX_ATTEMPTS - 1
    )
    async with running(api, settings):
        [report] = await api.wait_sent(USER)
        await api.settle()
    assert report["text"].endswith("لطفاً آن را دوباره بفرستید.")  # in the user's language
    assert not _answers(api, USER)
    async with running(api, settings):
        await api.settle()
    assert len(api.sent(USER)) == 1
