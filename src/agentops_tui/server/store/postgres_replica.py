"""Several `agentops serve` replicas on one PostgreSQL database: the tailer and the leader.

The log orders everything (`postgres_log`): each group commit locks the `log_head` counter
row, folds what other replicas appended, appends and `pg_notify`s the new head. A replica
that is not writing still has to see the others' events, so its **tailer** `LISTEN`s on the
channel (a doorbell: a lost notification only delays) and also looks at the head every
250 ms; when the head is ahead of what this replica applied it queues an empty job on the
writer, whose group commit folds the rows it has not seen exactly as a writing group does
and hands them to the fan-out, in id order.

Background jobs run on one replica: the one holding a session advisory lock. The others try
again every few seconds; PostgreSQL drops the lock with the holder's connection, so a killed
leader is replaced within one retry interval after its connection is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from agentops_tui.server.store.db_lock import DatabaseInUse
from agentops_tui.server.store.dialect import DRIVER_ERRORS
from agentops_tui.server.store.migrations import DatabaseUnusable
from agentops_tui.server.store.postgres_connection import PgConnection, connect
from agentops_tui.server.store.postgres_log import NOTIFY_CHANNEL

if TYPE_CHECKING:
    from agentops_tui.server.store.writer import Writer

log = logging.getLogger("agentops.store")

LEADER_KEY = 734_620_190  # below 2^31: pg_locks shows it as objid, classid 0
LEADER_RETRY_SECONDS = 3.0
POLL_SECONDS = 0.25
_HOLDER = "agentops replica pid {pid}"
_LOOK = ("SELECT head, (SELECT value FROM meta WHERE key = 'pruned_through')"
         " FROM log_head WHERE id = 1")


class PgLeaderLock:
    """Leadership of the background jobs: `held` while this replica holds the advisory lock
    (the `Lock` a backend gives the store; several replicas may open the database)."""

    def __init__(self, dsn: str, shown: str) -> None:
        self.dsn = dsn
        self.shown = shown
        self.held = False
        self._conn: PgConnection | None = None
        self._name = _HOLDER.format(pid=os.getpid())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Try for the lock once (raising DatabaseUnusable when the server is out of reach),
        then keep trying, and checking it is still held, on a thread of its own."""
        try:
            self._try()
        except DRIVER_ERRORS.database as exc:
            raise DatabaseUnusable(f"cannot connect to the database {self.shown}: {exc}") from None
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="agentops-leader", daemon=True)
        self._thread.start()

    def acquire_alone(self) -> None:
        """Take the lock, refusing (DatabaseInUse) while any replica is connected: for a
        tool that must be the only one writing (`agentops db copy`)."""
        self.acquire()
        assert self._conn is not None
        others = self._conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND datname = current_database() AND application_name LIKE ?",
            (_HOLDER.format(pid="") + "%",)).fetchone()
        if others is not None or not self.held:
            who = others[0] if others else "another agentops replica"
            self.release()
            raise DatabaseInUse(f"database {self.shown} is in use by {who}; stop it first")

    def _run(self) -> None:
        while not self._stop.wait(LEADER_RETRY_SECONDS):
            try:
                self._try()
            except DRIVER_ERRORS.database as exc:
                if self.held:
                    log.warning("lost the leader lock with its connection: %s", exc)
                self._lose()

    def _try(self) -> None:
        if self._conn is None or self._conn.broken:
            self._lose()
            self._conn = connect(self.dsn, application=self._name)
        if self.held:
            self._conn.execute("SELECT 1")  # still connected: still holding
            return
        taken = bool(self._conn.execute("SELECT pg_try_advisory_lock(?)",
                                        (LEADER_KEY,)).fetchone()[0])
        if taken:
            log.info("this replica now runs the background jobs (leader)")
        self.held = taken

    def _lose(self) -> None:
        self.held = False
        if self._conn is not None:
            with contextlib.suppress(*DRIVER_ERRORS.database):
                self._conn.close()
            self._conn = None

    def announce(self, url: str) -> None:
        """Say where this replica listens (pg_stat_activity's application_name)."""
        self._name = f"{_HOLDER.format(pid=os.getpid())} at {url}"
        with contextlib.suppress(*DRIVER_ERRORS.database):
            if self._conn is not None:
                self._conn.execute("SELECT set_config('application_name', ?, false)",
                                   (self._name,))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None
        self._lose()


class Tailer:
    """Applies the rows other replicas append (a thread with a connection of its own)."""

    def __init__(self, dsn: str, writer: Writer, on_pruned: Callable[[int], None]) -> None:
        self.dsn = dsn
        self.writer = writer
        self._on_pruned = on_pruned  # the leader prunes the log: `reset` must know how far
        self.lag_events = 0
        self._behind_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agentops-tailer", daemon=True)

    @property
    def lag_seconds(self) -> float:
        since = self._behind_since
        return 0.0 if since is None else time.monotonic() - since

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn = connect(self.dsn, application="agentops tailer")
            except DRIVER_ERRORS.database:
                self._stop.wait(1.0)
                continue
            try:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                while not self._stop.is_set():
                    head, pruned = conn.execute(_LOOK).fetchone()
                    if pruned is not None:
                        self._on_pruned(int(pruned))
                    self._catch_up(int(head))
                    # the doorbell, or the poll interval, whichever comes first
                    for _ in conn.raw.notifies(timeout=POLL_SECONDS, stop_after=1):
                        pass
            except DRIVER_ERRORS.database as exc:
                log.warning("the log tailer lost its connection: %s", exc)
                self._stop.wait(1.0)
            finally:
                with contextlib.suppress(*DRIVER_ERRORS.database):
                    conn.close()

    def _catch_up(self, head: int) -> None:
        writer = self.writer
        if head <= writer.committed_id:
            self.lag_events = 0
            self._behind_since = None
            return
        self.lag_events = head - writer.committed_id
        if self._behind_since is None:
            self._behind_since = time.monotonic()
        # an empty group: its commit folds and publishes what the others appended
        done = writer.submit(lambda ctx: None)
        while not self._stop.is_set():
            try:
                done.result(timeout=1.0)
                break
            except TimeoutError:
                continue
            except Exception:  # an outage: the next look tries again
                return
        if writer.committed_id >= head:
            self.lag_events = 0
            self._behind_since = None
