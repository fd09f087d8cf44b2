"""`sanad migrate`: a SQLite data dir moves into PostgreSQL with nothing lost."""

from __future__ import annotations

import time

import numpy as np
from typer.testing import CliRunner

from bot.chatlog import LoggedMessage, MessageLog
from bot.cli import app
from bot.storage import ChatStore
from retrieval.config import load_settings
from retrieval.index import SanadIndex
from retrieval.search import search
from tests.fake_embedder import FakeEmbedder
from tests.test_chat_state import _record


def _log(store: ChatStore) -> MessageLog:
    return MessageLog(store, days=7, per_chat=100, tag="#nosummary")


def test_a_used_data_dir_moves_into_postgresql_and_the_bot_finds_everything(
    postgres, tmp_path, corpus, monkeypatch
):
    data = tmp_path / "data"
    sqlite = load_settings(data_dir=data, corpus_dir=corpus, embedding_model="none")
    SanadIndex(sqlite).ingest(corpus)
    store = ChatStore.open(sqlite)
    answer_id = store.save_answer(_record(), chat_id=-1001234567890, user_id=7)
    store.remember("chat:7", ("پرسش", "پاسخ"), answer_id)
    store.set_language(7, "fa")
    store.receive(99, '{"update_id": 99}')  # received, not yet handled
    log = _log(store)
    log.update_settings(-100, logging=1, username="newsroom", digest="08:00")
    now = time.time()
    for i in range(1, 6):
        log.keep(LoggedMessage(-100, i, "sara", now - 60 + i, f"پیام {i}", author_id=5))
    summary = log.save_summary(-100, -100, "fa", [[1, 2], [3]])
    log.close()
    store.close()
    chunks_before = [c.chunk_id for c in SanadIndex(sqlite).chunks]

    url = postgres.new_database()
    moved = CliRunner().invoke(app, ["migrate", "--to", url])
    assert moved.exit_code == 0, moved.output
    assert "answers 1" in moved.output
    assert "chat_log 5" in moved.output
    again = CliRunner().invoke(app, ["migrate", "--to", url])  # cut short? run it again
    assert again.exit_code == 0, again.output

    # A replica on PostgreSQL, with an empty data dir of its own, finds it all.
    shared = load_settings(
        data_dir=tmp_path / "replica", database_url=url, corpus_dir=corpus, embedding_model="none"
    )
    store = ChatStore.open(shared)
    record = store.answer(answer_id, -1001234567890)
    assert record is not None
    assert record.citations[0].text == "متن"
    assert store.history("chat:7") == [("پرسش", "پاسخ")]
    assert store.last_answer("chat:7", -1001234567890) is not None
    assert store.language(7) == "fa"
    assert [i for i, _, _ in store.unhandled()] == [99]
    log = _log(store)
    assert log.settings(-100).digest == "08:00"
    messages, _ = log.window(-100, cap=100)
    assert [m.text for m in messages] == [f"پیام {i}" for i in range(1, 6)]
    kept = log.summary(summary.id, -100)
    assert kept is not None
    assert kept.bullets == [[1, 2], [3]]
    log.close()
    store.close()
    index = SanadIndex(shared)
    assert [c.chunk_id for c in index.chunks] == chunks_before
    assert search(index, "جنگ میان طالبان و داعش").results
    index.close()
    assert (data / "chat.sqlite3").exists()  # the SQLite files stay, as a backup


def test_sentence_vectors_move_too_so_replicas_do_not_embed_them_again(
    postgres, tmp_path, corpus, monkeypatch
):
    data = tmp_path / "data"
    monkeypatch.setenv("SANAD_DATA_DIR", str(data))
    source = SanadIndex(
        load_settings(data_dir=data, corpus_dir=corpus, embedding_model="none"),
        embedder=FakeEmbedder(),
    )
    source.ingest(corpus)
    source.close()
    url = postgres.new_database()
    moved = CliRunner().invoke(app, ["migrate", "--to", url])
    assert moved.exit_code == 0, moved.output
    assert "sentence_vectors" in moved.output

    shared = load_settings(
        data_dir=tmp_path / "replica", database_url=url, corpus_dir=corpus, embedding_model="none"
    )
    replica = SanadIndex(shared, embedder=FakeEmbedder())
    assert search(replica, "جنگ میان طالبان و داعش").mode == "hybrid"
    assert replica.evidence.null == source.evidence.null
    assert replica.evidence.vectors is not None
    assert source.evidence.vectors is not None
    assert np.array_equal(replica.evidence.vectors, source.evidence.vectors)
    replica.close()


def test_migrating_into_a_database_with_another_catalogue_is_refused(postgres, tmp_path, corpus):
    url = postgres.new_database()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "one.txt").write_text("متن دیگری درباره کابل و هرات.\n", encoding="utf-8")
    SanadIndex(
        load_settings(data_dir=tmp_path / "x", database_url=url, corpus_dir=elsewhere)
    ).ingest(elsewhere)
    SanadIndex(load_settings(data_dir=tmp_path / "data", corpus_dir=corpus)).ingest(corpus)
    with_password = url.replace("sanad@", "sanad:s3cret@")  # the test server trusts anyone
    refused = CliRunner().invoke(app, ["migrate", "--to", with_password])
    assert refused.exit_code == 2
    assert "already holds a catalogue of other documents" in refused.output
    assert "s3cret" not in refused.output


def test_migrate_without_a_target_says_how_to_give_one():
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 2
    assert "--to postgresql://" in result.output
