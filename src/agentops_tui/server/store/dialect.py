"""The SQL every backend runs, and the driver errors the server tells apart.

Domain code writes its SQL once, in the dialect both backends understand: `?` parameter
markers, `ON CONFLICT ... DO UPDATE` upserts, `total()` for sums that must never overflow
(an aggregate SQLite has built in and the PostgreSQL schema defines), `BEGIN_WRITE` to open
a write transaction. The SQLite driver runs that text as it is; the PostgreSQL connection
(`postgres_connection`) translates the few spellings its driver wants otherwise, once per
statement text.

Which driver errors mean an outage and which a value the store refuses depends on the
drivers loaded: psycopg is imported only when a PostgreSQL store opens (it costs a tenth of
a second at start-up), and registers its classes here then (`DRIVER_ERRORS.add`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# Begins a transaction that takes the write lock at once, so a writer never finds the
# database changed under it half-way through (and never deadlocks upgrading a read lock).
# PostgreSQL locks rows as it writes them and runs it as a plain BEGIN.
BEGIN_WRITE = "BEGIN IMMEDIATE"

PARAM = "?"

ErrorClasses = tuple[type[BaseException], ...]


class DriverErrors:
    """The error classes of every loaded driver, by what they mean. Read the attributes at
    the moment of use (`except DRIVER_ERRORS.database:`): a driver loaded later adds its own."""

    def __init__(self) -> None:
        # Any failure the driver raises (a locked file, a lost connection, ...).
        self.database: ErrorClasses = (sqlite3.Error,)
        # Failures of the store itself rather than of what a job wrote: every job would
        # fail alike.
        self.outages: ErrorClasses = (
            sqlite3.OperationalError, sqlite3.InternalError, MemoryError, OSError,
        )
        # Values the store or its JSON encoder refused: the request's fault, so a 422.
        self.unstorable: ErrorClasses = (
            sqlite3.IntegrityError, sqlite3.DataError, OverflowError, ValueError,
            RecursionError,
        )

    def add(self, database: ErrorClasses, outages: ErrorClasses,
            unstorable: ErrorClasses) -> None:
        for name, more in (("database", database), ("outages", outages),
                           ("unstorable", unstorable)):
            known: ErrorClasses = getattr(self, name)
            setattr(self, name, known + tuple(c for c in more if c not in known))


DRIVER_ERRORS = DriverErrors()


def placeholders(count: int) -> str:
    """`count` parameter markers for a VALUES row or an IN list: '?, ?, ?'."""
    if count < 1:  # SQLite takes `IN ()`, other databases do not: callers skip the query
        raise ValueError("placeholders: need at least one")
    return ", ".join([PARAM] * count)


def upsert(table: str, columns: Sequence[str], key_columns: Sequence[str]) -> str:
    """INSERT of one row (`columns` in order) that replaces the row with the same key.

    Written as `ON CONFLICT (key) DO UPDATE` rather than SQLite's `INSERT OR REPLACE`: the
    row is updated in place (no delete and re-insert), only a conflict on this key counts,
    and the same text runs on PostgreSQL. A table whose columns are all key columns keeps
    the row it has (`DO NOTHING`)."""
    missing = [k for k in key_columns if k not in columns]
    if not key_columns or missing:
        raise ValueError(f"upsert into {table}: key columns {missing or '(none)'} not inserted")
    if len(set(columns)) != len(columns):
        raise ValueError(f"upsert into {table}: a column is named twice")
    updated = [c for c in columns if c not in key_columns]
    action = (
        "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updated)
        if updated else "DO NOTHING"
    )
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(len(columns))})"
        f" ON CONFLICT ({', '.join(key_columns)}) {action}"
    )


def total(expression: str) -> str:
    """The sum of `expression` over the rows as a float, 0 when there are none.

    `total()` adds in floating point, so it never fails on a sum past 2^63 - 1 as `sum()`
    would on SQLite (a hostile report must not make every cost read fail). SQLite has it
    built in; the PostgreSQL schema defines an aggregate of that name."""
    return f"total({expression})"


def totals(*expressions: str) -> str:
    """`total()` of each expression, comma-separated, for a SELECT list."""
    return ", ".join(total(e) for e in expressions)


def larger(table: str, column: str) -> str:
    """In an upsert's SET: the larger of the row's `column` and the inserted one (SQLite's
    two-argument max() and PostgreSQL's greatest() are spelled differently)."""
    return (f"CASE WHEN excluded.{column} > {table}.{column} THEN excluded.{column}"
            f" ELSE {table}.{column} END")


# `meta` holds the store's markers (`state_through`, `pruned_through`, ...): key → value.
SET_META = upsert("meta", ("key", "value"), ("key",))
