"""Throughput and latency of `sanad run` on SQLite, on PostgreSQL, and as two replicas.

Each setup runs real `sanad run` processes in webhook mode (keyword-only, extractive)
over the bundled corpus, with the fake Bot API in this process. N users each post
Q questions, as fast as the bot answers them (a user's next question goes once their
previous answer arrived); updates alternate between the replicas as a round-robin
load balancer would. Latency runs from the webhook POST to the answer's
sendMessage reaching the fake server.

    .venv/bin/python -m benchmarks.replicas                    # 50 users × 4 questions
    .venv/bin/python -m benchmarks.replicas --users 20 --questions 2

PostgreSQL is the machine's own server (Debian's postgresql package), started on a
loopback port for the run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from retrieval.config import BUNDLED_CORPUS_DIR, load_settings
from retrieval.index import SanadIndex
from tests.fake_telegram import FakeBotAPI
from tests.ports import Postgres, postgres_binaries
from tests.replica_harness import Replica, start_replica, wait_ready

#: Update ids across every load of a run: an id the inbox saw is not handled again.
_UPDATE_IDS = itertools.count(1)
QUESTION = "پوتین در نشست سازمان شانگهای در آستانه درباره طالبان چه گفت؟"


def _ingest(folder: Path, url: str | None) -> None:
    settings = load_settings(
        data_dir=folder, database_url=url, corpus_dir=BUNDLED_CORPUS_DIR, embedding_model="none"
    )
    index = SanadIndex(settings)
    index.ingest(BUNDLED_CORPUS_DIR)
    index.close()


@contextmanager
def _running(api: FakeBotAPI, folders: list[Path], url: str | None) -> Iterator[list[Replica]]:
    env = {"SANAD_QUESTIONS_PER_MINUTE": "1000", "SANAD_CORPUS_DIR": str(BUNDLED_CORPUS_DIR)}
    replicas = [start_replica(api, f, url, env) for f in folders]
    try:
        wait_ready(replicas, timeout=180)
        yield replicas
    finally:
        for r in replicas:
            r.process.terminate()
        for r in replicas:
            r.process.communicate(timeout=60)


def _load(api: FakeBotAPI, replicas: list[Replica], users: int, questions: int) -> dict[str, Any]:
    """Every user asks `questions` in turn; all users at once."""
    latencies: list[float] = []
    lock = threading.Lock()

    def user(uid: int) -> None:
        for q in range(questions):
            with lock:
                update_id = next(_UPDATE_IDS)
            update = api.private_text(uid, QUESTION, lang="fa")
            update["update_id"] = update_id
            sent_before = len(api.sent(uid))
            posted = time.monotonic()
            replicas[update_id % len(replicas)].post(update)
            while len(api.sent(uid)) <= sent_before:
                time.sleep(0.005)
            arrived = max(
                c.at for c in api.calls("sendMessage") if int(c.params.get("chat_id", 0)) == uid
            )
            with lock:
                latencies.append(arrived - posted)
            del q

    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(10_000 + i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "answers": len(latencies),
        "seconds": round(elapsed, 2),
        "answers_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
    }


def run(users: int, questions: int) -> dict[str, Any]:
    binaries = postgres_binaries()
    if binaries is None:
        raise SystemExit("no PostgreSQL server programs on this machine (pg_ctl)")
    scratch = Path(tempfile.mkdtemp(prefix="sanad-replicas-"))
    scratch.chmod(0o755)
    postgres = Postgres(scratch, binaries)
    results: dict[str, Any] = {"users": users, "questions_per_user": questions}
    try:
        setups: list[tuple[str, str | None, int]] = [
            ("one process, SQLite", None, 1),
            ("one replica, PostgreSQL", postgres.new_database(), 1),
            ("two replicas, PostgreSQL", postgres.new_database(), 2),
        ]
        for name, url, count in setups:
            folders = [scratch / f"{len(results)}-{i}" for i in range(count)]
            _ingest(folders[0] if url is None else scratch / f"ingest-{len(results)}", url)
            api = FakeBotAPI("123456789:AAH-fake-token-for-tests-only_0123456789").start()
            try:
                with _running(api, folders, url) as replicas:
                    _load(api, replicas, 5, 1)  # warm up
                    results[name] = _load(api, replicas, users, questions)
            finally:
                api.stop()
            print(name, json.dumps(results[name]), flush=True)
        sqlite, pg = results["one process, SQLite"], results["one replica, PostgreSQL"]
        results["postgresql_cost_ms_p50"] = round(pg["p50_ms"] - sqlite["p50_ms"], 1)
    finally:
        postgres.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=4)
    args = parser.parse_args()
    print(json.dumps(run(args.users, args.questions), ensure_ascii=False))


if __name__ == "__main__":
    main()
