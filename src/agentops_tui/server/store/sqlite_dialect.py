"""Everything about the SQL the server writes that is particular to SQLite, in one place.

The rest of the server's SQL is plain enough for any backend; where SQLite differs (or where
a second backend would), the text comes from here rather than being written out at each call
site: upserts, sums that never overflow, how a write transaction begins, parameter markers,
and which driver errors mean an outage and which a value the store refuses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

# The driver's own connection type, for code inside server/store/ that opens connections.
# Everything else is typed with `server.store.connection.Connection`.
SqliteConnection = sqlite3.Connection

# Any failure the driver raises (a locked file, a file that is not a database, ...).
DatabaseError = sqlite3.Error

# Begins a transaction that takes the write lock at once, so a writer never finds the
# database changed under it half-way through (and never deadlocks upgrading a read lock).
BEGIN_WRITE = "BEGIN IMMEDIATE"

# Failures of the store itself rather than of what a job wrote: every job would fail alike.
OUTAGES: tuple[type[BaseException], ...] = (
    sqlite3.OperationalError, sqlite3.InternalError, MemoryError, OSError,
)
# Values the store or its JSON encoder refused: the request's fault, so a 422.
UNSTORABLE: tuple[type[BaseException], ...] = (
    sqlite3.IntegrityError, sqlite3.DataError, OverflowError, ValueError, RecursionError,
)

PARAM = "?"


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
    """The sum of `expression` over the rows, 0 when there are none.

    SQLite's `total()` adds in floating point, so it never fails on a sum past 2^63 - 1 as
    `sum()` would (a hostile report must not make every cost read fail); elsewhere this is
    `coalesce(sum(x), 0)` over a wide numeric type."""
    return f"total({expression})"


def totals(*expressions: str) -> str:
    """`total()` of each expression, comma-separated, for a SELECT list."""
    return ", ".join(total(e) for e in expressions)


# `meta` holds the store's markers (`state_through`, `pruned_through`, ...): key → value.
SET_META = upsert("meta", ("key", "value"), ("key",))
