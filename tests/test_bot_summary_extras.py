"""Summaries beyond /summary: the daily digest, history import, and the LLM's bullets."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from tests.bot_harness import bot_settings, llm_bot_settings, running
from tests.fake_telegram import FakeBotAPI, bare
from tests.test_bot_summaries import ADMIN, ALI, BRIDGE, FLIGHTS, GROUP, push_topics, turn_on


def export_of(topics: list[list[tuple[int, str, int | None]]], own_id: int = 1234567890) -> bytes:
    """A Telegram Desktop export holding the topics interleaved, with a join notice,
    sent an hour ago: well within the log's retention (a fixed date would fall out of
    it as the calendar moves on, and the log would prune the messages it imports)."""
    start = int(time.time()) - 3600
    messages: list[dict[str, Any]] = [
        {"id": 1, "type": "service", "action": "join_group_by_link", "date_unixtime": str(start)}
    ]
    for i in range(len(topics[0])):
        for t, topic in enumerate(topics):
            user, text, reply = topic[i]
            message_id = 10 + i * len(topics) + t
            message: dict[str, Any] = {
                "id": message_id,
                "type": "message",
                "date_unixtime": str(start + message_id * 30),
                "from": f"U{user}",
                "from_id": f"user{user}",
                "text": [text[:4], {"type": "bold", "text": text[4:]}],
            }
            if reply is not None:
                message["reply_to_message_id"] = 10 + reply * len(topics) + t
            messages.append(message)
    data = {"name": "Analysts", "type": "private_supergroup", "id": own_id, "messages": messages}
    return json.dumps(data, ensure_ascii=False).encode()


def send_file(api: FakeBotAPI, user_id: int, name: str, data: bytes) -> dict[str, Any]:
    file_id = f"f{len(api.files)}"
    api.files[file_id] = data
    chat = {"id": user_id, "type": "private", "first_name": f"U{user_id}"}
    doc = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": name}
    return api.push(api.message(chat, user_id, "en", document={**doc, "file_size": len(data)}))


async def test_an_admins_export_fills_the_log_and_a_malformed_one_changes_nothing(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        await turn_on(api)
        send_file(api, ALI, "result.json", export_of([BRIDGE, FLIGHTS]))
        [refused] = await api.wait_sent(ALI)
        send_file(api, ADMIN, "result.json", b'{"name": "x", "messages": [1, 2]}')
        [bad] = await api.wait_sent(ADMIN)
        api.push(api.group_text(GROUP, ALI, "/summary 200"))
        empty = (await api.wait_sent(GROUP, 2))[-1]
        send_file(api, ADMIN, "result.json", export_of([BRIDGE, FLIGHTS]))
        done = (await api.wait_sent(ADMIN, 2))[-1]
        send_file(api, ADMIN, "result.json", export_of([BRIDGE, FLIGHTS]))
        again = (await api.wait_sent(ADMIN, 3))[-1]
        api.push(api.group_text(GROUP, ALI, "/summary 200"))
        summary = (await api.wait_sent(GROUP, 3))[-1]
    assert refused["text"] == "Only this chat's admins can do that."
    assert bad["text"].startswith("This file is not a Telegram chat export (")
    assert bad["text"].endswith("Nothing was changed.")
    assert empty["text"] == "No messages in that window."
    assert done["text"] == "Added 8 message(s) from the export to the log of “Analysts”."
    assert again["text"].startswith("Added 0 message(s)")  # an import twice adds nothing
    assert "Summary of 8 messages" in summary["text"]
    assert len(summary["html"].split("\n\n")) == 3  # the header and two topics


async def test_an_export_of_a_chat_that_does_not_log_is_refused(api, monkeypatch):
    async with running(api, bot_settings(api, monkeypatch)):
        api.admins[GROUP].add(ADMIN)
        send_file(api, ADMIN, "result.json", export_of([BRIDGE, FLIGHTS]))
        [reply] = await api.wait_sent(ADMIN)
    assert reply["text"].startswith("Logging is not on in that chat")


async def test_the_daily_digest_fires_and_survives_a_restart(api, monkeypatch):
    settings = bot_settings(api, monkeypatch)
    async with running(api, settings) as app:
        await turn_on(api)
        push_topics(api)
        api.push(api.group_text(GROUP, ALI, "/digest 07:30"))
        refused = (await api.wait_sent(GROUP, 2))[-1]
        # Updates are handled concurrently: the next command waits for the reply to this one.
        api.push(api.group_text(GROUP, ADMIN, "/digest tz Asia/Kabul"))
        await api.wait_sent(GROUP, 3)
        api.push(api.group_text(GROUP, ADMIN, "/digest 07:30"))
        set_ = (await api.wait_sent(GROUP, 4))[-1]
        [job] = app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
        assert job.next_t is not None
        assert (job.next_t.hour, job.next_t.minute) == (7, 30)
        assert str(job.next_t.tzinfo) == "Asia/Kabul"
    async with running(api, settings) as app:
        [job] = app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
        job.job.modify(next_run_time=datetime.now(UTC))  # the test drives the clock
        digest = (await api.wait_sent(GROUP, 5, timeout=30))[-1]
        # Fired again the same day (a restart, another replica taking the lead): the day's
        # digest is already posted.
        job.job.modify(next_run_time=datetime.now(UTC))
        await asyncio.sleep(1.0)
        await api.settle()
        assert len(api.sent(GROUP)) == 5
        api.push(api.group_text(GROUP, ADMIN, "/digest off"))
        off = (await api.wait_sent(GROUP, 6))[-1]
        await api.settle()
        assert not app.job_queue.get_jobs_by_name(f"digest:{GROUP}")
    assert refused["text"] == "Only this chat's admins can do that."
    assert set_["text"].startswith("A daily summary will be posted every day at 07:30 (Asia/Kabul)")
    assert bare(digest["text"]).startswith("Daily summary")
    assert "Summary of 8 messages" in digest["text"]
    assert digest["reply_markup"]["inline_keyboard"]
    assert off["text"] == "The daily summary is off."


async def test_llm_bullets_are_checked_and_an_unsupported_one_is_dropped(api, llm, monkeypatch):
    settings = llm_bot_settings(api, llm, monkeypatch)
    # Topics come largest first, then the latest: the flights (their last message is later).
    llm.enqueue("تم إغلاق مطار قندهار بسبب هجوم مسلح.")  # Kandahar, an attack: nobody said
    llm.enqueue("پل باغ عمومی کابل برای ترمیم تا جمعه بسته است.")  # its messages say so
    async with running(api, settings):
        await turn_on(api)
        topics = push_topics(api)
        await api.settle()
        api.push(api.group_text(GROUP, ALI, "/summary 1h"))
        summary = (await api.wait_sent(GROUP, 2, timeout=30))[-1]
    prompts = [json.dumps(h["messages"], ensure_ascii=False) for h in llm.history]
    assert len(prompts) == 2
    bridge_prompt = next(p for p in prompts if "باغ عمومی" in p)
    assert "مطار" not in bridge_prompt  # each bullet is written from its own topic only
    text = bare(summary["text"])
    assert "پل باغ عمومی کابل برای ترمیم تا جمعه بسته است." in text
    assert "قندهار" not in text
    assert "1 bullet(s) their messages did not support were left out." in text
    [bullet] = summary["html"].split("\n\n")[1:-1]
    linked = {int(h.rsplit("/", 1)[1]) for h in re.findall(r'href="([^"]+)"', bullet)}
    assert linked
    assert linked <= topics["bridge"]
