"""Folding the log into the writer's memory: on open, and after a group rolled back.

The fleets and the folds' pending sums hold the tables plus what the log holds after
`state_through`. A group that fails leaves memory holding what it folded before it failed;
rather than undo that piecewise, memory is emptied and the log folded again, exactly as on
open. When that fails too (the database is out of reach) the store is *stale*: nothing may
be written or read from the fleets until a later attempt has folded the log.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from agentops_tui.server.store.failures import rollback
from agentops_tui.server.store.write_context import LoggedEvent, StoreUnavailable, WriteContext

if TYPE_CHECKING:
    from agentops_tui.server.store.writer import Writer

log = logging.getLogger("agentops.store")


class Recovery:
    """Folds the log after the checkpoint into the writer's fleets and folds."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        # memory lost what a rolled-back group's predecessors folded and has not folded the
        # log again yet (that failed too): nothing may be written until it has
        self.stale = False

    def recover(self) -> None:
        """Fold the log after `state_through` into the fleets and the folds, then write a
        checkpoint: on open, and after a group rolled back (with memory cleared).

        A group whose COMMIT was sent but never answered (the database went away) may have
        committed after all: its events are in the log, so they are folded here, the next
        ids follow them, and they are handed to the fan-out as any committed group's."""
        writer = self._writer
        unpublished: list[LoggedEvent] = []
        with writer.lock:
            writer.ensure_connection()
            cp = writer.checkpoint
            ctx = WriteContext(writer)
            newest = cp.through
            count = 0
            for event_id, ws, kind, ts, raw in writer.conn.execute(
                "SELECT id, workspace, type, ts, data FROM events WHERE id > ? ORDER BY id",
                (cp.through,),
            ).fetchall():
                event = LoggedEvent(event_id, kind, ts, ws, json.loads(raw), raw)
                ctx.refold(event)
                if event_id > writer.committed_id:
                    unpublished.append(event)
                newest = event_id
                count += 1
            cp.committed(ctx.touched, count, newest, time.monotonic())
            self.stale = False
            if newest > writer.committed_id:
                writer.committed_id = newest
                writer.next_event_id = newest + 1
            if count:
                log.info("folded %d logged events after the checkpoint", count)
        if unpublished:
            writer.on_commit(unpublished)
        # after publishing: a checkpoint that finds another replica's in the tables folds
        # the log again, and hands on what was appended since; those must follow these
        writer.checkpoint_now()

    def fold_if_rolled_back(self) -> None:
        """For a reader of the fleets (lock held): after a group rolled back and its store
        could not fold the log again (the database was out of reach), memory holds nothing;
        loading a fleet from the tables alone would leave out what the log holds after the
        checkpoint. Fold it first; StoreUnavailable while that still fails."""
        if self.stale and not self.recover_quietly():
            raise StoreUnavailable("the store could not fold its log after a rollback")

    def roll_back(self, start_id: int) -> None:
        """Undo a failed group: the transaction, and all the state memory held beyond the
        checkpoint, which is then folded again from the log, exactly as on open."""
        writer = self._writer
        rollback(writer.conn)
        writer.next_event_id = start_id
        self.stale = True
        self.recover_quietly()

    def recover_quietly(self) -> bool:
        """Fold the log again into emptied memory; False when that failed too (the store
        is failing), to be tried again before the next write."""
        writer = self._writer
        writer.checkpointing.settle()
        writer.fleets.clear()  # reloaded from the tables and the log
        writer.checkpoint.drop()
        try:
            self.recover()
        except Exception:
            log.exception("folding the log after a rollback failed")
            writer.fleets.clear()
            writer.checkpoint.drop()
            return False
        return True
