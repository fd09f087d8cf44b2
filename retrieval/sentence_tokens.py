"""Each stored sentence's search tokens, kept as the line `tokens.txt` holds and made
a set only when a search first reads that sentence.

A corpus of 10k chunks has about 75k sentences and a million tokens. Building a set
of every sentence's tokens at ingest and on every load cost more than anything else
of loading the evidence (0.5 s of 0.8 s at 10k chunks), for sentences most
questions never reach: a question reads the sentences of a few dozen passages. A
loaded file is mapped into memory, not read, and a line decoded when its row is
first read: at ~100k chunks, reading, decoding and splitting all 250 MB took 1.9 s
of a cold start; mapping it and finding its line ends, 0.1 s. (The folder is
replaced whole when it is saved again; on Linux a mapped file outlives its name.)
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

__all__ = ["SentenceTokens"]

#: Bytes scanned for line ends at a time (bounds the scan's temporary array).
_SCAN_BLOCK = 1 << 24


class SentenceTokens:
    """Row → the set of a sentence's tokens, from one line per row (the tokens with a
    space between them, in any order, repeats allowed). Sets are made on first read
    and kept; two threads reading one row at once may both make it, and either set
    is the same."""

    __slots__ = ("_data", "_ends", "_lines", "_sets")

    def __init__(self, lines: list[str]) -> None:
        self._lines: list[str] | None = lines
        self._data: bytes | mmap.mmap = b""  # or, read back (`_lines` None), the file
        self._ends = np.zeros(0, dtype=np.int64)  # and where each row's line ends
        self._sets: list[frozenset[str] | None] = [None] * len(lines)

    @classmethod
    def of_file(cls, path: Path, rows: int) -> SentenceTokens | None:
        """From a file of `rows` lines (UTF-8, one line a row, no newline after the
        last), or None if it does not hold that many."""
        with path.open("rb") as f:
            size = path.stat().st_size
            data: bytes | mmap.mmap = (
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            )
        if rows == 0:
            return cls([]) if not size else None
        raw = np.frombuffer(data, dtype=np.uint8)
        ends = np.concatenate(
            [
                np.flatnonzero(raw[at : at + _SCAN_BLOCK] == ord("\n")) + at
                for at in range(0, max(size, 1), _SCAN_BLOCK)
            ]
        )
        if len(ends) != rows - 1:
            return None
        made = cls([])
        made._lines = None
        made._data = data
        made._ends = np.append(ends, size)
        made._sets = [None] * rows
        return made

    @classmethod
    def of_sets(cls, sets: Iterable[frozenset[str]]) -> SentenceTokens:
        """From the sets themselves (in sorted order on their lines, so a saved file is
        the same for the same sets)."""
        sets = list(sets)
        made = cls([" ".join(sorted(s)) for s in sets])
        made._sets = list(sets)
        return made

    @property
    def lines(self) -> list[str]:
        return self._lines if self._lines is not None else list(map(self.line, range(len(self))))

    def line(self, row: int) -> str:
        if self._lines is not None:
            return self._lines[row]
        if not 0 <= row < len(self._sets):
            raise IndexError(row)
        start = int(self._ends[row - 1]) + 1 if row else 0
        # A damaged byte costs that sentence a token, not the question its answer.
        return self._data[start : int(self._ends[row])].decode("utf-8", errors="replace")

    def __len__(self) -> int:
        return len(self._sets)

    def __getitem__(self, row: int) -> frozenset[str]:
        found = self._sets[row]
        if found is None:
            found = self._sets[row] = frozenset(self.line(row).split())
        return found

    def __iter__(self) -> Iterator[frozenset[str]]:
        return (self[row] for row in range(len(self)))

    def __eq__(self, other: object) -> bool:
        """Equal to another's rows, or a list of sets, row by row."""
        if isinstance(other, SentenceTokens | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SentenceTokens({len(self)} rows)"
