"""Interleave `topics.py` into the labelled chat set, `labelled.jsonl` (deterministic).

    .venv/bin/python eval/summaries/build.py

Each topic starts at its own time of the day and goes on with gaps of one to six
minutes, as a conversation does; merged by time, the topics run through each other
(at any moment several are under way). Each line: `id`, `time` ("HH:MM"), `minute`
(minutes since midnight, to the second), `author`, `text`, `reply_to_message` (the
reply button's target, or null) and the gold `topic`.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from topics import TOPICS  # noqa: E402 (the data sits next to this script)


def build(seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)  # noqa: S311 (a reproducible data set, not a secret)
    timed: list[tuple[float, str, int]] = []
    for n, (topic, messages) in enumerate(TOPICS.items()):
        clock = 8 * 60 + n * 9 + rng.uniform(0, 6)  # a new topic every few minutes
        for i in range(len(messages)):
            timed.append((clock, topic, i))
            clock += rng.uniform(1, 6)
    timed.sort()
    ids: dict[tuple[str, int], int] = {}
    lines = []
    for number, (minute, topic, i) in enumerate(timed, 1):
        author, text, reply = TOPICS[topic][i]
        message_id = 1000 + number
        ids[topic, i] = message_id
        lines.append(
            {
                "id": message_id,
                "time": f"{int(minute) // 60:02d}:{int(minute) % 60:02d}",
                "minute": round(minute, 3),
                "author": author,
                "text": text,
                "reply_to_message": ids[topic, reply] if reply is not None else None,
                "topic": topic,
            }
        )
    return lines


if __name__ == "__main__":
    out = HERE / "labelled.jsonl"
    rows = build()
    out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    print(f"{len(rows)} messages, {len(TOPICS)} topics → {out}")
