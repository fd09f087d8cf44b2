"""Recorded schema migrations for Sanad's state, on SQLite and on PostgreSQL.

Each part of the state (the catalogue, the chat store) has a `Schema`: a tuple of
steps, one per release that changed it, written for SQLite and run on PostgreSQL
with its column types. Append a step; never edit one that shipped.

How many steps are applied is kept in SQLite's `user_version` (one file per part),
and in PostgreSQL in a `schema_versions` row per part, written in the step's own
transaction under an advisory lock, so replicas that start together migrate once.

A small versioned runner rather than Alembic: two parts, a handful of plain SQL
steps, SQLite files that already count their steps in `user_version`, and no ORM to
generate anything from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.database import Cursor, Database, advisory_key
from retrieval.errors import ConfigError

__all__ = ["Schema", "applied_steps", "migrate"]


@dataclass(frozen=True)
class Schema:
    """One part's steps: `name` (its row in `schema_versions`) and the SQL of each step,
    written for SQLite. PostgreSQL runs the same steps with 64-bit integers (Telegram's
    chat ids need them), double-precision reals (times) and BYTEA for BLOB, so the two
    cannot drift."""

    name: str
    sqlite: tuple[str, ...]

    def steps(self, dialect: str) -> tuple[str, ...]:
        if dialect == "sqlite":
            return self.sqlite
        return tuple(_postgresql(step) for step in self.sqlite)


def _postgresql(step: str) -> str:
    step = re.sub(r"\bINTEGER\b", "BIGINT", step)
    step = re.sub(r"\bBLOB\b", "BYTEA", step)
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", step)


_VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)"
)


def applied_steps(db: Database, schema: Schema) -> int:
    """How many of `schema`'s steps `db` records as applied."""
    with db.transaction() as cur:
        return _applied(cur, db.dialect, schema)


def _applied(cur: Cursor, dialect: str, schema: Schema) -> int:
    if dialect == "sqlite":
        return int(cur.execute("PRAGMA user_version").fetchone()[0])
    cur.execute(_VERSIONS_TABLE)
    row = cur.execute(
        "SELECT version FROM schema_versions WHERE part = ?", (schema.name,)
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(
    db: Database,
    schema: Schema,
    *,
    unversioned: Callable[[Cursor], int] = lambda cur: 0,
    newer: str = "",
) -> None:
    """Apply the steps `db` has not seen yet, each with its version in one transaction.

    `unversioned(cur)` says how many steps a SQLite file from before recorded versions
    already has, from what its schema shows (0 for a new file). A database that
    records more steps than this Sanad knows is refused with `newer` as the advice.
    """
    steps = schema.steps(db.dialect)
    if db.dialect == "postgresql":
        _migrate_postgresql(db, schema, steps, newer)
        return
    with db.transaction() as cur:
        applied = _applied(cur, "sqlite", schema) or unversioned(cur)
    _refuse_newer(applied, steps, schema, db, newer)
    for number, step in enumerate(steps[applied:], start=applied + 1):
        with db.transaction() as cur:
            for statement in _statements(step):
                cur.execute(statement)
            cur.execute(f"PRAGMA user_version = {number}")


def _migrate_postgresql(db: Database, schema: Schema, steps: tuple[str, ...], newer: str) -> None:
    lock = advisory_key("migrations")
    with db.transaction() as cur:
        # Held to the end of this transaction: a second replica waits, then finds
        # every step applied.
        cur.execute("SELECT pg_advisory_xact_lock(?)", (lock,))
        applied = _applied(cur, "postgresql", schema)
        _refuse_newer(applied, steps, schema, db, newer)
        for number, step in enumerate(steps[applied:], start=applied + 1):
            for statement in _statements(step):
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_versions (part, version) VALUES (?, ?) "
                "ON CONFLICT (part) DO UPDATE SET version = excluded.version",
                (schema.name, number),
            )


def _refuse_newer(
    applied: int, steps: tuple[str, ...], schema: Schema, db: Database, newer: str
) -> None:
    if applied > len(steps):
        raise ConfigError(
            f"The {schema.name} at {db.location} was written by a newer Sanad (schema "
            f"{applied}, this one knows {len(steps)}): upgrade Sanad"
            + (f", or {newer}." if newer else ".")
        )


def _statements(step: str) -> list[str]:
    """A step's statements (Sanad's DDL has no `;` inside quotes)."""
    return [s.strip() for s in step.split(";") if s.strip()]
