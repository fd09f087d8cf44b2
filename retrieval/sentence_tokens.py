"""Each stored sentence's search tokens, kept as the line `tokens.txt` holds and made
a set only when a search first reads that sentence.

A corpus of 10k chunks has about 75k sentences and a million tokens. Building a set
of every sentence's tokens at ingest and on every load cost more than anything else
of loading the evidence (0.5 s of 0.8 s at 10k chunks), for sentences most
questions never reach: a question reads the sentences of a few dozen passages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["SentenceTokens"]


class SentenceTokens:
    """Row → the set of a sentence's tokens, from one line per row (the tokens with a
    space between them, in any order, repeats allowed). Sets are made on first read
    and kept; two threads reading one row at once may both make it, and either set
    is the same."""

    __slots__ = ("_lines", "_sets")

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._sets: list[frozenset[str] | None] = [None] * len(lines)

    @classmethod
    def of_sets(cls, sets: Iterable[frozenset[str]]) -> SentenceTokens:
        """From the sets themselves (in sorted order on their lines, so a saved file is
        the same for the same sets)."""
        sets = list(sets)
        made = cls([" ".join(sorted(s)) for s in sets])
        made._sets = list(sets)
        return made

    @classmethod
    def of_tokens(cls, rows: Iterable[Iterable[str]]) -> SentenceTokens:
        """From each row's tokens as they stand in the sentence."""
        return cls([" ".join(tokens) for tokens in rows])

    @property
    def lines(self) -> list[str]:
        return self._lines

    def line(self, row: int) -> str:
        return self._lines[row]

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, row: int) -> frozenset[str]:
        found = self._sets[row]
        if found is None:
            found = self._sets[row] = frozenset(self._lines[row].split())
        return found

    def __iter__(self) -> Iterator[frozenset[str]]:
        return (self[row] for row in range(len(self._lines)))

    def __eq__(self, other: object) -> bool:
        """Equal to another's rows, or a list of sets, row by row."""
        if isinstance(other, SentenceTokens | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SentenceTokens({len(self)} rows)"
