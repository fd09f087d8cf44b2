"""Group and channel summaries through the fake Bot API: the opt-in log, /summary and its
links and buttons, forum topics, channels, edits, #nosummary, forgetting, limits."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.bot_harness import bot_settings, running
from tests.fake_telegram import FakeBotAPI, bare

GROUP = -1001234567890
INTERNAL = "1234567890"
ADMIN, ALI, SARA, OMID, HUDA, MARK = 600, 601, 602, 603, 604, 605

#: Two topics interleaved, each in more than one language, joined by replies as people
#: use them: a bridge closed in Kabul (Dari, English) and cancelled flights (Arabic, English).
BRIDGE = [
    (ALI, "پل باغ عمومی کابل امروز بسته است؟", None),
    (SARA, "بله، پل باغ عمومی برای ترمیم تا جمعه بسته است", 0),
    (MARK, "Thanks, so the Bagh-e Umumi bridge is closed until Friday. Any detour?", 1),
    (SARA, "از راه پل محمود خان بروید، ترافیک پل کمتر است", 2),
]
FLIGHTS = [
    (OMID, "هل رحلات مطار هرات إلى كابول ما زالت ملغاة؟", None),
    (HUDA, "نعم، رحلات مطار هرات ملغاة بسبب الغبار حتى الغد", 0),
    (MARK, "Herat airport flights cancelled because of the dust, noted.", 1),
    (OMID, "شكراً، سأحجز رحلة مطار هرات بعد الغد", 0),
]


def _public(update: dict[str, Any]) -> dict[str, Any]:
    message = update["message"]
    return {k: message[k] for k in ("message_id", "date", "chat", "from", "text")}


def push_topics(api: FakeBotAPI, chat_id: int = GROUP, **extra: Any) -> dict[str, set[int]]:
    """Push the two topics interleaved; the message ids of each."""
    sent: dict[str, list[dict[str, Any]]] = {"bridge": [], "flights": []}
    for i in range(4):
        for name, topic in (("bridge", BRIDGE), ("flights", FLIGHTS)):
            user, text, reply = topic[i]
            replied = {} if reply is None else {"reply_to_message": _public(sent[name][reply])}
            sent[name].append(api.push(api.group_text(chat_id, user, text, **replied, **extra)))
    return {k: {u["message"]["message_id"] for u in v} for k, v in sent.items()}


def links(message: dict[str, Any]) -> list[str]:
    return re.findall(r'href="([^"]+)"', message["html"])


def message_ids(message: dict[str, Any], prefix: str) -> set[int]:
    return {int(link.rsplit("/", 1)[1]) for link in links(message) if link.startswith(prefix)}


async def turn_on(api: FakeBotAPI, chat_id: int = GROUP, **extra: Any) -> dict[str, Any]:
    api.admins[chat_id].add(ADMIN)
    before = len(api.sent(chat_id))
    api.push(api.group_text(chat_id, ADMIN, "/summaries on", **extra))
    sent = await api.wait_sent(chat_id, before + 1)
    return sent[-1]


async def test_only_a_chat_admin_turns_logging_on_and_the_notice_says_what_is_kept(
    api, monkeypatch
):
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.group_text(GROUP, ALI, "/summaries on"))
        [refused] = await api.wait_sent(GROUP)
        api.push(api.group_text(GROUP, ALI, "before logging is on"))
        notice = await turn_on(api)
        api.push(api.group_text(GROUP, ALI, "/summary 1h"))
        sent = await api.wait_sent(GROUP, 3)
    assert refused["text"] == "Only this chat's admins can do that."
    assert "7 days" in notice["text"]
    assert "#nosummary" in notice["text"]
    assert "/forgetme" in notice["text"]
    assert sent[-1]["text"] == "No messages in that window."  # nothing kept before /summaries on


async def test_each_bullet_links_only_to_messages_of_its_topic(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        await turn_on(api)
        topics = push_topics(api)
        await api.settle()
        api.push(api.group_text(GROUP, ALI, "/summary 1h"))
        sent = await api.wait_sent(GROUP, 2)
        summary = sent[-1]
        buttons = [b for row in summary["reply_markup"]["inline_keyboard"] for b in row]
        shown = []
        for n, button in enumerate(buttons, 2):
            api.push(api.press(ALI, summary, button["callback_data"]))
            shown.append((await api.wait_sent(GROUP, n + 1))[-1])
    bullets = summary["html"].split("\n\n")[1:]
    assert len(bullets) == 2
    assert [b["text"] for b in buttons] == ["Messages of 1", "Messages of 2"]
    for bullet, view in zip(bullets, shown, strict=True):
        ids = message_ids({"html": bullet}, f"https://t.me/c/{INTERNAL}/")
        topic = next(name for name, members in topics.items() if ids & members)
        assert ids <= topics[topic], f"bullet of {topic} links elsewhere: {bullet}"
        assert "4 messages" in bare(bullet)
        assert message_ids(view, f"https://t.me/c/{INTERNAL}/") == topics[topic]
    assert "<blockquote expandable>" in shown[0]["html"]


async def test_a_forum_topics_summary_stays_in_its_topic(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        here = {"forum": True, "message_thread_id": 77, "is_topic_message": True}
        there = {"forum": True, "message_thread_id": 88, "is_topic_message": True}
        await turn_on(api, **here)
        topics = push_topics(api, **here)
        api.push(api.group_text(GROUP, HUDA, "another topic's talk about the dust storm", **there))
        await api.settle()
        # Updates are handled concurrently: the second command waits for the first's reply.
        api.push(api.group_text(GROUP, ALI, "/summary 1h", **here))
        await api.wait_sent(GROUP, 2)
        api.push(api.group_text(GROUP, SARA, "/summary all 1h", **here))
        sent = await api.wait_sent(GROUP, 3)
    in_topic, whole = sent[1], sent[2]
    assert in_topic["message_thread_id"] == 77
    prefix = f"https://t.me/c/{INTERNAL}/77/"
    linked = message_ids(in_topic, prefix)
    assert linked
    assert linked <= topics["bridge"] | topics["flights"]
    assert "Summary of 8 messages" in in_topic["text"]
    assert "Summary of 9 messages" in whole["text"]


async def test_channel_posts_are_summarized_for_the_channels_admins_in_private(api, monkeypatch):
    channel = -1009999000111
    async with running(api, bot_settings(api, monkeypatch)):
        api.push(api.channel_post(channel, "/summaries on", username="newsroom"))
        await api.wait_sent(channel)
        first = api.push(
            api.channel_post(
                channel, "Herat airport flights are cancelled today", username="newsroom"
            )
        )
        api.push(api.edited(first, "Herat airport flights are cancelled until Sunday"))
        api.push(
            api.channel_post(channel, "Herat airport reopens Sunday morning", username="newsroom")
        )
        await api.settle()
        api.push(api.private_text(MARK, "/summary @newsroom 24h"))
        [refused] = await api.wait_sent(MARK)
        api.admins[channel].add(MARK)
        api.push(api.private_text(MARK, "/summary @newsroom 24h"))
        sent = await api.wait_sent(MARK, 2)
    assert refused["text"] == "Only admins of @newsroom can summarize it."
    summary = sent[1]
    assert "Summary of 2 messages" in summary["text"]
    assert "until Sunday" in summary["text"] or "reopens Sunday" in summary["text"]
    assert "cancelled today" not in summary["text"]  # the edit replaced the text
    assert all(link.startswith("https://t.me/newsroom/") for link in links(summary))


async def test_nosummary_and_edits_decide_what_is_kept(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        await turn_on(api)
        api.push(api.group_text(GROUP, ALI, "The convoy leaves Kandahar at dawn #nosummary"))
        kept = api.push(api.group_text(GROUP, SARA, "The market in Herat opens late today"))
        later = api.push(api.group_text(GROUP, OMID, "The market in Mazar opens early"))
        api.push(api.edited(kept, "The market in Herat is closed today"))
        api.push(api.edited(later, "never mind #NoSummary"))
        await api.settle()
        api.push(api.group_text(GROUP, ALI, "/summary 1h"))
        sent = await api.wait_sent(GROUP, 2)
    text = sent[-1]["text"]
    assert "Summary of 1 messages" in text
    assert "closed today" in text
    assert "Kandahar" not in text
    assert "Mazar" not in text


async def test_forget_and_forgetme_erase_what_they_say(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        await turn_on(api)
        push_topics(api)
        await api.settle()
        api.push(api.private_text(MARK, "/forgetme"))
        [gone] = await api.wait_sent(MARK)
        api.push(api.group_text(GROUP, ALI, "/summary 1h"))
        summary = (await api.wait_sent(GROUP, 2))[-1]
        api.push(api.group_text(GROUP, ALI, "/forget"))
        refused = (await api.wait_sent(GROUP, 3))[-1]
        api.push(api.group_text(GROUP, ADMIN, "/forget"))
        forgotten = (await api.wait_sent(GROUP, 4))[-1]
        api.push(api.group_text(GROUP, SARA, "/summary 1h"))
        empty = (await api.wait_sent(GROUP, 5))[-1]
    assert gone["text"] == "Deleted 2 of your message(s) from every log."
    assert "Summary of 6 messages" in summary["text"]
    assert "U605" not in summary["text"]  # Mark's name went with his messages
    assert refused["text"] == "Only this chat's admins can do that."
    assert forgotten["text"] == "Deleted 6 stored message(s) of this chat."
    assert empty["text"] == "No messages in that window."


@pytest.mark.parametrize("window", ["5x", "1h 2h", "https://t.me/c/555/12"])
async def test_a_bad_window_gets_the_usage_line(api, monkeypatch, window):
    async with running(api, bot_settings(api, monkeypatch)):
        await turn_on(api)
        api.push(api.group_text(GROUP, ALI, f"/summary {window}"))
        reply = (await api.wait_sent(GROUP, 2))[-1]
    assert reply["text"].startswith(("Usage: /summary", "That link is to a message in another"))


async def test_summaries_are_rate_limited_per_user(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        await turn_on(api)
        push_topics(api)
        await api.settle()
        for _ in range(4):
            api.push(api.group_text(GROUP, ALI, "/summary 10"))
        await api.wait_sent(GROUP, 5)
        api.push(api.group_text(GROUP, SARA, "/summary 10"))
        sent = await api.wait_sent(GROUP, 6)
    texts = [m["text"] for m in sent[1:]]
    assert sum(t.startswith("Summary of 8 messages") for t in texts) == 4
    assert sum(t.startswith("Too many summaries") for t in texts) == 1


async def test_the_purge_job_drops_messages_past_their_retention(api, monkeypatch):
    settings = bot_settings(
        api, monkeypatch, SANAD_SUMMARY_LOG_DAYS="0.00006", SANAD_PURGE_MINUTES="0.02"
    )  # 5.2 seconds; purged every 1.2 seconds
    async with running(api, settings):
        await turn_on(api)
        push_topics(api)
        await api.settle()
        api.push(api.group_text(GROUP, ALI, "/summary 200"))
        kept = (await api.wait_sent(GROUP, 2))[-1]
        await asyncio.sleep(7)
        api.push(api.group_text(GROUP, ALI, "/summary 200"))
        purged = (await api.wait_sent(GROUP, 3))[-1]
    assert "Summary of 8 messages" in kept["text"]
    assert purged["text"] == "No messages in that window."
