"""LLM mode in Telegram: streamed drafts, verified answers, translation, follow-ups."""

from __future__ import annotations

import itertools

from tests.bot_harness import TOKEN, llm_bot_settings, running
from tests.fake_telegram import bare, public
from tests.test_answer_llm import GOOD, QUESTION

USER, GROUP = 4242, -1009876


async def test_private_answer_streams_a_draft_then_the_verified_answer(api, llm, monkeypatch):
    llm.enqueue(f"{GOOD} [1].", step=0.3)
    async with running(api, llm_bot_settings(api, llm, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="en"))
        [answer] = await api.wait_sent(USER)
    drafts = api.calls("sendMessageDraft")
    assert drafts, "the draft was streamed"
    assert all(d.params["chat_id"] == USER and d.params["draft_id"] for d in drafts)
    assert len({d.params["draft_id"] for d in drafts}) == 1
    assert drafts[0].params["text"].rstrip("…") in GOOD + " [1]."
    assert api.calls("sendChatAction")[0].params["action"] == "typing"
    assert bare(answer["text"]).startswith(f"{GOOD} [1].")
    rows = answer["reply_markup"]["inline_keyboard"]
    assert rows[-1][0]["text"] == "Translate [1]"  # a Dari passage, an English interface


async def test_translate_button_renders_the_passage_in_the_users_language(api, llm, monkeypatch):
    llm.enqueue(f"{GOOD} [1].")
    llm.enqueue("Putin said Russia trusts the Taliban in the fight against terrorism.")
    async with running(api, llm_bot_settings(api, llm, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="en"))
        [answer] = await api.wait_sent(USER)
        button = answer["reply_markup"]["inline_keyboard"][-1][0]["callback_data"]
        api.push(api.press(USER, public(answer), button))
        translation = (await api.wait_sent(USER, 2))[1]
    assert bare(translation["text"]).startswith(
        "Translation (machine-made; the original is authoritative) [1]"
    )
    assert "Russia trusts the Taliban" in translation["text"]
    assert "English" in llm.messages()[0]["content"]


async def test_group_draft_is_one_message_edited_at_most_once_a_second(api, llm, monkeypatch):
    llm.enqueue(f"{GOOD} [1].", step=0.25)
    async with running(api, llm_bot_settings(api, llm, monkeypatch)):
        api.push(api.group_text(GROUP, USER, f"/ask {QUESTION}"))
        await api.wait_for(lambda: api.sent(GROUP) and api.sent(GROUP)[0].get("reply_markup"))
    [message] = api.sent(GROUP)
    assert bare(message["text"]).startswith(f"{GOOD} [1].")
    edits = api.calls("editMessageText")
    assert edits  # the draft was replaced in place
    times = [c.at for c in api.calls("sendMessage") + edits]
    # Draft updates come at most once a second; only the final edit may follow sooner.
    gaps = [b - a for a, b in itertools.pairwise(times[:-1])]
    assert all(g >= 0.95 for g in gaps)
    assert not api.calls("sendMessageDraft")  # drafts are for private chats


async def test_follow_ups_use_memory_that_survives_a_restart(api, llm, monkeypatch):
    settings = llm_bot_settings(api, llm, monkeypatch)
    llm.enqueue(f"{GOOD} [1].")
    async with running(api, settings):
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        await api.wait_sent(USER)
    llm.enqueue(QUESTION)  # the rewritten, standalone question
    llm.enqueue(f"{GOOD} [1].")
    async with running(api, llm_bot_settings(api, llm, monkeypatch)):
        api.push(api.private_text(USER, "و دربارهٔ روسیه چه گفت؟", lang="fa"))
        await api.wait_sent(USER, 2)
        rewrite = llm.messages(-2)[-1]["content"]
        api.push(api.private_text(USER, "/new", lang="fa"))
        await api.wait_sent(USER, 3)
        requests = len(llm.history)
        llm.enqueue(f"{GOOD} [1].")
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        await api.wait_sent(USER, 4)
    assert "<conversation>" in rewrite
    assert QUESTION in rewrite  # the first turn, remembered across the restart
    assert len(llm.history) == requests + 1  # after /new: no rewrite, just the answer


async def test_llm_down_still_answers_from_the_sources(api, llm, monkeypatch):
    llm.enqueue(status=500)
    async with running(api, llm_bot_settings(api, llm, monkeypatch)):
        api.push(api.private_text(USER, QUESTION, lang="fa"))
        [answer] = await api.wait_sent(USER)
    assert bare(answer["text"]).startswith("بر اساس منابع:")
    assert "مدل زبانی در دسترس نبود" in answer["text"]
    assert "sk-test-secret" not in str(api.history)
    assert TOKEN not in answer["text"]
