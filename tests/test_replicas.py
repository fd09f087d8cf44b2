"""Two `sanad run` replicas in webhook mode, one PostgreSQL, the fake Bot API: updates
posted round-robin are answered once each; buttons, limits and jobs hold across them;
a replica killed mid-answer leaves nothing unanswered."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.chatlog import LoggedMessage, MessageLog
from bot.replicas import JobLeader
from bot.storage import ChatStore
from retrieval.config import load_settings
from retrieval.database import PostgresDatabase
from retrieval.index import SanadIndex
from tests.fake_llm import FakeLLMServer
from tests.fake_telegram import FakeBotAPI, bare
from tests.replica_harness import Replica, start_replica, wait_ready
from tests.test_answer_llm import GOOD, QUESTION

pytestmark = pytest.mark.replicas


@contextmanager
def _replicas(
    api: FakeBotAPI, tmp_path: Path, url: str, env: dict[str, str] | None = None
) -> Iterator[list[Replica]]:
    replicas = [start_replica(api, tmp_path / f"replica-{i}", url, env or {}) for i in range(2)]
    try:
        wait_ready(replicas)
        yield replicas
    finally:
        for r in replicas:
            if r.process.poll() is None:
                r.process.send_signal(signal.SIGTERM)
        for r in replicas:
            try:
                r.log = r.process.communicate(timeout=30)[1] or ""
            except subprocess.TimeoutExpired:
                r.process.kill()


def _ingest(url: str, corpus: Path, tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "ingest", database_url=url, corpus_dir=corpus, embedding_model="none"
    )
    index = SanadIndex(settings)
    index.ingest(corpus)
    index.close()


def _wait(predicate: Any, timeout: float = 60, what: str = "the replicas") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_replicas_answer_each_update_once_and_share_buttons_and_limits(
    api, postgres, tmp_path, corpus
):
    url = postgres.new_database()
    _ingest(url, corpus, tmp_path)
    users = list(range(1001, 1051))
    with _replicas(api, tmp_path, url, {"SANAD_QUESTIONS_PER_MINUTE": "5"}) as replicas:
        update_id = 0
        for round_ in range(4):  # 200 updates from 50 users, round-robin over the replicas
            for user in users:
                update_id += 1
                update = api.private_text(user, QUESTION, lang="fa")
                update["update_id"] = update_id
                assert replicas[update_id % 2].post(update) == 200
            _wait(lambda n=round_ + 1: all(len(api.sent(u)) >= n for u in users))
        time.sleep(1.0)  # room for a second answer to any of them, were one coming
        for user in users:
            answers = api.sent(user)
            assert len(answers) == 4, (user, [bare(a["text"])[:40] for a in answers])
            assert all(bare(a["text"]).startswith("بر اساس منابع:") for a in answers)

        # Telegram delivering an update again (to the other replica) does not answer it twice.
        assert replicas[0].post(update) == 200
        time.sleep(1.0)
        assert len(api.sent(users[-1])) == 4

        # A button under an answer one replica gave works on the other.
        answer = api.sent(users[0])[0]
        data = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        press = api.press(users[0], answer, data)
        update_id += 1
        press["update_id"] = update_id
        assert replicas[0].post(press) == 200  # update 1, that answer, went to replicas[1]
        _wait(lambda: len(api.sent(users[0])) > 4, what="the cited passage")
        passage = bare(api.sent(users[0])[-1]["text"])
        assert passage not in {bare(a["text"]) for a in api.sent(users[0])[:4]}

        # The rate limit (5 a minute) counts across replicas: the sixth is refused.
        asker = 2001
        for i in range(6):
            update_id += 1
            update = api.private_text(asker, QUESTION, lang="en")
            update["update_id"] = update_id
            assert replicas[i % 2].post(update) == 200
            _wait(lambda n=i + 1: len(api.sent(asker)) >= n)
        replies = [bare(m["text"]) for m in api.sent(asker)]
        assert all("[1]" in r for r in replies[:5])
        assert "[1]" not in replies[5]
        assert "minute" in replies[5].lower() or "second" in replies[5].lower()

        # A question the sources do not answer is declined, and counted as such.
        update_id += 1
        update = api.private_text(2002, "دستور پخت کیک سیب با دارچین چیست؟", lang="fa")
        update["update_id"] = update_id
        assert replicas[1].post(update) == 200
        _wait(lambda: api.sent(2002), what="the decline")
        assert "[1]" not in api.sent(2002)[0]["text"]

        # Both are healthy, and the answers show in their metrics.
        counted = {"answered": 0.0, "declined": 0.0}
        for r in replicas:
            assert r.get("/healthz")[0] == 200
            status, text = r.get("/metrics")
            assert status == 200
            for line in text.splitlines():
                for outcome in counted:
                    if line.startswith(f'sanad_answers_total{{outcome="{outcome}"}}'):
                        counted[outcome] += float(line.split()[-1])
        # Every round and the asker's five, nothing twice; and the one declined.
        assert counted == {"answered": 200 + 5, "declined": 1}


def test_a_replica_killed_mid_answer_leaves_its_question_to_the_other(
    api, postgres, tmp_path, corpus
):
    url = postgres.new_database()
    _ingest(url, corpus, tmp_path)
    llm = FakeLLMServer().start()
    env = {
        "SANAD_LLM_MODEL": "openai:test-model",
        "SANAD_LLM_BASE_URL": llm.base_url,
        "SANAD_LLM_TIMEOUT": "120",
        "SANAD_UPDATE_LEASE_SECONDS": "3",
    }
    try:
        llm.enqueue(f"{GOOD} [1].", delay=60)  # still writing when its replica dies
        llm.enqueue(f"{GOOD} [1].")
        with _replicas(api, tmp_path, url, env) as (doomed, survivor):
            update = api.private_text(7, QUESTION, lang="fa")
            update["update_id"] = 1
            assert doomed.post(update) == 200
            _wait(lambda: llm.history, what="the first replica to ask the model")
            doomed.process.kill()
            doomed.process.wait()
            # Within the lease, Telegram's redelivery is not handled a second time …
            assert survivor.post(update) == 200
            time.sleep(0.5)
            assert len(llm.history) == 1
            # … after it, the survivor takes the question up (redelivered, or on its beat).
            time.sleep(3)
            survivor.post(update)
            _wait(lambda: any(GOOD.split()[0] in m["text"] for m in api.sent(7)))
            time.sleep(1.5)  # the beat must not answer it again
            answers = [m for m in api.sent(7) if GOOD.split()[0] in m["text"]]
            assert len(answers) == 1
            assert len(llm.history) == 2
    finally:
        llm.stop()


@pytest.mark.server
def test_replicas_with_a_model_share_one_chroma_server_and_post_a_digest_once(
    api, postgres, chroma_server, tmp_path, corpus, minilm, minilm_path
):
    url = postgres.new_database()
    env = {
        "SANAD_EMBEDDING_MODEL": minilm_path,
        "HF_HUB_OFFLINE": "1",
        "SANAD_CHROMA_HOST": "127.0.0.1",
        "SANAD_CHROMA_PORT": str(chroma_server.port),
    }
    settings = load_settings(
        data_dir=tmp_path / "ingest",
        database_url=url,
        corpus_dir=corpus,
        embedding_model=minilm_path,
        chroma_host="127.0.0.1",
        chroma_port=chroma_server.port,
    )
    index = SanadIndex(settings, embedder=minilm)
    index.ingest(corpus)
    index.close()
    group = -1001234567890
    store = ChatStore.open(settings)
    log = MessageLog(store, days=7, per_chat=100, tag="#nosummary")
    log.update_settings(group, logging=1, lang="en")
    now = time.time()
    for i, text in enumerate(DISCUSSION, start=1):
        log.keep(LoggedMessage(group, i, "sara", now - 600 + i, text, author_id=5))

    with _replicas(api, tmp_path, url, env) as replicas:
        # A /digest set through either replica (here straight in the shared chat store)
        # is followed by both; it fires on both at the next minute, and posts once.
        at = datetime.now(UTC) + timedelta(seconds=3)
        at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        log.update_settings(group, digest=at.strftime("%H:%M"), tz="UTC")
        for i, replica in enumerate(replicas):  # meanwhile: hybrid answers on both
            update = api.private_text(3000 + i, QUESTION, lang="fa")
            update["update_id"] = 10 + i
            assert replica.post(update) == 200
        _wait(lambda: all(api.sent(3000 + i) for i in range(2)), what="the answers")
        _wait(lambda: api.sent(group), timeout=90, what="the digest")
        time.sleep(2.0)  # room for a second digest, were one coming
        [digest] = api.sent(group)
    log.close()
    store.close()
    assert bare(digest["text"]).startswith("Daily summary")
    for i in range(2):
        [answer] = api.sent(3000 + i)
        assert bare(answer["text"]).startswith("بر اساس منابع:")
        assert "[1]" in answer["text"]
    for replica in replicas:
        # Passage vectors from the server, sentence vectors from the database: neither
        # replica embedded the corpus again.
        assert "Embedding the corpus's sentences" not in replica.log
        assert "Embedding chunks" not in replica.log
        assert "Loading the embedding model" in replica.log


DISCUSSION = [
    "Is the Bagh-e Umumi bridge in Kabul closed today?",
    "Yes, the Bagh-e Umumi bridge is closed for repairs until Friday.",
    "Thanks, so the bridge is closed until Friday. Any detour?",
    "Take the Deh Mazang road while the bridge is closed.",
]


def test_one_replica_runs_the_scheduled_jobs_and_another_takes_over_when_it_dies(postgres):
    url = postgres.new_database()
    first, second = JobLeader(PostgresDatabase(url)), JobLeader(PostgresDatabase(url))
    assert first.try_lead()
    assert not second.try_lead()
    assert first.try_lead()  # still holding it
    first._conn.close()  # its process died: PostgreSQL drops the connection and the lock
    deadline = time.monotonic() + 10
    while not second.try_lead():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert not first.try_lead()  # back, but the lock is taken now
    first.close()
    second.close()
    first.db.close()
    second.db.close()
