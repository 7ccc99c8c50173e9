"""When and how the writer writes the state checkpoint (`checkpoint`) in a transaction of
its own: one interval after the events it holds at the latest, sooner when many wait, and
whenever a reader asks for current tables (`Writer.request_checkpoint`).

Replicas on one database share the tables: only the leader writes checkpoints on the
timer; a follower writes one when a reader asks or too much is pending, and otherwise
drops what the leader's checkpoints already hold. A checkpoint that finds another
replica's in the tables rebases on it. On PostgreSQL the timed checkpoint is written beside
the group commits (`background_checkpoint`); every step that needs its outcome settles it
first.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING

from agentops_tui.server.store.dialect import BEGIN_WRITE, DRIVER_ERRORS
from agentops_tui.server.store.failures import rollback
from agentops_tui.server.store.write_context import StoreUnavailable

if TYPE_CHECKING:
    from agentops_tui.server.store.writer import Writer

log = logging.getLogger("agentops.store")


def answer_checkpoint(asked: Future[None], ok: bool) -> None:
    """Answer a reader that asked for current tables: the checkpoint was written, or not."""
    if ok:
        asked.set_result(None)
    else:
        asked.set_exception(StoreUnavailable("the store could not write its state checkpoint"))


class CheckpointWriter:
    """Writes the writer's pending checkpoint, on the timer or when asked."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._rebasing = False

    def must_write(self) -> bool:
        cp = self._writer.checkpoint
        return self._writer.leading() or cp.pending_events >= cp.max_pending

    def wait(self, now: float) -> float | None:
        """How long the writer thread may wait for a job before a checkpoint is due (None:
        no limit)."""
        writer = self._writer
        if writer.background is not None and writer.background.busy:
            return None  # woken when it lands
        wait = writer.checkpoint.wait_seconds(now)
        if wait is not None and not self.must_write():
            return max(wait, writer.checkpoint.interval)  # a follower only looks, once a while
        return wait

    def timed(self) -> None:
        """A checkpoint on the timer: written by the leader; a follower only drops what the
        leader's checkpoints already hold (writing its own would make the leader refold)."""
        writer = self._writer
        if self.must_write():
            if writer.background is None:
                self.write_now()
            elif not writer.background.busy:
                writer.background.begin(writer)
            return
        cp = writer.checkpoint
        if cp.in_flight:
            return
        with writer.lock:
            try:
                stored = writer.log.stored_through(writer.conn, lock=False)
            except DRIVER_ERRORS.database:
                return
            if stored is not None and stored == cp.pending_through:
                cp.adopt()
            elif stored is not None and cp.through < stored < cp.pending_through:
                # what their checkpoint holds stops pending here, group by group
                cp.release_through(stored, exact=False)

    def write_now(self) -> bool:
        """Write the pending checkpoint in a transaction of its own (writer thread, or a
        store whose thread is not running). False when it failed: all stays pending."""
        writer = self._writer
        self.settle()
        with writer.lock:
            cp = writer.checkpoint
            recovery = writer.recovery
            if recovery.stale and not recovery.recover_quietly():
                return False
            if not cp.pending:
                return True
            batch = None
            try:
                writer.ensure_connection()
                writer.conn.execute(BEGIN_WRITE)
                stored = writer.log.stored_through(writer.conn, lock=True)
                if stored is not None and stored != cp.through:
                    rollback(writer.conn)
                    return self._rebase(stored)
                batch = cp.take(writer.fleets)
                batch.write(writer.conn)
                writer.conn.execute("COMMIT")
            except Exception:  # disk full, I/O error: the log has it all; retry later
                log.exception("writing the state checkpoint failed")
                rollback(writer.conn)
                if batch is not None:
                    cp.returned(batch, time.monotonic())
                else:
                    cp.failed(time.monotonic())
                return False
            cp.landed(batch)
            return True

    def settle(self) -> None:
        """Wait for the checkpoint in flight, if any: what follows needs its outcome."""
        if self._writer.background is not None:
            self._writer.background.settle(self._writer)

    def _rebase(self, stored: int) -> bool:
        """Another replica wrote checkpoints since this one's: its pending sums overlap
        theirs. All of it held beyond their checkpoint is dropped; when their checkpoint
        holds everything this one folded that is all, else memory is folded again from
        the tables and the log after `stored`, as on open, and that checkpoint written."""
        writer = self._writer
        cp = writer.checkpoint
        if stored == cp.pending_through:
            cp.adopt()
            return True
        if (not self._rebasing and cp.through < stored < cp.pending_through
                and cp.release_through(stored)):
            # their checkpoint ends where one of this replica's groups does: what follows
            # it is still pending here, and written now on top of theirs
            self._rebasing = True
            try:
                return self.write_now()
            finally:
                self._rebasing = False
        if stored > writer.committed_id or self._rebasing:
            # this replica has not folded that far, or the leader wrote another checkpoint
            # while this one refolded: tried again at the next checkpoint
            return False
        cp.drop()
        cp.through = cp.pending_through = stored
        self._rebasing = True
        try:
            return writer.recovery.recover_quietly() and not cp.pending
        finally:
            self._rebasing = False
