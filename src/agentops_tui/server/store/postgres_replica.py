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
leader is replaced within one retry interval after its connection is gone, plus a grace
period. Two replicas must never run the jobs at once, so leading is a lease: the leader
confirms its lock connection every second and stops leading when its last confirmation is
older than LEASE_SECONDS (a leader that was frozen, SIGSTOP or a paused VM, finds its lease
lapsed the moment it runs again), and a replica that takes the lock over waits longer than
that lease before it leads. The lock connection asks the server to close it when it sits
idle (IDLE_SESSION_MS): a frozen leader's lock is released instead of held forever.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from psycopg import errors as pg_errors

from agentops_tui.server.store.db_lock import DatabaseInUse
from agentops_tui.server.store.dialect import DRIVER_ERRORS
from agentops_tui.server.store.migrations import DatabaseUnusable
from agentops_tui.server.store.postgres_connection import PgConnection, connect
from agentops_tui.server.store.postgres_log import NOTIFY_CHANNEL

if TYPE_CHECKING:
    from agentops_tui.server.store.writer import Writer

log = logging.getLogger("agentops.store")

LEADER_KEY = 734_620_190  # below 2^31: pg_locks shows it as objid, classid 0
LEADER_RETRY_SECONDS = 3.0  # how often a replica that does not lead tries for the lock
CONFIRM_SECONDS = 1.0  # how often the leader confirms its lock connection
LEASE_SECONDS = 3.0  # the leader stops leading when its last confirmation is older than this
# a replica that took the lock over leads only once whoever held it has surely stopped
TAKEOVER_GRACE_SECONDS = LEASE_SECONDS + 1.0
IDLE_SESSION_MS = 6000  # several confirmations missed: the process is frozen
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
        self._leads_from: float | None = None  # monotonic; None: the lock is not ours
        self._confirmed_at = 0.0
        self._conn: PgConnection | None = None
        self._name = _HOLDER.format(pid=os.getpid())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        """This replica leads: it holds the lock, has confirmed it within the lease and is
        past the grace period of a takeover."""
        leads_from = self._leads_from
        now = time.monotonic()
        return (leads_from is not None and now >= leads_from
                and now - self._confirmed_at < LEASE_SECONDS)

    def acquire(self) -> None:
        """Try for the lock once (raising DatabaseUnusable when the server is out of reach),
        then keep trying, and checking it is still held, on a thread of its own. Taken at
        start, the lock leads at once: a replica starting is no takeover of a running one."""
        try:
            self._try(grace=0.0)
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
        while not self._stop.wait(
                LEADER_RETRY_SECONDS if self._leads_from is None else CONFIRM_SECONDS):
            try:
                self._try(grace=TAKEOVER_GRACE_SECONDS)
            except DRIVER_ERRORS.database as exc:
                if self._leads_from is not None:
                    log.warning("lost the leader lock with its connection: %s", exc)
                self._lose()

    def _try(self, *, grace: float) -> None:
        if self._conn is None or self._conn.broken:
            self._lose()
            self._conn = connect(self.dsn, application=self._name)
            with contextlib.suppress(pg_errors.UndefinedObject):  # before PostgreSQL 14
                self._conn.execute(f"SET idle_session_timeout = {IDLE_SESSION_MS}")
        if self._leads_from is not None:
            self._conn.execute("SELECT 1")  # still connected: still holding
            self._confirmed_at = time.monotonic()
            return
        taken = bool(self._conn.execute("SELECT pg_try_advisory_lock(?)",
                                        (LEADER_KEY,)).fetchone()[0])
        if taken:
            self._confirmed_at = time.monotonic()
            self._leads_from = self._confirmed_at + grace
            log.info("this replica now runs the background jobs (leader)%s",
                     f" after {grace:g} s" if grace else "")

    def _lose(self) -> None:
        self._leads_from = None
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
