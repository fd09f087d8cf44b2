"""Timing helpers for `python -m benchmarks`: repeated runs, interleaving, the machine.

Every figure of the report is the median of repeated runs with their min and max.
Two systems measured side by side run interleaved (A B A B …), so a burst of
machine noise hits both rather than one.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    """A measured value: median, min and max of `runs` runs, in `unit`."""

    median: float
    low: float
    high: float
    unit: str
    runs: int

    @classmethod
    def of(cls, values: Sequence[float], unit: str) -> Figure:
        return cls(statistics.median(values), min(values), max(values), unit, len(values))

    def __str__(self) -> str:
        if self.runs == 1:
            return _fmt(self.median, self.unit)
        return (
            f"{_fmt(self.median, self.unit)} "
            f"({_fmt(self.low, self.unit, bare=True)}–{_fmt(self.high, self.unit)})"
        )

    def to_json(self) -> dict[str, float | str | int]:
        return asdict(self)


def _fmt(value: float, unit: str, *, bare: bool = False) -> str:
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    text = f"{value:,.{digits}f}"
    return text if bare else f"{text} {unit}".rstrip()


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def interleaved(runs: dict[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """Call each run once per round, in turn (A B A B …); the values each returned."""
    out: dict[str, list[T]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            out[name].append(run())
    return out


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def child(module: str, *args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `python -m benchmarks.<module> args…` as a fresh process; its last JSON line.

    A fresh process per measurement gives each its own peak RSS and no warm cache.
    """
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.{module} {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb() -> float:
    """This process's resident memory now, in MB (Linux; 0 elsewhere)."""
    return _rss_kb("self") / 1024


class TreeMemory:
    """The peak resident memory of this process and its children together (Sanad's
    ingest workers), sampled every `every` seconds while running, in MB.

    Not `RUSAGE_CHILDREN`: a child's peak there includes this process's memory at
    the moment it was forked, before it became the worker it runs.
    """

    def __init__(self, every: float = 0.05) -> None:
        self._every = every
        self._peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mb(self) -> float:
        """The sampled peak, or this process's own exact peak if that is higher."""
        return max(self._peak_kb / 1024, peak_rss_mb())

    def _watch(self) -> None:
        while not self._stop.wait(self._every):
            self._peak_kb = max(self._peak_kb, _tree_rss_kb())


def _tree_rss_kb() -> int:
    pids = [str(os.getpid())]
    for children in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError):
            pids += children.read_text().split()
    return sum(map(_rss_kb, pids))


def _rss_kb(pid: str) -> int:
    """A process's resident memory now, in kB; 0 if it is gone or not on Linux."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GB"
    except OSError:
        pass
    packages = (
        "sentence-transformers", "torch", "chromadb", "bm25s", "python-telegram-bot",
        "langchain-core", "langchain-chroma", "langchain-community", "rank-bm25",
    )  # fmt: skip
    versions = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "cpu": _cpu_name(),
        "cores": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        **versions,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
