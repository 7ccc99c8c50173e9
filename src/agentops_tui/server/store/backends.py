"""The two backends behind the store's seam, opened from a `DatabaseUrl`.

A `Backend` is what the store needs of its database: its lock (SQLite: the file lock that
keeps a second backend off it; PostgreSQL: the leader lock among replicas), the writer's
connection (and how to open another after an outage), read connections for the read
threads, and how the log is appended (`SqliteLog`, `postgres_log.PostgresLog`).
psycopg is imported only here, and only for a PostgreSQL URL.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agentops_tui.server.store.connection import Connection, Cursor
from agentops_tui.server.store.database_url import DatabaseUrl, parse
from agentops_tui.server.store.db_lock import BackendLock
from agentops_tui.server.store.dialect import BEGIN_WRITE, DRIVER_ERRORS, placeholders
from agentops_tui.server.store.migrations import DatabaseUnusable
from agentops_tui.server.store.sqlite_schema import connect as sqlite_connect
from agentops_tui.server.store.sqlite_schema import open_database
from agentops_tui.server.store.sqlite_schema import schema_version as sqlite_schema_version
from agentops_tui.server.store.write_context import LogRow, StoreUnavailable

if TYPE_CHECKING:
    from agentops_tui.server.store.write_context import WriteContext
    from agentops_tui.server.store.writer import Writer


class LogAppender(Protocol):
    def begin(self, writer: Writer, ctx: WriteContext) -> None:
        """Open the group's transaction (and take its first id)."""

    def append(self, conn: Connection, rows: list[LogRow]) -> None:
        """Write the group's log rows."""

    def end(self, conn: Connection, newest: int) -> None:
        """Before COMMIT: the group's last id is `newest`."""

    def stored_through(self, conn: Connection, *, lock: bool) -> int | None:
        """`state_through` as the database holds it (locked for this transaction when
        `lock`), where other processes may write checkpoints; None where only this one does."""

    def logged_keys(self, conn: Connection, workspace: str, keys: list[str]) -> set[str]:
        """Which of `keys` the log holds for the workspace."""


class Lock(Protocol):
    def acquire(self) -> None: ...

    def announce(self, url: str) -> None: ...

    def release(self) -> None: ...


class SqliteLog:
    """One writer per file (the file lock): ids are the writer's own count."""

    INSERT = ("INSERT INTO events (id, workspace, type, ts, session_id, event_key, data)"
              " VALUES (?, ?, ?, ?, ?, ?, ?)")

    def begin(self, writer: Writer, ctx: WriteContext) -> None:
        ctx.conn.execute(BEGIN_WRITE)

    def append(self, conn: Connection, rows: list[LogRow]) -> None:
        conn.executemany(self.INSERT, rows)

    def end(self, conn: Connection, newest: int) -> None:
        pass

    def stored_through(self, conn: Connection, *, lock: bool) -> int | None:
        return None

    def logged_keys(self, conn: Connection, workspace: str, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = conn.execute(
                "SELECT event_key FROM events WHERE workspace = ? AND event_key IN"
                f" ({placeholders(len(chunk))})", [workspace, *chunk])
            found.update(r[0] for r in rows)
        return found


@dataclass
class Backend:
    url: DatabaseUrl
    lock: Lock
    open_writer: Callable[[], Connection]  # the schema created or upgraded
    open_reader: Callable[[], Connection]
    log: LogAppender
    # after an outage: a new writer connection (None: the connection never breaks)
    reconnect: Callable[[], Connection] | None = None
    # PostgreSQL cannot store a NUL character in text: refused with the request that sent it
    refuse_nul: bool = False


def open_backend(db: DatabaseUrl | Path | str, *, synchronous: str = "FULL") -> Backend:
    url = db if isinstance(db, DatabaseUrl) else parse(db)
    if not url.is_postgres:
        path = url.sqlite_path()
        return Backend(
            url, BackendLock(path),
            open_writer=lambda: open_database(path, synchronous=synchronous),
            open_reader=lambda: sqlite_connect(path, readonly=True),
            log=SqliteLog(),
        )
    from agentops_tui.server.store import postgres_connection as pg
    from agentops_tui.server.store.postgres_log import PostgresLog
    from agentops_tui.server.store.postgres_replica import PgLeaderLock

    dsn = url.dsn
    assert dsn is not None
    lock = PgLeaderLock(dsn, url.shown())

    def open_writer() -> Connection:
        conn = open_connection(url)
        pg.bound_write_transactions(conn)
        return conn

    def reconnect() -> Connection:
        conn = pg.connect(dsn)
        pg.bound_write_transactions(conn)
        return conn

    return Backend(
        url, lock,
        open_writer=open_writer,
        open_reader=lambda: pg.connect(dsn, readonly=True),
        log=PostgresLog(), reconnect=reconnect, refuse_nul=True,
    )


def open_connection(db: DatabaseUrl | Path | str) -> Connection:
    """A connection to the database with its schema created or upgraded, for the writer and
    for tools that write a few rows (`agentops token`). Raises DatabaseUnusable, naming the
    database, where it cannot be used."""
    url = db if isinstance(db, DatabaseUrl) else parse(db)
    if not url.is_postgres:
        return open_database(url.sqlite_path())
    from agentops_tui.server.store import postgres_connection as pg
    from agentops_tui.server.store.postgres_schema import migrate

    assert url.dsn is not None
    try:
        conn = pg.connect(url.dsn)
    except DRIVER_ERRORS.database as exc:
        raise DatabaseUnusable(f"cannot connect to the database {url.shown()}: {exc}") from None
    try:
        migrate(conn)
    except DatabaseUnusable as exc:
        conn.close()
        raise DatabaseUnusable(f"{url.shown()}: {exc}") from None
    except DRIVER_ERRORS.database as exc:
        conn.close()
        raise DatabaseUnusable(f"cannot use the database {url.shown()}: {exc}") from None
    return conn


def recorded_version(db: DatabaseUrl | Path | str) -> int | None:
    """The schema version the database records (None: no schema yet), changing nothing."""
    url = db if isinstance(db, DatabaseUrl) else parse(db)
    if url.is_postgres:
        from agentops_tui.server.store import postgres_connection, postgres_schema

        assert url.dsn is not None
        try:
            conn: Connection = postgres_connection.connect(url.dsn)
        except DRIVER_ERRORS.database as exc:
            raise DatabaseUnusable(f"cannot connect to the database {url.shown()}: {exc}"
                                   ) from None
        try:
            return postgres_schema.schema_version(conn)
        finally:
            conn.close()
    path = url.sqlite_path()
    if not path.exists():
        return None
    try:
        with contextlib.closing(sqlite_connect(path, readonly=True)) as sqlite:
            return sqlite_schema_version(sqlite)
    except DRIVER_ERRORS.database as exc:
        raise DatabaseUnusable(f"cannot use the database {path}: {exc}") from None


def token_connection(db: DatabaseUrl | Path | str) -> Connection:
    """What the token lookup reads with: SQLite's one read-only connection (any thread may
    use it), or a PostgreSQL connection per thread."""
    url = db if isinstance(db, DatabaseUrl) else parse(db)
    if not url.is_postgres:
        return sqlite_connect(url.sqlite_path(), readonly=True)
    from agentops_tui.server.store import postgres_connection as pg

    dsn = url.dsn
    assert dsn is not None
    return PerThreadConnection(lambda: pg.connect(dsn, readonly=True))


class PerThreadConnection:
    """A `Connection` that runs each statement on the calling thread's own connection,
    opened on first use and again after an outage (which the caller sees as
    StoreUnavailable: a 503)."""

    def __init__(self, open_connection: Callable[[], Connection]) -> None:
        self._open = open_connection
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Connection] = []

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(conn, "broken", False):
            conn = self._open()
            with self._lock:
                self._opened.append(conn)
            self._local.conn = conn
        return conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self._run(lambda conn: conn.execute(sql, parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        rows = list(parameters)
        return self._run(lambda conn: conn.executemany(sql, rows))

    def _run(self, statement: Callable[[Connection], Cursor]) -> Cursor:
        """`statement` on this thread's connection; once more on a new one when the server
        had dropped the old one while it sat idle (a restart that is over now: its first
        statement fails, and nothing of it ran)."""
        had: Connection | None = getattr(self._local, "conn", None)
        try:
            return statement(self._connection())
        except DRIVER_ERRORS.outages as exc:
            self._local.conn = None
            if had is None or not getattr(had, "broken", False):
                raise StoreUnavailable(f"the database cannot be reached: {exc}") from None
        try:
            return statement(self._connection())
        except DRIVER_ERRORS.outages as exc:
            self._local.conn = None
            raise StoreUnavailable(f"the database cannot be reached: {exc}") from None

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(*DRIVER_ERRORS.database):
                conn.close()
