"""Separating interleaved conversations (retrieval/threads.py) and `sanad threads`."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from bot.cli import app
from retrieval.threads import ChatMessage, separate

# Two conversations at once in a Kabul group, in three languages: the price of flour
# (topic A) and a road closed by snow (topic B). Replies, names and plain follow-ups.
CHAT = [
    ("A", ChatMessage(1, "Karim", "قیمت آرد در بازار کابل امروز چند است؟", 600.0)),
    ("B", ChatMessage(2, "Laila", "Is the Salang pass open today? I need to drive north.", 600.0)),
    ("A", ChatMessage(3, "Omar", "سعر كيس الطحين ارتفع إلى ألفي أفغاني", 601.0, reply_to=1)),
    ("B", ChatMessage(4, "Nadia", "Laila: closed since last night, snow on the road", 601.0)),
    ("A", ChatMessage(5, "Karim", "یعنی دو برابر ماه گذشته؟", 602.0)),
    ("B", ChatMessage(6, "Laila", "thanks, any idea when they will open it?", 602.0)),
    ("A", ChatMessage(7, "Omar", "Karim: نعم تقريباً الضعف", 603.0)),
    ("B", ChatMessage(8, "Nadia", "the ministry said tomorrow morning", 603.0, reply_to=6)),
    ("X", ChatMessage(9, "bot", "Hamid joined the group", 604.0, system=True)),
]


def test_two_interleaved_conversations_in_three_languages_come_apart():
    conv = separate([m for _, m in CHAT])
    topics = (
        {conv[m.id] for topic, m in CHAT if topic == "A"},
        {conv[m.id] for topic, m in CHAT if topic == "B"},
    )
    assert topics == ({1}, {2})  # each topic one conversation, named by its first message
    assert conv[9] == 9  # a join notice is a conversation of its own


def test_a_message_that_names_nobody_and_shares_nothing_starts_a_new_conversation():
    late = ChatMessage(
        10, "Farid", "Does anyone have the exam results for Herat university?", 640.0
    )
    conv = separate([m for _, m in CHAT] + [late])
    assert conv[10] == 10


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ali", "sara", "Ali", "@sara", "omar"]),
            st.text(max_size=40),
            st.one_of(st.none(), st.integers(0, 30)),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_every_conversation_is_named_by_an_earlier_message(rows):
    messages = [
        ChatMessage(i, author, text, float(i), reply_to=reply, system=system)
        for i, (author, text, reply, system) in enumerate(rows)
    ]
    conv = separate(messages)
    assert set(conv) == {m.id for m in messages}
    for m in messages:
        assert conv[m.id] <= m.id  # a message joins what came before it, or starts anew
        assert conv[conv[m.id]] == conv[m.id]


def test_sanad_threads_prints_the_scored_lines_and_rejects_bad_ones(tmp_path):
    lines = [
        {
            "id": 0,
            "time": None,
            "author": "x",
            "text": "x joined",
            "type": "system",
            "context": True,
        },
        {"id": 1, "time": "23:59", "author": "ali", "text": "is the pass open?"},
        {
            "id": 2,
            "time": "00:01",
            "author": "sara",
            "text": "ali: closed, snow",
            "type": "message",
        },
    ]
    log = tmp_path / "chat.jsonl"
    log.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = CliRunner().invoke(app, ["threads", str(log)])
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines()]
    assert printed == [{"id": 1, "conv": 1}, {"id": 2, "conv": 1}]  # across midnight too

    log.write_text(json.dumps(lines[1]) + "\n" + json.dumps({"id": 3, "text": "hi"}))
    result = CliRunner().invoke(app, ["threads", str(log)])
    assert result.exit_code == 2
    assert "line 2: a chat message needs 'author'" in result.output
