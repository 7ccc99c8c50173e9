"""The state checkpoint written on a connection of its own, beside the group commits.

On PostgreSQL a checkpoint of a second's events (~2,000) holds its transaction for
50–70 ms, most of it the server's work on the session and message rows. Written by the
writer thread, every group arriving meanwhile waited that long for its commit, and its
acknowledgement and stream frames with it. Here the writer thread only takes the batch
(`Checkpoint.take`: the rows built from memory, a few ms) and goes on committing groups;
this thread writes it, with `state_through`, in one transaction, and the writer applies the
outcome when it next looks (`settle`, or `poll` after the wake-up this thread sends).

One batch at most is in flight: none is taken until the last one landed or came back. A
batch whose transaction fails comes back whole (`Checkpoint.returned`) and is retried one
interval later; one that finds `state_through` moved by another replica's checkpoint is
rolled back and handed to the writer's own checkpoint, which rebases
(`CheckpointWriter._rebase`). Every step that needs the tables current, or empties memory
(a rollback, retention, shutdown), waits for the batch in flight first
(`Writer.checkpoint_now`, `settle`).

SQLite has one writer per file: a second connection would only queue behind the group
commits' lock, so there the writer thread writes the checkpoint itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from agentops_tui.server.store.dialect import BEGIN_WRITE, DRIVER_ERRORS
from agentops_tui.server.store.failures import rollback

if TYPE_CHECKING:
    from agentops_tui.server.store.backends import LogAppender
    from agentops_tui.server.store.checkpoint import Batch, Checkpoint
    from agentops_tui.server.store.connection import Connection
    from agentops_tui.server.store.writer import Writer

log = logging.getLogger("agentops.store")

LANDED = "landed"
FAILED = "failed"
MOVED = "moved"  # `state_through` was not the one the batch follows: another replica's


class BackgroundCheckpoint:
    """Writes one taken batch at a time on its own connection and thread."""

    def __init__(self, open_connection: Callable[[], Connection], log_appender: LogAppender,
                 wake: Callable[[], None]) -> None:
        self._open = open_connection
        self._log = log_appender
        self._wake = wake
        self._conn: Connection | None = None
        self._flight: tuple[Batch, Future[str]] | None = None
        self._lock = threading.Lock()  # one transaction on the connection at a time
        self._settling = threading.Lock()
        self.written = 0  # batches landed

    @property
    def busy(self) -> bool:
        """A batch is in flight (writer thread)."""
        return self._flight is not None

    def begin(self, writer: Writer) -> None:
        """Take the pending checkpoint and start writing it (writer thread; nothing in
        flight)."""
        assert self._flight is None
        with writer.lock:
            cp = writer.checkpoint
            if not cp.pending or cp.in_flight:
                return
            batch = cp.take(writer.fleets)
        outcome: Future[str] = Future()
        self._flight = (batch, outcome)
        thread = threading.Thread(target=self._write, args=(writer.checkpoint, batch, outcome),
                                  name="agentops-checkpoint", daemon=True)
        thread.start()

    def poll(self, writer: Writer) -> None:
        """Apply the outcome of the batch in flight if it has one (writer thread)."""
        if self._flight is not None and self._flight[1].done():
            if self.settle(writer) == MOVED:  # the writer's own checkpoint rebases
                writer.checkpoint_now()

    def settle(self, writer: Writer) -> str | None:
        """Wait for the batch in flight, if any, and apply its outcome (writer thread, or
        a store whose writer thread has stopped). Returns the outcome (None: none was in
        flight)."""
        with self._settling:  # a store closing from another thread may settle too
            if self._flight is None:
                return None
            batch, outcome = self._flight
            result = outcome.result()
            self._flight = None
            with writer.lock:
                if result == LANDED:
                    writer.checkpoint.landed(batch)
                    self.written += 1
                else:
                    writer.checkpoint.returned(batch, time.monotonic())
            return result

    def _write(self, cp: Checkpoint, batch: Batch, outcome: Future[str]) -> None:
        try:
            result = self._transaction(cp, batch)
        except Exception:  # the log has it all; the batch is retried later
            log.exception("writing the state checkpoint failed")
            result = FAILED
        outcome.set_result(result)
        self._wake()

    def _transaction(self, cp: Checkpoint, batch: Batch) -> str:
        with self._lock:
            conn = self._connection()
            try:
                conn.execute(BEGIN_WRITE)
                stored = self._log.stored_through(conn, lock=True)
                if stored is not None and stored != batch.expected:
                    rollback(conn)
                    return MOVED
                batch.write(conn)
                with cp.landing:
                    conn.execute("COMMIT")
                    for fold in cp.folds:
                        fold.committed()
            except BaseException:
                rollback(conn)
                raise
            return LANDED

    def _connection(self) -> Connection:
        conn = self._conn
        if conn is None or getattr(conn, "broken", False):
            if conn is not None:  # lost in an outage: another is opened
                with contextlib.suppress(*DRIVER_ERRORS.database):
                    conn.close()
            self._conn = conn = self._open()
        return conn

    def close(self) -> None:
        """After the writer settled its last batch."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(*DRIVER_ERRORS.database):
                conn.close()
