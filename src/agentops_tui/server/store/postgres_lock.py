"""One backend per PostgreSQL database, until replicas follow each other's log.

A second backend on the same database would keep its own in-memory state and write its own
state checkpoints over the first one's. Every store therefore holds a session advisory lock
on a connection of its own for as long as it is open; the connection's application name says
who holds it (`pid`, and the address once the server listens), for the message a second
backend gets. PostgreSQL drops the lock with the connection, so a killed backend never
leaves it behind; after a database restart the writer takes it again before writing
(`ensure`).
"""

from __future__ import annotations

import contextlib
import os
import threading

from agentops_tui.server.store.dialect import DRIVER_ERRORS
from agentops_tui.server.store.migrations import DatabaseUnusable
from agentops_tui.server.store.postgres_connection import PgConnection, connect
from agentops_tui.server.store.write_context import StoreUnavailable

LOCK_KEY = 734_620_190  # below 2^31: pg_locks shows it as objid, classid 0
_HOLDER = "agentops backend pid {pid}"


class DatabaseInUse(DatabaseUnusable):
    """Another backend holds the database; the message names it."""


class PgBackendLock:
    def __init__(self, dsn: str, shown: str) -> None:
        self.dsn = dsn
        self.shown = shown
        self._conn: PgConnection | None = None
        self._name = _HOLDER.format(pid=os.getpid())
        self._mutex = threading.Lock()

    def acquire(self) -> None:
        """Take the lock or raise DatabaseInUse (DatabaseUnusable when the server is out of
        reach), naming who has it."""
        try:
            self._take()
        except DRIVER_ERRORS.database as exc:
            raise DatabaseUnusable(f"cannot connect to the database {self.shown}: {exc}") from None
        except StoreUnavailable as exc:
            raise DatabaseInUse(str(exc)) from None

    def ensure(self) -> None:
        """Hold the lock again if its connection was lost (the server restarted)."""
        with self._mutex:
            if self._conn is not None and not self._conn.broken:
                return
        self._take()

    def _take(self) -> None:
        with self._mutex:
            self._drop()
            conn = connect(self.dsn, application=self._name)
            try:
                taken = conn.execute("SELECT pg_try_advisory_lock(?)", (LOCK_KEY,)).fetchone()[0]
                holder = None if taken else conn.execute(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                    " ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = 0"
                    " AND l.objid::bigint = ? AND l.granted", (LOCK_KEY,)).fetchone()
            except BaseException:
                conn.close()
                raise
            if not taken:
                conn.close()
                who = holder[0] if holder and holder[0] else "another agentops backend"
                raise StoreUnavailable(
                    f"database {self.shown} is in use by {who}; connect to that backend with"
                    " `agentops tui --url`, or stop it first (several replicas on one"
                    " database are not supported yet)")
            self._conn = conn

    def announce(self, url: str) -> None:
        """Say where this backend listens, for the message a second one gets."""
        self._name = f"{_HOLDER.format(pid=os.getpid())} at {url}"
        with self._mutex, contextlib.suppress(*DRIVER_ERRORS.database):
            if self._conn is not None:
                self._conn.execute("SELECT set_config('application_name', ?, false)",
                                   (self._name,))

    def release(self) -> None:
        with self._mutex:
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(*DRIVER_ERRORS.database):
                self._conn.close()
            self._conn = None
