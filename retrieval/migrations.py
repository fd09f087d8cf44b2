"""Recorded schema migrations for Sanad's SQLite files (the catalogue, the chat store).

Each file's schema is a tuple of steps, one per release that changed it; how many
have been applied is kept in SQLite's `user_version`. Append a step; never edit one
that shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

__all__ = ["applied_steps", "migrate"]


def applied_steps(db: sqlite3.Connection) -> int:
    """How many steps this file records as applied."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    db: sqlite3.Connection,
    steps: Sequence[str],
    *,
    unversioned: Callable[[sqlite3.Connection], int],
) -> None:
    """Apply the steps `db` has not seen yet, each with its version in one transaction.

    `unversioned(db)` says how many steps a file from before recorded versions
    already has, from what its schema shows (0 for a new file).
    """
    applied = applied_steps(db) or unversioned(db)
    for number, step in enumerate(steps[applied:], start=applied + 1):
        db.executescript(f"BEGIN;\n{step};\nPRAGMA user_version = {number};\nCOMMIT;")
