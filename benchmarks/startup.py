"""Start-up cost of the `sanad` command, as a newcomer meets it: cold processes.

Each command runs as a fresh process (median of 5, after one run that builds the index):
`sanad --help`; a keyword-only `sanad ask`; `sanad ask` with the default settings while
the default model is not cached and the model hub cannot be reached (an empty
HF_HUB_CACHE and HF_ENDPOINT at a closed loopback port). Targets: 0.5 s, 1.5 s, 2 s.

.venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

from benchmarks.measure import seconds

SANAD = str(Path(sys.executable).with_name("sanad"))
QUESTION = "جنگ میان طالبان و داعش چه زمانی آغاز شد؟"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: Issue 9's targets for each command, in seconds.
TARGETS = {
    "sanad --help": 0.5,
    "sanad ask (keyword-only)": 1.5,
    "sanad ask (default, model not cached)": 2.0,
}


def _seconds(args: list[str], env: dict[str, str], rounds: int) -> list[float]:
    run = partial(subprocess.run, [SANAD, *args], env=env, capture_output=True, check=True)
    return [seconds(run) for _ in range(rounds)]


def measure(rounds: int = 5) -> dict[str, list[float]]:
    """Each command's times, `rounds` cold processes each (`python -m benchmarks`
    reports them with the targets)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("SANAD_", "HF_", "TELEGRAM"))
        }
        base["SANAD_DATA_DIR"] = str(Path(tmp) / "data")
        keyword = {**base, "SANAD_EMBEDDING_MODEL": "none"}
        uncached = {
            **base,
            "HF_HUB_CACHE": str(Path(tmp) / "empty-cache"),
            "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
        }
        subprocess.run([SANAD, "ingest"], env=keyword, capture_output=True, check=True)
        return {
            "sanad --help": _seconds(["--help"], base, rounds),
            "sanad ask (keyword-only)": _seconds(["ask", QUESTION], keyword, rounds),
            "sanad ask (default, model not cached)": _seconds(["ask", QUESTION], uncached, rounds),
        }


def main(rounds: int = 5) -> dict[str, float]:
    results = {name: statistics.median(times) for name, times in measure(rounds).items()}
    for name, median in results.items():
        print(f"{name:<42}{median:6.2f} s")
    return results


if __name__ == "__main__":
    main()
