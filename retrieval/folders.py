"""Folders the index writes whole: the keyword index, the sentence evidence and the
passage vectors' copy each live in one folder of the data dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["written_whole"]


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
