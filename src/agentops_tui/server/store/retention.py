"""Retention of the event log: how much of it to keep, and pruning past that.

Current state is never pruned. The log keeps at least every event after the last state
checkpoint (`state_through`): the store folds those again when it opens.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from agentops_tui.server.store.dialect import BEGIN_WRITE, DRIVER_ERRORS, SET_META
from agentops_tui.server.store.failures import rollback
from agentops_tui.server.store.fleet_loader import RECENT_SECONDS, forget_old
from agentops_tui.server.store.writer import Writer

log = logging.getLogger("agentops.store")


@dataclass(frozen=True)
class Retention:
    """How much of the event log to keep. Current state is never pruned."""

    max_events: int = 2_000_000
    max_age_seconds: float = 7 * 86400
    every_commits: int = 500


def _aged_prefix(writer: Writer, before: float) -> int:
    """The last id of the log's oldest run of events stamped before `before`.

    Only a prefix: an event's `ts` is the agent's word, and one stamped in 1970 that
    arrived today must not take every event logged before it along."""
    row = writer.conn.execute(
        "SELECT id FROM events WHERE ts >= ? ORDER BY id LIMIT 1", (before,)
    ).fetchone()
    if row is not None:
        return int(row[0]) - 1
    return writer.next_event_id - 1  # every event is older


def prune_log(writer: Writer, ret: Retention, pruned_through: int) -> tuple[int, int]:
    """Drop log entries past the retention limits (writer thread, or a writer not running).
    Returns how many were dropped and the new `pruned_through`."""
    with writer.lock:
        conn = writer.conn
        cutoff_id = writer.next_event_id - 1 - ret.max_events
        cutoff = max(cutoff_id, _aged_prefix(writer, time.time() - ret.max_age_seconds))
        # the log must keep what the tables lack; and a session forgotten below must have
        # its row current
        writer.checkpoint_now()
        cutoff = min(cutoff, writer.checkpoint.through)
        if cutoff <= pruned_through:
            return 0, pruned_through
        conn.execute(BEGIN_WRITE)
        try:
            cur = conn.execute("DELETE FROM events WHERE id <= ?", (cutoff,))
            conn.execute(SET_META, ("pruned_through", str(cutoff)))
            conn.execute("COMMIT")
        except DRIVER_ERRORS.database:
            rollback(conn)
            log.exception("retention pruning failed")
            return 0, pruned_through
        if not writer.checkpoint.pending:
            for fleet in writer.fleets.values():
                forget_old(fleet, time.time() - RECENT_SECONDS)
        return int(cur.rowcount), cutoff
