"""Summaries: how well topics are recovered on the labelled chat set, and how fast.

    .venv/bin/python benchmarks/summaries.py                # quality and speed
    .venv/bin/python benchmarks/summaries.py --sweep        # TOPIC_MERGE, on quality
    .venv/bin/python benchmarks/summaries.py --model "$(../shared/tools/fetch-eval-model)" [--sweep]
                                                            # with vectors (DENSE_MERGE_Z)

Quality, on `eval/summaries/labelled.jsonl` (304 messages, 10 topics, Dari, Arabic and
English, built by `eval/summaries/build.py`):
- adjusted Rand index between the gold topics and the groups;
- majority share: messages whose group's majority topic is their own;
- link precision: picked (linked) messages whose topic is their bullet's (the group's
  majority topic), over every group and over the bullets a summary shows.

Speed (median of 5 runs, with min and max): an extractive summary of 5,000 messages
(the set repeated), from messages to Telegram HTML; and `/summary 24h` in a chat log
holding 100,000 messages over seven days, from the SQLite query to HTML.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from math import comb
from pathlib import Path

import retrieval.summaries as summaries
from bot.chatlog import LoggedMessage, MessageLog
from bot.storage import ChatStore
from bot.summaries import chat_messages, message_link, render_summary
from retrieval.threads import ChatMessage

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "eval" / "summaries" / "labelled.jsonl"


def load(path: Path = LABELLED) -> tuple[list[ChatMessage], dict[int, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    messages = [
        ChatMessage(r["id"], r["author"], r["text"], r["minute"], r["reply_to_message"])
        for r in rows
    ]
    return messages, {r["id"]: r["topic"] for r in rows}


def adjusted_rand(gold: Sequence[str], predicted: Sequence[int]) -> float:
    pairs = Counter(zip(gold, predicted, strict=True))
    n = len(gold)
    index = sum(comb(c, 2) for c in pairs.values())
    a = sum(comb(c, 2) for c in Counter(gold).values())
    b = sum(comb(c, 2) for c in Counter(predicted).values())
    expected = a * b / comb(n, 2)
    top = (a + b) / 2
    return (index - expected) / (top - expected) if top != expected else 1.0


def quality(
    messages: list[ChatMessage], topic_of: dict[int, str], embed: summaries.Embed | None = None
) -> dict[str, float]:
    topics = summaries.group_topics(messages, embed)
    group_of = {i: g for g, t in enumerate(topics) for i in t.message_ids}
    ids = [m.id for m in messages]
    majority_hits = picked = picked_right = shown_picked = shown_right = 0
    for g, t in enumerate(topics):
        majority, count = Counter(topic_of[i] for i in t.message_ids).most_common(1)[0]
        majority_hits += count
        right = sum(topic_of[i] == majority for i in t.picked)
        picked += len(t.picked)
        picked_right += right
        if g < summaries.MAX_TOPICS:
            shown_picked += len(t.picked)
            shown_right += right
    return {
        "groups": len(topics),
        "ARI": adjusted_rand([topic_of[i] for i in ids], [group_of[i] for i in ids]),
        "majority share": majority_hits / len(ids),
        "link precision (all groups)": picked_right / picked,
        "link precision (shown bullets)": shown_right / shown_picked,
    }


def repeated(messages: list[ChatMessage], n: int) -> list[ChatMessage]:
    """`n` messages: the set again and again, later each time, with fresh ids."""
    out: list[ChatMessage] = []
    copy = 0
    while len(out) < n:
        shift = copy * 100_000
        for m in messages:
            reply = m.reply_to + shift if m.reply_to is not None else None
            time_ = (m.time or 0) + copy * 300
            out.append(ChatMessage(m.id + shift, m.author, m.text, time_, reply))
        copy += 1
    return out[:n]


def timed(run: Callable[[], object], repeats: int = 5) -> tuple[float, float, float]:
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), min(seconds), max(seconds)


#: The supergroup the timed summaries are of (a 64-bit id, as Telegram's are).
CHAT_ID = -1001234567890


def _logged(m: ChatMessage, chat_id: int, date: float) -> LoggedMessage:
    return LoggedMessage(chat_id, m.id, m.author, date, m.text, None, None, m.reply_to)


def _link(m: LoggedMessage) -> str | None:
    return message_link(m.chat_id, m.message_id)


def summary_of(messages: list[ChatMessage], n: int) -> Callable[[], object]:
    """An extractive summary of `n` messages (`messages` again and again, a second
    apart, up to now), from the messages to Telegram HTML: a run to time."""
    now = time.time()
    logged = [_logged(m, CHAT_ID, now - n + i) for i, m in enumerate(repeated(messages, n))]

    def summary() -> None:
        made = summaries.summarize(chat_messages(logged))
        render_summary(made, logged, "en", _link)

    return summary


def speed(messages: list[ChatMessage]) -> dict[str, tuple[float, float, float]]:
    results = {"extractive summary, 5,000 messages": timed(summary_of(messages, 5000))}
    with chat_of_100k(messages) as day:
        results["/summary 24h in a 100,000-message chat (5,000 newest of ~14,300)"] = timed(day)
    return results


@contextmanager
def chat_of_100k(messages: list[ChatMessage]) -> Iterator[Callable[[], object]]:
    """A chat log holding 100,000 messages (`messages` again and again) over seven
    days; yields `/summary 24h` in it, from the SQLite query to Telegram HTML."""
    now = time.time()
    with tempfile.TemporaryDirectory() as folder:
        store = ChatStore(Path(folder) / "chat.sqlite3")
        log = MessageLog(store, days=7, per_chat=200_000, tag="#nosummary")
        log.update_settings(CHAT_ID, logging=1)
        hundred = repeated(messages, 100_000)
        step = 7 * 86400 / len(hundred)
        log.import_messages(
            [_logged(m, CHAT_ID, now - 7 * 86400 + i * step) for i, m in enumerate(hundred)]
        )

        def day() -> None:
            window, _ = log.window(CHAT_ID, cap=5000, since=time.time() - 86400)
            made = summaries.summarize(chat_messages(window))
            render_summary(made, window, "en", _link)

        try:
            yield day
        finally:
            log.close()
            store.close()


def _embed(model: str) -> summaries.Embed:
    """The model's vectors for the labelled set, computed once."""
    from retrieval.config import load_settings
    from retrieval.embeddings import load_embedder

    embedder = load_embedder(load_settings(embedding_model=model))
    cache: dict[str, object] = {}

    def embed(texts: list[str]) -> object:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, embedder.embed_documents(missing), strict=True))
        return [cache[t] for t in texts]

    return embed  # type: ignore[return-value]


def main() -> None:
    messages, topic_of = load()
    model = sys.argv[sys.argv.index("--model") + 1] if "--model" in sys.argv else None
    embed = _embed(model) if model else None
    if "--sweep" in sys.argv:
        zs = (2.0, 2.5, 3.0, 3.5, 4.0) if embed else (summaries.DENSE_MERGE_Z,)
        for z in zs:
            summaries.DENSE_MERGE_Z = z
            for merge in (0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 1.01):
                summaries.TOPIC_MERGE = merge
                figures = quality(messages, topic_of, embed)
                print(
                    f"DENSE_MERGE_Z={z:<4} TOPIC_MERGE={merge:<5} "
                    + "  ".join(f"{k} {v:.3f}" for k, v in figures.items())
                )
        return
    print(f"labelled set: {len(messages)} messages, {len(set(topic_of.values()))} topics")
    print(f"grouping by: search keys{f' and vectors of {model}' if model else ''}")
    for name, value in quality(messages, topic_of, embed).items():
        print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
    if embed is None:
        for name, (median, low, high) in speed(messages).items():
            print(f"  {name}: median {median:.3f} s (min {low:.3f}, max {high:.3f})")


if __name__ == "__main__":
    main()
