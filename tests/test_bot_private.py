"""A private chat end to end: real Application, fake Bot API server over loopback HTTP."""

from __future__ import annotations

import pytest

from tests.bot_harness import bot_settings, running
from tests.fake_telegram import bare, public

USER = 4242
FA_QUESTION = "پوتین در نشست سازمان شانگهای در آستانه درباره طالبان چه گفت؟"
AR_QUESTION = "ماذا قال الجنرال مارك ميلي عن التعاون مع طالبان؟"


async def test_private_question_gets_cited_answer_with_buttons(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, FA_QUESTION, lang="fa"))
        [reply] = await api.wait_sent(USER)
    assert reply["text"].startswith("بر اساس منابع:")
    assert "[1]" in reply["text"]
    # The compact source list: "[1] Title — publisher, date", the title a link.
    shown = bare(reply["text"])
    assert "\n[1] پوتین طالبان را متحد روسیه" in shown
    assert "— ایندیپندنت فارسی، 2024-07-04" in shown  # no English gloss in a Dari line
    rows = reply["reply_markup"]["inline_keyboard"]
    assert rows[0][0]["text"] == "منابع"
    assert rows[1][0]["text"] == "[1]"
    assert all(len(b["callback_data"].encode()) <= 64 for row in rows for b in row)
    assert reply["reply_parameters"] is None  # private: no need to quote the question


async def test_sources_and_single_citation_buttons_show_passages(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, FA_QUESTION, lang="fa"))
        [answer] = await api.wait_sent(USER)
        rows = answer["reply_markup"]["inline_keyboard"]
        api.push(api.press(USER, public(answer), rows[1][0]["callback_data"]))
        sent = await api.wait_sent(USER, 2)
        api.push(api.press(USER, public(answer), rows[0][0]["callback_data"]))
        sent = await api.wait_sent(USER, 3)
    one = sent[1]
    assert "<blockquote expandable>" in one["html"]
    assert one["bold"], "the quoted span is in bold"
    assert one["bold"][0].strip("\u2066\u2069") in one["text"]
    assert one["reply_parameters"]["message_id"] == answer["message_id"]
    everything = sent[2:]
    assert sum(m["html"].count("<blockquote expandable>") for m in everything) == len(rows[1])
    assert len(api.calls("answerCallbackQuery")) == 2


async def test_buttons_keep_working_after_a_restart(api, monkeypatch):
    settings = bot_settings(api, monkeypatch)
    async with running(api, settings):
        api.push(api.private_text(USER, AR_QUESTION, lang="ar"))
        [answer] = await api.wait_sent(USER)
    data = answer["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.press(USER, public(answer), data))
        sent = await api.wait_sent(USER, 2)
    assert "<blockquote expandable>" in sent[1]["html"]


async def test_unknown_answer_button_says_so_instead_of_failing(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        message = {"message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"}}
        api.push(api.press(USER, message, "c:doesnotexist:1"))
        await api.wait_for(lambda: api.calls("answerCallbackQuery"))
    call = api.calls("answerCallbackQuery")[0]
    assert call.params["show_alert"] in ("true", True)
    assert "no longer stored" in call.params["text"]


@pytest.mark.parametrize(
    ("lang", "question", "expected"),
    [
        ("fa", FA_QUESTION, "بر اساس منابع:"),
        ("ar", AR_QUESTION, "وفقاً للمصادر:"),
        # Lexical-only search cannot cross languages, and says so in English.
        ("en", "What did Putin say about the Taliban in Astana?", "Without the multilingual model"),
    ],
)
async def test_answers_follow_the_question_language(api, monkeypatch, lang, question, expected):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, question, lang=None))
        [reply] = await api.wait_sent(USER)
    assert reply["text"].startswith(expected)


async def test_commands_are_registered_per_language_and_answer(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        commands = ("/start", "/help", "/about", "/sources", "/lang xx", "/lang ar", "/new")
        for i, command in enumerate(commands, 1):  # one at a time: updates run concurrently
            api.push(api.private_text(USER, command, lang="fa"))
            sent = await api.wait_sent(USER, i)
    texts = [bare(m["text"]) for m in sent]
    assert texts[0].startswith("سلام!")
    assert "/sources" in texts[1]
    assert "اسناد: 5" in texts[2]
    assert "زبان‌ها: عربی (2)، فارسی/دری (3)" in texts[2]
    assert "تنها واژه‌ها" in texts[2]  # lexical-only retrieval, said in Dari
    assert texts[3].startswith("هنوز پاسخی")
    assert "/lang fa" in texts[4]
    assert texts[5] == "لغة الواجهة: العربية."
    assert texts[6].startswith("نُسيت المحادثة")  # /lang ar took effect
    by_lang = {
        c.params.get("language_code"): c.params["commands"] for c in api.calls("setMyCommands")
    }
    assert set(by_lang) == {"fa", "ar", "en", None}
    assert [c["command"] for c in by_lang["fa"]] == [
        "start",
        "help",
        "ask",
        "sources",
        "summary",
        "lang",
        "new",
        "forgetme",
        "about",
    ]
    assert by_lang["ar"][2]["description"] == "اسأل المصادر"


async def test_sources_command_shows_the_last_answers_passages(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, FA_QUESTION, lang="fa"))
        await api.wait_sent(USER)
        api.push(api.private_text(USER, "/sources", lang="fa"))
        await api.wait_sent(USER, 2)
        for n, command in enumerate(("/sources 1", "/sources ۱", "/sources 99", "/sources x")):
            api.push(api.private_text(USER, command, lang="fa"))
            sent = await api.wait_sent(USER, 3 + n)
    assert "<blockquote expandable>" in sent[1]["html"]
    for only_one in sent[2], sent[3]:  # in Latin or Persian digits
        assert only_one["html"].count("<blockquote") == 1  # only passage [1]
        assert bare(only_one["text"]).startswith("[1]")
    assert bare(sent[4]["text"]) == "پاسخ آخر منبع [99] ندارد."  # as `sanad chat` says it
    assert bare(sent[5]["text"]) == "استفاده: /sources یا /sources 2"
    assert "/sources" in sent[5]["text"]  # a command Telegram lets the reader tap


async def test_sticker_gets_text_only_reply_in_users_language(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        chat = {"id": USER, "type": "private", "first_name": "U"}
        sticker = {
            "file_id": "st",
            "file_unique_id": "st",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        api.push(api.message(chat, USER, "ar", sticker=sticker))
        [reply] = await api.wait_sent(USER)
    assert reply["text"] == "أفهم الرسائل النصية فقط. يرجى كتابة سؤالك."


async def test_blank_question_is_refused_politely(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, "   \n  ", lang="en"))
        [reply] = await api.wait_sent(USER)
    assert reply["text"] == "The message is empty. Please type your question."


async def test_follow_up_uses_the_remembered_question_and_new_forgets_it(api, monkeypatch):
    # A stricter keyword bar than the default, so that the follow-up alone is declined.
    monkeypatch.setenv("SANAD_DECLINE_LEXICAL", "0.4")
    async with running(api, bot_settings(api, monkeypatch)):
        for i, text in enumerate([AR_QUESTION, "وأين كان المؤتمر الصحافي؟", "/new"], 1):
            api.push(api.private_text(USER, text, lang="ar"))
            await api.wait_sent(USER, i)
        api.push(api.private_text(USER, "وأين كان المؤتمر الصحافي؟", lang="ar"))
        sent = await api.wait_sent(USER, 4)
    assert "الدوحة" in sent[1]["text"]
    assert bare(sent[3]["text"]) == "لا تذكر المصادر المتاحة شيئاً عن هذا."


async def test_a_button_shows_passages_only_in_the_chat_its_answer_was_given_in(api, monkeypatch):
    stranger = 777
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, FA_QUESTION, lang="fa"))
        [answer] = await api.wait_sent(USER)
        data = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        # The same button data, replayed from the stranger's own chat and from a group.
        elsewhere = {"message_id": 5, "date": 0, "chat": {"id": stranger, "type": "private"}}
        group = {"message_id": 6, "date": 0, "chat": {"id": -100123, "type": "supergroup"}}
        api.push(api.press(stranger, elsewhere, data))
        api.push(api.press(stranger, group, data))
        await api.wait_for(lambda: len(api.calls("answerCallbackQuery")) == 2)
        await api.settle()
    alerts = api.calls("answerCallbackQuery")
    assert all(call.params["show_alert"] in ("true", True) for call in alerts)
    assert api.sent(stranger) == []
    assert api.sent(-100123) == []


@pytest.mark.parametrize(
    "data", ["x:AAAAAAAAAAA:1", "c:{id}:-1", "c:{id}:1:extra", "c:{id}:0", "s:{id}:1"]
)
async def test_malformed_button_data_gets_an_alert_and_nothing_else(api, monkeypatch, data):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, FA_QUESTION, lang="fa"))
        [answer] = await api.wait_sent(USER)
        record_id = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"][2:]
        api.push(api.press(USER, public(answer), data.format(id=record_id)))
        await api.wait_for(lambda: api.calls("answerCallbackQuery"))
        await api.settle()
    [call] = api.calls("answerCallbackQuery")
    assert call.params["show_alert"] in ("true", True)
    assert len(api.sent(USER)) == 1  # the answer only: no passages


async def test_a_button_without_its_message_is_still_answered(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        update = api.press(USER, {}, "s:AAAAAAAAAAA")
        del update["callback_query"]["message"]
        api.push(update)
        await api.wait_for(lambda: api.calls("answerCallbackQuery"))
    assert api.calls("answerCallbackQuery")[0].params["show_alert"] in ("true", True)


@pytest.mark.parametrize("typed", ["\u200c\u200f\u200c", "🙂👍🏽", "\u2066 \u2069"])
async def test_invisible_or_emoji_only_messages_are_empty_questions(api, monkeypatch, typed):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.private_text(USER, typed, lang="fa"))
        [reply] = await api.wait_sent(USER)
    assert bare(reply["text"]) == "پیام خالی است. لطفاً پرسش خود را بنویسید."
