"""A psycopg connection that runs the server's SQL as written for both backends.

Domain SQL uses `?` markers and `BEGIN IMMEDIATE` (`dialect`); psycopg wants `%s` (and a
literal `%` doubled) and PostgreSQL has no IMMEDIATE. Each statement text is translated
once and the translation cached: the text of a hot statement is a constant, so the cache
stays small. Values come back as SQLite would give them: sums of integer columns (numeric
to PostgreSQL) as int, booleans go in as 0 and 1.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format, TransactionStatus

from agentops_tui.server.store.connection import Connection, Cursor
from agentops_tui.server.store.dialect import BEGIN_WRITE, DRIVER_ERRORS

# A lost or shut-down server, a failed transaction, a full disk: every job would fail alike.
DRIVER_ERRORS.add(
    database=(psycopg.Error,),
    outages=(psycopg.OperationalError, psycopg.InterfaceError, psycopg.InternalError,
             pg_errors.InsufficientResources, pg_errors.OperatorIntervention),
    unstorable=(psycopg.DataError, psycopg.IntegrityError),
)

_STATEMENTS = {BEGIN_WRITE: "BEGIN"}


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` outside quotes → `%s`, `%` → `%%`; quoted text and identifiers kept as they are."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is not None:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None  # a doubled quote closes and reopens: the same text results
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


# Upserts and updates of this many rows or more go through a staging table (below).
STAGED_ROWS = 32
_UPSERT = re.compile(
    r"^INSERT INTO (\w+) \(([\w, ]+)\) VALUES \([?, ]+\)( ON CONFLICT \(([\w, ]+)\) .*)$",
    re.S)
# `UPDATE t SET a = ?, b = ? WHERE k = ? AND l = ?`: the row's new values, then its key
_UPDATE = re.compile(
    r"^UPDATE (\w+) SET ((?:\w+ = \?, )*\w+ = \?) WHERE ((?:\w+ = \? AND )*\w+ = \?)$")


@dataclass(frozen=True)
class _Upsert:
    table: str
    columns: str
    conflict: str  # " ON CONFLICT (...) DO ..."
    key_at: tuple[int, ...]  # where the key columns are in a row


@functools.lru_cache(maxsize=256)
def _upsert_of(sql: str) -> _Upsert | None:
    found = _UPSERT.match(sql)
    if found is None:
        return None
    columns = [c.strip() for c in found.group(2).split(",")]
    keys = [c.strip() for c in found.group(4).split(",")]
    if any(k not in columns for k in keys):
        return None
    return _Upsert(found.group(1), ", ".join(columns), found.group(3),
                   tuple(columns.index(k) for k in keys))


@dataclass(frozen=True)
class _Update:
    table: str
    columns: str  # the set columns, then the key columns, in parameter order
    keys: int  # how many key columns end each row
    statement: str  # the UPDATE ... FROM the staging table


@functools.lru_cache(maxsize=256)
def _update_of(sql: str) -> _Update | None:
    found = _UPDATE.match(sql)
    if found is None:
        return None
    table = found.group(1)
    sets = [part.split(" = ")[0] for part in found.group(2).split(", ")]
    keys = [part.split(" = ")[0] for part in found.group(3).split(" AND ")]
    statement = (f"UPDATE {table} SET " + ", ".join(f"{c} = s.{c}" for c in sets)
                 + " FROM {stage} AS s WHERE "
                 + " AND ".join(f"{table}.{k} = s.{k}" for k in keys))
    return _Update(table, ", ".join(sets + keys), len(keys), statement)


class _NumberLoader(Loader):
    """numeric → int when whole (a sum of bigint columns), else float, as SQLite returns."""

    def load(self, data: Any) -> int | float:
        text = bytes(data)
        if b"." in text or b"N" in text or b"e" in text.lower():
            return float(text)
        return int(text)


class _BoolDumper(Dumper):
    """True/False as 1/0: the schema keeps flags in integer columns, as SQLite does."""

    oid = psycopg.adapters.types["int8"].oid
    format = Format.TEXT

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class PgConnection:
    """The `Connection` protocol over one psycopg connection in autocommit mode (the store
    opens its transactions itself, as on SQLite)."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._stages: set[str] = set()  # staging tables this connection has created
        raw.adapters.register_loader("numeric", _NumberLoader)
        raw.adapters.register_dumper(bool, _BoolDumper)

    @property
    def broken(self) -> bool:
        """The connection is gone (the server restarted or dropped it): open another."""
        return self.raw.closed or self.raw.broken

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        if not parameters:  # sent as it is: several statements may share one text
            return self.raw.execute(_STATEMENTS.get(sql, sql))
        return self.raw.execute(translate(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        rows = parameters if isinstance(parameters, list) else list(parameters)
        if len(rows) >= STAGED_ROWS and (upsert := _upsert_of(sql)) is not None:
            keys = {tuple(row[i] for i in upsert.key_at) for row in rows}
            if len(keys) == len(rows):  # a key twice: one upsert after the other, below
                return self._staged(upsert.table, upsert.columns, rows,
                                    f"INSERT INTO {upsert.table} ({upsert.columns}) SELECT"
                                    f" {upsert.columns} FROM {{stage}}{upsert.conflict}",
                                    f"agentops_stage_{upsert.table}")
        if len(rows) >= STAGED_ROWS and (update := _update_of(sql)) is not None:
            keys = {tuple(row[-update.keys:]) for row in rows}
            if len(keys) == len(rows):  # a key twice: the last update must win, below
                return self._staged(update.table, update.columns, rows, update.statement,
                                    f"agentops_update_{update.table}")
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), rows)
        return cursor

    def _staged(self, table: str, columns: str, rows: list[Sequence[Any]], statement: str,
                stage: str) -> Cursor:
        """Many rows upserted or updated as one statement: COPY into a temporary table,
        then one INSERT ... SELECT with the same ON CONFLICT, or one UPDATE ... FROM. A
        state checkpoint writes thousands of rows; one statement each cost the server
        three to four times as much, and the client a Python round of psycopg's per row.

        The staging table lives as long as the connection and empties itself at each
        commit (`ON COMMIT DELETE ROWS`): a TRUNCATE before each use cost 1-10 ms, most of
        a small checkpoint's statements. Outside a transaction the two statements get one."""
        with contextlib.ExitStack() as stack:
            if self.raw.info.transaction_status == TransactionStatus.IDLE:
                stack.enter_context(self.raw.transaction())
            self.raw.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS"
                             f" AS SELECT {columns} FROM {table} WITH NO DATA")
            with self.raw.cursor() as cursor, cursor.copy(
                    f"COPY {stage} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return self.raw.execute(statement.replace("{stage}", stage))

    def close(self) -> None:
        self.raw.close()


# The store's lookups are index probes (event keys, one session, a page of the log), a few
# hundred at a time; with the default cost of a random page (4, for spinning disks) the
# planner reads the whole log instead once it holds a few thousand rows. 1.1 is the usual
# setting for SSDs and for databases that fit in memory.
_SESSION = "-c random_page_cost=1.1"


# A writer frozen inside a group commit (SIGSTOP, a paused VM) holds the log's counter row,
# and every replica's writes wait for it: the server ends a transaction that has waited this
# long for its next statement (the writer sends its statements back to back; folding a long
# backlog may pause it for a few seconds). Its group then fails and is folded again.
IDLE_IN_WRITE_MS = 10_000


def bound_write_transactions(conn: Connection) -> None:
    """For the store's writer connection: see IDLE_IN_WRITE_MS."""
    conn.execute(f"SET idle_in_transaction_session_timeout = {IDLE_IN_WRITE_MS}")


def connect(dsn: str, *, readonly: bool = False, application: str = "agentops") -> PgConnection:
    """A new autocommit connection; raises psycopg.Error when the server cannot be reached."""
    options = _SESSION + (" -c default_transaction_read_only=on" if readonly else "")
    raw = psycopg.connect(dsn, autocommit=True, connect_timeout=5,
                          application_name=application, options=options)
    return PgConnection(raw)
