"""Retention: how much of the event log and the audit log to keep, and pruning past that.

Current state is never pruned. The log keeps at least every event after the last state
checkpoint (`state_through`): the store folds those again when it opens. The notifications
delivery log follows the same limits (age, and at most as many rows as the log has events).
The audit log has a limit of its own, by age alone and far longer; it is pruned at the same
times, by the store that leads.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import BEGIN_WRITE, DRIVER_ERRORS, SET_META
from agentops_tui.server.store.failures import rollback
from agentops_tui.server.store.fleet_loader import RECENT_SECONDS, forget_old
from agentops_tui.server.store.writer import Writer

log = logging.getLogger("agentops.store")


@dataclass(frozen=True)
class Retention:
    """How much of the event log to keep, and how long to keep audit entries. Current state
    is never pruned."""

    max_events: int = 2_000_000
    max_age_seconds: float = 7 * 86400
    # what operators did is asked about long after the events around it are gone, so the
    # audit log has its own limit, by age only; 0 keeps it forever
    audit_max_age_seconds: float = 365 * 86400
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
        prune_notifications(conn, ret, time.time())
        prune_audit(conn, ret, time.time())
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


def _notifications_cutoff(conn: Connection, ret: Retention, now: float) -> int | None:
    """The newest notification id past the limits: the oldest run of rows older than the
    age limit (rows are written in time order), and every row but the newest
    `max_events`."""
    row = conn.execute("SELECT id FROM notifications WHERE ts >= ? ORDER BY id LIMIT 1",
                       (now - ret.max_age_seconds,)).fetchone()
    if row is not None:
        aged = int(row[0]) - 1
    else:  # every row is older (or there is none)
        newest = conn.execute("SELECT max(id) FROM notifications").fetchone()
        aged = int(newest[0] or 0)
    row = conn.execute("SELECT id FROM notifications ORDER BY id DESC LIMIT 1 OFFSET ?",
                       (ret.max_events,)).fetchone()
    cutoff = max(aged, int(row[0]) if row is not None else 0)
    return cutoff if cutoff > 0 else None


def prune_notifications(conn: Connection, ret: Retention, now: float) -> int:
    """Drop delivery-log rows past the retention limits (writer thread, lock held).
    Returns how many were dropped."""
    try:
        cutoff = _notifications_cutoff(conn, ret, now)
        if cutoff is None:
            return 0
        conn.execute(BEGIN_WRITE)
        deleted = conn.execute("DELETE FROM notifications WHERE id <= ?", (cutoff,)).rowcount
        conn.execute("COMMIT")
    except DRIVER_ERRORS.database:
        rollback(conn)
        log.exception("pruning the notifications log failed")
        return 0
    return int(deleted)


# At most this many audit entries go at each pruning: the first one after an upgrade may find
# years of them, and must not hold every write waiting on the writer for long. The rest go at
# the next prunings (every `every_commits` commits).
AUDIT_BATCH = 10_000

# The workspaces that have audit entries, each found by one probe of the `audit_ts` index
# (workspace, ts) past the one before: a table scan every pruning would grow with the log.
_AUDIT_WORKSPACES = (
    "WITH RECURSIVE ws (name) AS ("
    " SELECT min(workspace) FROM audit"
    " UNION ALL SELECT (SELECT min(workspace) FROM audit WHERE workspace > ws.name)"
    " FROM ws WHERE ws.name IS NOT NULL)"
    " SELECT name FROM ws WHERE name IS NOT NULL"
)
_DELETE_AGED_AUDIT = (
    "DELETE FROM audit WHERE id IN"
    " (SELECT id FROM audit WHERE workspace = ? AND ts < ? LIMIT ?)"
)


def prune_audit(conn: Connection, ret: Retention, now: float) -> int:
    """Drop audit entries older than `audit_max_age_seconds` (writer thread, lock held; none
    when it is 0). By age alone: an entry's `ts` is the server's clock when it was written,
    so no entry younger than the limit goes. Returns how many were dropped."""
    if ret.audit_max_age_seconds <= 0:
        return 0
    before = now - ret.audit_max_age_seconds
    budget = AUDIT_BATCH
    try:
        workspaces = [str(row[0]) for row in conn.execute(_AUDIT_WORKSPACES).fetchall()]
        conn.execute(BEGIN_WRITE)
        for workspace in workspaces:
            budget -= int(conn.execute(_DELETE_AGED_AUDIT, (workspace, before, budget)).rowcount)
            if budget <= 0:
                break
        conn.execute("COMMIT")
    except DRIVER_ERRORS.database:
        rollback(conn)
        log.exception("pruning the audit log failed")
        return 0
    return AUDIT_BATCH - budget
