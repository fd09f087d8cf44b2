"""Groups and forum topics: the bot answers only what is meant for it, in the same thread."""

from __future__ import annotations

import time

from tests.bot_harness import bot_settings, running
from tests.fake_telegram import BOT_USERNAME, _entities, bare

GROUP = -1001234567890
ALICE, BOB = 501, 502
QUESTION = "ماذا قال الجنرال مارك ميلي عن التعاون مع طالبان؟"


async def test_mention_is_answered_and_plain_chatter_ignored(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        chatter = api.push(api.group_text(GROUP, BOB, "صباح الخير، هل قرأتم تقرير اليوم؟"))
        asked = api.push(api.group_text(GROUP, ALICE, f"@{BOT_USERNAME} {QUESTION}"))
        [reply] = await api.wait_sent(GROUP)
        await api.wait_for(lambda: len(api.calls("getUpdates")) > 3)  # chatter was seen…
    assert len(api.sent(GROUP)) == 1  # …and not answered
    assert bare(reply["text"]).startswith("وفقاً للمصادر:")
    assert reply["reply_parameters"]["message_id"] == asked["message"]["message_id"]
    assert reply["reply_parameters"]["message_id"] != chatter["message"]["message_id"]


async def test_reply_to_the_bots_message_is_a_question(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.group_text(GROUP, ALICE, f"/ask {QUESTION}"))
        [first] = await api.wait_sent(GROUP)
        bot_message = {k: first[k] for k in ("message_id", "date", "chat", "from", "text")}
        api.push(api.group_text(GROUP, BOB, QUESTION, reply_to_message=bot_message))
        sent = await api.wait_sent(GROUP, 2)
    assert bare(sent[1]["text"]).startswith("وفقاً للمصادر:")
    assert first["reply_markup"]["inline_keyboard"][0][0]["text"] == "Sources"  # Alice's UI: en


async def test_ask_in_a_forum_topic_is_answered_in_that_topic(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(
            api.group_text(
                GROUP,
                ALICE,
                f"/ask@{BOT_USERNAME} {QUESTION}",
                forum=True,
                message_thread_id=77,
                is_topic_message=True,
            )
        )
        [reply] = await api.wait_sent(GROUP)
    assert reply["message_thread_id"] == 77
    assert "[1]" in reply["text"]


async def test_bare_ask_explains_itself(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.group_text(GROUP, ALICE, "/ask"))
        [reply] = await api.wait_sent(GROUP)
    assert reply["text"].startswith("Write the question after the command")


async def test_group_memory_is_per_user(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.group_text(GROUP, ALICE, f"/ask {QUESTION}"))
        await api.wait_sent(GROUP)
        api.push(api.group_text(GROUP, BOB, "/sources"))
        sent = await api.wait_sent(GROUP, 2)
        api.push(api.group_text(GROUP, ALICE, "/sources"))
        sent = await api.wait_sent(GROUP, 3)
    assert sent[1]["text"].startswith("There is no answer with sources")  # Bob asked nothing
    assert "<blockquote expandable>" in sent[2]["html"]


async def test_an_edited_question_is_not_answered_again(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        asked = api.private_text(ALICE, QUESTION, lang="fa")
        api.push(asked)
        await api.wait_sent(ALICE)
        edited = {"edited_message": {**asked["message"], "edit_date": int(time.time())}}
        edited["edited_message"]["text"] = QUESTION + " دقیقاً"
        api.push(edited)
        api.push(api.private_text(ALICE, "/help", lang="fa"))  # handled after the edit
        await api.wait_sent(ALICE, 2)
        await api.settle()
    texts = [m["text"] for m in api.sent(ALICE)]
    assert len(texts) == 2
    assert "/sources" in texts[1]


async def test_channel_posts_are_not_questions(api, monkeypatch):
    channel = {"id": -1009876, "type": "channel", "title": "News"}
    async with running(api, bot_settings(api, monkeypatch)):
        for text in (f"/ask {QUESTION}", f"@{BOT_USERNAME} {QUESTION}", "/start"):
            post = api.message(channel, ALICE, text=text, **_entities(text))
            del post["message"]["from"]
            api.push({"channel_post": post["message"]})
        api.push(api.group_text(GROUP, ALICE, f"/ask {QUESTION}"))  # groups still are
        await api.wait_sent(GROUP)
        await api.settle()
    assert api.sent(channel["id"]) == []
