"""Summaries without Telegram: topics, bullet checks, windows, links, the log's retention,
chat exports, and `sanad summarize` / `sanad import-history`."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.chatlog import LoggedMessage, MessageLog
from bot.cli import app
from bot.export import read_export
from bot.storage import ChatStore
from bot.summaries import Window, message_link, parse_window
from retrieval.config import load_settings
from retrieval.summaries import check_bullet, group_topics
from retrieval.threads import ChatMessage
from tests.test_bot_summaries import BRIDGE, FLIGHTS
from tests.test_bot_summary_extras import export_of

CHAT = [
    "The bridge in Kabul is closed until Friday for repairs",
    "Which bridge? The Bagh-e Umumi bridge?",
    "Yes, the Bagh-e Umumi bridge, closed until Friday",
]


def test_a_bullet_passes_only_when_its_messages_say_it():
    others = [*CHAT, "Flights from Herat are cancelled because of dust"]
    assert check_bullet("The Bagh-e Umumi bridge in Kabul is closed until Friday.", CHAT, others)
    assert not check_bullet("The Kandahar airport was closed after an attack.", CHAT, others)
    # One unsupported sentence is enough to drop the bullet.
    assert not check_bullet(
        "The bridge is closed until Friday. Three people were hurt in a blast.", CHAT, others
    )
    assert not check_bullet("", CHAT, others)


def test_picked_messages_are_not_near_duplicates():
    texts = [
        "Herat airport flights are cancelled today because of the dust storm",
        "Herat airport flights are cancelled today because of the dust storm!!",
        "Herat airport flights cancelled today, dust storm again",
        "The dust storm at Herat airport should clear by tomorrow evening",
        "Herat airport says flights resume tomorrow if the dust storm clears",
        "Dust storm or not, Herat airport flights were full all week",
    ]
    messages = [ChatMessage(i, f"u{i % 3}", t, float(i)) for i, t in enumerate(texts)]
    [topic] = group_topics(messages)
    assert len(topic.picked) == 3
    assert not {0, 1} <= set(topic.picked)
    assert "Herat" in topic.words


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ali", "sara", "omid"]),
            st.text(alphabet="abc پل مطار هرات bridge flight\n", max_size=40),
            st.integers(min_value=0, max_value=30),
        ),
        max_size=30,
    )
)
def test_every_message_is_in_one_topic_and_picks_come_from_their_topic(rows):
    messages = [
        ChatMessage(i, a, t, float(i), r if r < i else None) for i, (a, t, r) in enumerate(rows)
    ]
    topics = group_topics(messages)
    seen = [i for t in topics for i in t.message_ids]
    assert len(seen) == len(set(seen))
    assert set(seen) == {m.id for m in messages if m.text.strip()}
    for t in topics:
        assert set(t.picked) <= set(t.message_ids)
        assert 1 <= len(t.picked) <= 3


@pytest.mark.parametrize(
    ("words", "window"),
    [
        ([], Window()),
        (["2h"], Window(hours=2.0)),
        (["۳d"], Window(hours=72.0)),
        (["٢٠٠"], Window(last=200)),
        (["all", "90m"], Window(hours=1.5, whole_group=True)),
        (["https://t.me/c/1234567890/77/123"], Window(from_id=123, link_chat="1234567890")),
        (["t.me/NewsRoom/55"], Window(from_id=55, link_chat="@newsroom")),
    ],
)
def test_windows_parse(words, window):
    assert parse_window(words) == window


@pytest.mark.parametrize(
    "words", [["5x"], ["0"], ["2h", "3d"], ["0h"], ["all", "all"], ["x.com/a/1"]]
)
def test_bad_windows_do_not_parse(words):
    assert parse_window(words) is None


def test_message_links_follow_the_chat_kind():
    assert message_link(-1001234567890, 5) == "https://t.me/c/1234567890/5"
    assert message_link(-1001234567890, 5, thread_id=77) == "https://t.me/c/1234567890/77/5"
    assert message_link(-1001234567890, 5, "newsroom") == "https://t.me/newsroom/5"
    assert message_link(-4567, 5) is None  # basic groups have no message links


def _log(data_dir: Path, backend: str | None = None, **kwargs: object) -> MessageLog:
    """A message log on SQLite in `data_dir`, or on the PostgreSQL database `backend` names."""
    options: dict[str, object] = {"days": 7.0, "per_chat": 100, "tag": "#nosummary", **kwargs}
    config = load_settings(data_dir=data_dir, database_url=backend)
    return MessageLog(ChatStore.open(config), **options)  # type: ignore[arg-type]


def test_the_log_keeps_nothing_until_logging_is_on_then_honours_retention(backend, tmp_path):
    log = _log(tmp_path, backend)
    now = time.time()
    old = LoggedMessage(-100, 1, "ali", now - 8 * 86400, "an old message")
    assert not log.keep(old)  # logging is off
    log.update_settings(-100, logging=1)
    log.update_settings(-200, logging=1)
    assert log.keep(old)
    for i in range(2, 130):
        log.keep(LoggedMessage(-100, i, "sara", now - 3600 + i, f"message {i}"))
    log.keep(LoggedMessage(-200, 1, "omid", now, "another chat"))
    assert log.purge() == 1 + 28  # eight days old; beyond 100 in chat -100
    messages, cut = log.window(-100, cap=1000, since=0)
    assert [m.message_id for m in messages] == list(range(30, 130))
    assert not cut
    assert log.window(-200, cap=1000)[0][0].text == "another chat"
    last, cut = log.window(-100, cap=10, last=50)
    assert len(last) == 10
    assert cut
    log.store.close()


def test_an_export_is_read_and_a_malformed_one_says_why():
    export = read_export(export_of([BRIDGE, FLIGHTS]))
    assert export.chat_id == -1001234567890
    assert len(export.messages) == 8  # the join notice is left out
    assert export.messages[0].text == BRIDGE[0][1]  # text parts joined
    assert export.messages[0].author_id == BRIDGE[0][0]
    assert export.messages[2].reply_to == export.messages[0].message_id
    for raw, reason in [
        (b"not json", "not JSON"),
        (b'{"id": 1}', "no list of messages"),
        (b'{"messages": []}', "the chat's id is missing"),
        (b'{"id": 1, "messages": [{"id": 2, "text": "hi"}]}', "message 1 lacks a usable"),
    ]:
        with pytest.raises(ValueError, match=reason):
            read_export(raw)


def test_sanad_summarize_prints_a_bullet_per_topic_with_message_ids(tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(export_of([BRIDGE, FLIGHTS]))
    result = CliRunner().invoke(app, ["summarize", str(path), "--window", "all", "--lang", "fa"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("خلاصهٔ 8 پیام")
    bullets = result.output.strip().split("\n\n")[1:]
    assert len(bullets) == 2
    assert all("4 پیام" in b for b in bullets)
    shown = [{int(i) for i in re.findall(r"\[#(\d+)\]", b)} for b in bullets]
    bridge, flights = {10, 12, 14, 16}, {11, 13, 15, 17}  # as export_of interleaves them
    assert sorted(bool(ids <= bridge) for ids in shown) == [False, True]
    assert sorted(bool(ids <= flights) for ids in shown) == [False, True]
    bad = tmp_path / "bad.json"
    bad.write_text('{"messages": 3}')
    failed = CliRunner().invoke(app, ["summarize", str(bad)])
    assert failed.exit_code == 2
    assert "no list of messages" in failed.output


def test_sanad_import_history_needs_logging_on_then_adds_once(backend, tmp_path, monkeypatch):
    if backend:
        monkeypatch.setenv("SANAD_DATABASE_URL", backend)
    path = tmp_path / "result.json"
    path.write_bytes(export_of([BRIDGE, FLIGHTS]))
    args = ["import-history", str(path), "--chat", "-1001234567890"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2
    assert "/summaries on" in refused.output
    data_dir = Path(os.environ["SANAD_DATA_DIR"])
    log = _log(data_dir, backend)
    log.update_settings(-1001234567890, logging=1)
    log.store.close()
    first = CliRunner().invoke(app, args)
    second = CliRunner().invoke(app, args)
    assert first.output.strip() == "added 8 of 8 messages to the log of chat -1001234567890"
    assert second.output.startswith("added 0 of 8")


def test_on_the_labelled_set_every_shown_bullet_links_only_to_its_own_topic():
    import benchmarks.summaries as bench

    messages, topic_of = bench.load()
    assert len(messages) >= 300
    assert len(set(topic_of.values())) >= 6
    figures = bench.quality(messages, topic_of)
    assert figures["link precision (shown bullets)"] == 1.0
    assert figures["majority share"] >= 0.9
    assert figures["ARI"] >= 0.5


def test_vectors_join_conversations_that_share_meaning_but_no_words():
    import numpy as np

    import benchmarks.summaries as bench

    messages, topic_of = bench.load()
    topics = sorted(set(topic_of.values()))
    text_topic = {m.text: topic_of[m.id] for m in messages}
    asked: list[int] = []

    def meaning(texts: list[str]) -> np.ndarray:
        """A perfect multilingual model: a message's vector is its topic's."""
        asked.append(len(texts))
        return np.eye(len(topics))[[topics.index(text_topic[t]) for t in texts]]

    keys_only = bench.quality(messages, topic_of)
    with_vectors = bench.quality(messages, topic_of, meaning)
    assert asked == [len(messages)]  # one batch: every message embedded once
    assert with_vectors["groups"] < keys_only["groups"]
    assert with_vectors["ARI"] > keys_only["ARI"] + 0.1
    assert with_vectors["link precision (shown bullets)"] == 1.0
    few = [m for m in messages if topic_of[m.id] == "power"][:5]
    group_topics(few, meaning)
    assert asked == [len(messages)]  # too few conversations to judge by vectors
