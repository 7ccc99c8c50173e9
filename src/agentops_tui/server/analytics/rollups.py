"""Rollups: cost per minute, tool calls per minute, finished runs — and their retention.

The rollup tables are a fold of the log kept by the store's state checkpoint
(`store.rollup_fold`): exactly as durable as the events, at most a second behind them, and
folded again from the log after a crash. This module prunes rows past retention and names
the money units the rest of analytics reads.
"""

from __future__ import annotations

import logging
import time

from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import BEGIN_WRITE, DRIVER_ERRORS
from agentops_tui.server.store.failures import rollback
from agentops_tui.server.store.rollup_fold import MAX_STORED, USD_UNITS, to_units, to_usd
from agentops_tui.server.store.writer import Writer

__all__ = ["MAX_STORED", "USD_UNITS", "Rollups", "to_units", "to_usd"]

log = logging.getLogger("agentops.rollups")

# Kept a little longer than the longest window the API accepts (90 days).
RETENTION_SECONDS = 92 * 86400
PRUNE_EVERY_SECONDS = 3600.0


class Rollups:
    """Drops rollup rows past retention, at most hourly, after a commit."""

    def __init__(self, retention_seconds: float = RETENTION_SECONDS) -> None:
        self.retention_seconds = retention_seconds
        self._pruned_at = 0.0

    def install(self, writer: Writer) -> None:
        writer.after_commit_hooks.append(self.maybe_prune)

    def maybe_prune(self, writer: Writer) -> None:
        """At most hourly (writer thread, after a commit): drop rollups past retention."""
        now = time.time()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        with writer.lock:
            self.prune(writer.conn, list(writer.fleets), now - self.retention_seconds)

    @staticmethod
    def prune(conn: Connection, workspaces: list[str], before: float) -> int:
        """Delete rollup rows and resolved alerts older than `before`, workspace by workspace
        (every delete is a range of an index that starts with the workspace). Sums still
        pending in the checkpoint are added later; old ones are dropped at the next prune."""
        minute = int(before // 60)
        deleted = 0
        try:
            conn.execute(BEGIN_WRITE)
            for ws in workspaces:
                for sql, arg in (
                    ("DELETE FROM cost_rollup WHERE workspace = ? AND minute < ?", minute),
                    ("DELETE FROM tool_rollup WHERE workspace = ? AND minute < ?", minute),
                    ("DELETE FROM cost_sessions WHERE workspace = ? AND last_ts < ?", before),
                    ("DELETE FROM session_runs WHERE workspace = ? AND ended_at < ?", before),
                    ("DELETE FROM alerts WHERE workspace = ? AND raised_at < ?"
                     " AND status = 'resolved'", before),
                ):
                    deleted += conn.execute(sql, (ws, arg)).rowcount
            conn.execute("COMMIT")
        except DRIVER_ERRORS.database:
            rollback(conn)
            log.exception("pruning old rollups failed")
            return 0
        return deleted
