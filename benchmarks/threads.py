"""Conversation separation on a chat set: predictions for `irc/score.py`, and a sweep.

    .venv/bin/python benchmarks/threads.py ../shared/eval/chat/irc/dev /tmp/threads
    python3 ../shared/eval/chat/irc/score.py ../shared/eval/chat/irc/dev /tmp/threads

writes one `{"id", "conv"}` file per log (what `sanad threads` prints) and runs
the scorer; with `--sweep`, scores each constant of `retrieval.threads` in turn.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import retrieval.threads as threads
from retrieval.threads import read_chat_lines

GRID: dict[str, tuple[float, ...]] = {
    "WINDOW": (20, 40, 60, 100),
    "OWN_MINUTES": (2, 4, 6, 10, 20),
    "OWN_GAP": (5, 10, 20, 40),
    "SHARED_WORDS": (0.15, 0.25, 0.35, 0.5, 1.01),
}


def predict(gold: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for log in sorted(gold.glob("*.jsonl")):
        messages, scored = read_chat_lines(log.read_text(encoding="utf-8").splitlines())
        conv = threads.separate(messages)
        lines = [json.dumps({"id": i, "conv": conv[i]}) for i in scored]
        (out / log.name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def score(gold: Path, out: Path) -> str:
    scorer = gold.parent / "score.py"
    result = subprocess.run(
        [sys.executable, str(scorer), str(gold), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def separation(gold: Path) -> dict[str, float]:
    """The scorer's figures (1-scaled-VI, one-to-one, …) for `gold`, predicted afresh."""
    with tempfile.TemporaryDirectory() as out:
        predict(gold, Path(out))
        printed = score(gold, Path(out))
    figures = {}
    for line in printed.splitlines():
        name, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            figures[name.strip()] = float(value)
    return figures


def main() -> None:
    gold, out = Path(sys.argv[1]), Path(sys.argv[2])
    predict(gold, out)
    print(score(gold, out))
    if "--sweep" in sys.argv:
        for name, values in GRID.items():
            default = getattr(threads, name)
            for value in values:
                setattr(threads, name, type(default)(value))
                predict(gold, out)
                summary = " ".join(score(gold, out).split()[:8])
                print(f"{name} = {value}: {summary}", flush=True)
            setattr(threads, name, default)


if __name__ == "__main__":
    main()
