"""Folders the index writes whole: the keyword index, the sentence evidence and the
passage vectors' copy each live in one folder of the data dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["write_lines", "written_whole"]

#: Lines encoded and written at a time: bounds the bytes held beside the lines.
_LINES_AT_ONCE = 8192


@contextmanager
def written_whole(folder: Path) -> Iterator[Path]:
    """A fresh folder beside `folder` to write into; once the block ends without an
    error it replaces `folder` whole, so a reader never sees half of what was saved."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    yield tmp
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def write_lines(path: Path, lines: Sequence[str]) -> None:
    """`lines` as UTF-8, a newline between them (none after the last): encoded a
    block at a time and written as bytes, about twice as fast for large files as
    `Path.write_text` (whose text layer encodes in small pieces), without holding
    the whole text, joined, beside the lines."""
    with path.open("wb") as f:
        for at in range(0, len(lines), _LINES_AT_ONCE):
            if at:
                f.write(b"\n")
            f.write("\n".join(lines[at : at + _LINES_AT_ONCE]).encode("utf-8"))
