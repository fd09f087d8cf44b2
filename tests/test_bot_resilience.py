"""Limits, abuse and failures: the user always gets a reply, and nothing is lost."""

from __future__ import annotations

import logging

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from tests.bot_harness import TOKEN, bot_settings, running
from tests.fake_telegram import DROP, bare, parse_html, public, utf16

USER = 4242
QUESTION = "پوتین در نشست سازمان شانگهای در آستانه درباره طالبان چه گفت؟"


async def test_rate_limit_answers_then_asks_to_wait(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_QUESTIONS_PER_MINUTE="2")
    async with running(api, settings):
        for i in range(1, 4):
            api.push(api.private_text(USER, QUESTION, lang="fa"))
            sent = await api.wait_sent(USER, i)
    assert "[1]" in sent[0]["text"]
    assert "[1]" in sent[1]["text"]
    assert bare(sent[2]["text"]).startswith("پرسش‌های زیادی در یک دقیقه فرستادید")
    assert "ثانیه" in sent[2]["text"]


async def test_one_question_in_flight_per_user(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="en"))
        api.push(api.private_text(USER, QUESTION, lang="en"))
        sent = await api.wait_sent(USER, 2)
    texts = sorted(m["text"] for m in sent)
    assert any("[1]" in t for t in texts)
    assert any(t.startswith("I'm still working on your previous question") for t in texts)


async def test_429_from_telegram_is_waited_out(api, monkeypatch):
    api.fail_next("sendMessage", 429, retry_after=1)
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        [reply] = await api.wait_sent(USER)
    calls = api.calls("sendMessage")
    assert len(calls) == 2
    assert calls[1].at - calls[0].at >= 1.0  # retry_after honoured
    assert "[1]" in reply["text"]


async def test_network_errors_are_retried_with_backoff(api, monkeypatch):
    api.fail_next("sendMessage", 502, description="Bad Gateway")
    api.fail_next("sendMessage", 502, description="Bad Gateway")
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        [reply] = await api.wait_sent(USER)
    calls = api.calls("sendMessage")
    assert len(calls) == 3
    assert calls[2].at - calls[1].at > calls[1].at - calls[0].at  # backing off
    assert "[1]" in reply["text"]


async def test_rejected_html_is_resent_as_plain_text(api, monkeypatch):
    api.fail_next("sendMessage", 400, description="Bad Request: can't parse entities: oops")
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        [reply] = await api.wait_sent(USER)
    second = api.calls("sendMessage")[1]
    assert "parse_mode" not in second.params
    assert "<" not in reply["text"]
    assert "[1]" in reply["text"]
    assert reply["reply_markup"]["inline_keyboard"]  # buttons survive the fallback


async def test_unexpected_error_is_logged_and_user_told_briefly(api, monkeypatch, caplog):
    api.fail_next("sendMessage", 400, description="Bad Request: message thread not found")
    with caplog.at_level(logging.ERROR):
        async with running(api, bot_settings(api, monkeypatch)):
            api.push(api.private_text(USER, QUESTION, lang="ar"))
            [reply] = await api.wait_sent(USER)
    assert reply["text"] == "عذراً، حدث خطأ ما. يرجى المحاولة بعد قليل."
    [record] = [r for r in caplog.records if r.name == "bot.handlers"]
    assert record.exc_info is not None  # the traceback is kept
    assert TOKEN not in caplog.text


async def _sources_pressed(
    api, monkeypatch, tmp_path, files: dict[str, str], question: str, *, at_least: int
) -> list[dict]:
    """Ask over a corpus of very long passages and press "Sources": the messages sent
    after the answer (once there are `at_least` of them and the bot has settled)."""
    corpus = tmp_path / "long"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    settings = bot_settings(
        api,
        monkeypatch,
        SANAD_CORPUS_DIR=str(corpus),
        SANAD_CHUNK_MIN_TOKENS="2000",
        SANAD_CHUNK_MAX_TOKENS="4000",
    )
    async with running(api, settings):
        api.push(api.private_text(USER, question))
        [answer] = await api.wait_sent(USER)
        sources = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        api.push(api.press(USER, public(answer), sources))
        await api.wait_for(lambda: len(api.sent(USER)) >= at_least + 1)
        await api.settle()
    return api.sent(USER)[1:]


async def test_long_reply_is_split_under_telegrams_limit(api, monkeypatch, tmp_path):
    # One very long passage: pressing "Sources" shows far more than 4,096 characters.
    sentences = [
        f"Report {i} on saffron exports from Herat notes that growers in district {i} "
        f"sold <{i * 7}> kilograms & more to traders this season."
        for i in range(120)
    ]
    sentences[40] = "The largest buyer was the Zaranj cooperative, which paid growers in advance."
    files = {
        "saffron.txt": "Herat saffron\n\n" + " ".join(sentences),
        "weather.txt": "Kabul weather\n\nIt rained in Kabul.",
    }
    question = "Which cooperative was the largest buyer of saffron?"
    parts = await _sources_pressed(api, monkeypatch, tmp_path, files, question, at_least=2)
    assert len(parts) >= 3
    shown = ""
    for part in parts:
        text, _, error = parse_html(part["html"])
        assert error is None  # every part is valid HTML on its own
        assert utf16(text) <= 4096
        shown += text
    squeezed = "".join(bare(shown).split())  # a cut drops the space it falls on
    missing = [s for s in sentences[:90] if "".join(s.split()) not in squeezed]
    assert not missing, missing[:2]


async def test_allowlist_refuses_others_politely(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_ALLOWED_USER_IDS="1, 2", SANAD_ADMIN_IDS="3")
    async with running(api, settings):
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        [refusal] = await api.wait_sent(USER)
        api.push(api.private_text(3, QUESTION, lang="fa"))
        [answer] = await api.wait_sent(3)
        api.push(api.group_text(-100777, USER, "ignored chatter in a group"))
        api.push(api.group_text(-100777, USER, "/start@SomeOtherBot"))
        api.push(api.group_text(-100777, USER, f"/ask {QUESTION}"))
        [group_refusal] = await api.wait_sent(-100777)
    assert refusal["text"].startswith("متأسفم، این ربات تنها برای کاربران مجاز است")
    assert "[1]" in answer["text"]  # admins are always allowed
    assert group_refusal["text"].startswith("Sorry, this bot is only available to approved users")
    assert len(api.sent(-100777)) == 1


async def test_a_flood_of_refused_messages_gets_one_notice(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_QUESTIONS_PER_MINUTE="2")
    async with running(api, settings):
        for _ in range(30):
            api.push(api.private_text(USER, QUESTION, lang="en"))
        api.push(api.private_text(USER + 1, QUESTION, lang="en"))
        await api.wait_sent(USER + 1)
        await api.wait_for(lambda: sum("[1]" in m["text"] for m in api.sent(USER)) >= 1)
        await api.settle()
    texts = [m["text"] for m in api.sent(USER)]
    refusals = [t for t in texts if "[1]" not in t]
    assert 1 <= sum("[1]" in t for t in texts) <= 2
    assert len(refusals) == 1  # one "busy" or "wait" notice, not 28


async def test_a_very_long_reply_is_capped_with_a_way_to_see_more(api, monkeypatch, tmp_path):
    lines = [f"Line {i} of the ledger lists {i * 3} sacks." for i in range(1200)]
    for i, country in ((0, "Spain"), (400, "Italy"), (800, "India")):
        lines[i] = f"Saffron from Herat is sold in {country}."
    files = {"ledger.txt": "Herat saffron\n\n" + " ".join(lines) + "\n"}
    question = "Where is saffron from Herat sold, per the ledger?"
    parts = await _sources_pressed(api, monkeypatch, tmp_path, files, question, at_least=4)
    assert len(parts) == 4  # three parts of passages, then how to see the rest
    assert bare(parts[-1]["text"]).startswith("… The rest is too long to show here")


async def test_a_message_delivered_before_the_connection_dropped_is_not_sent_twice(
    api, monkeypatch
):
    api.fail_next("sendMessage", DROP)
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        await api.wait_sent(USER)
        api.push(api.private_text(USER, "/help", lang="fa"))  # the next reply still goes out
        await api.wait_sent(USER, 2)
        await api.settle()
    texts = [m["text"] for m in api.sent(USER)]
    assert len(texts) == 2
    assert "[1]" in texts[0]  # the answer once, and no "sorry" after it
    assert "/sources" in texts[1]


async def test_a_new_message_is_resent_only_when_telegram_cannot_have_it():
    from bot.delivery import MaybeDelivered, with_retries

    def failing(cause: Exception | None, calls: list[int]):
        async def call() -> str:
            calls.append(1)
            if len(calls) == 1:
                error = TimedOut() if isinstance(cause, httpx.TimeoutException) else None
                error = error or NetworkError("Bad Gateway" if cause is None else str(cause))
                raise error from cause
            return "sent"

        return call

    for cause, resent in (
        (None, True),  # Telegram answered 502: it did not act on the request
        (httpx.ConnectError("refused"), True),  # never reached Telegram
        (httpx.ConnectTimeout("slow"), True),
        (httpx.ReadTimeout("no answer"), False),  # sent; the answer never came
        (httpx.RemoteProtocolError("dropped"), False),
    ):
        calls: list[int] = []
        if resent:
            assert await with_retries(failing(cause, calls), idempotent=False) == "sent"
        else:
            with pytest.raises(MaybeDelivered):
                await with_retries(failing(cause, calls), idempotent=False)
        assert len(calls) == (2 if resent else 1), cause
        idempotent: list[int] = []  # an edit is safe to repeat, whatever happened
        assert await with_retries(failing(cause, idempotent)) == "sent"
