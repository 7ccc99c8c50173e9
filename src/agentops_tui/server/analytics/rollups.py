"""Rollups kept as events are written: cost per minute, tool calls per minute, finished runs.

A writer observer folds each event of a commit group into in-memory sums; a flush hook writes
them with one `executemany` upsert per table before the group commits. So the rollups are
exactly as durable as the events, cost nothing per request, and a rolled-back group leaves no
trace (its sums are dropped with it).

Money is kept as integer units of 1e-10 USD (the precision prices are rounded to), so sums
over any window are exact and the API reports the same figures the price table gives.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agentops_tui.server.store.writer import LoggedEvent, WriteContext, Writer

log = logging.getLogger("agentops.rollups")

USD_UNITS = 10_000_000_000  # 1e-10 USD
# Kept a little longer than the longest window the API accepts (90 days).
RETENTION_SECONDS = 92 * 86400
PRUNE_EVERY_SECONDS = 3600.0


def to_units(usd: float) -> int:
    return round(usd * USD_UNITS)


def to_usd(units: int | float | None) -> float:
    return round((units or 0) / USD_UNITS, 10)


# A group's sums are written as SQLite integers, which stop at 2^63 - 1: a group of in-range
# reports can still add up past it (a thousand $1M reports is 10^19 units), and one value too
# large for SQLite would fail the whole group. Saturated instead; the tables' own additions
# then turn to floats, and every read sums with total(), which cannot overflow.
MAX_STORED = 2**63 - 1

# (workspace, minute, agent_id, task_id, model) -> [cost, in, out, cache_r, cache_w, n, unpriced]
CostKey = tuple[str, int, str, str, str]
# (workspace, session_id, model) -> (agent_id, task_id, last_ts)
SessionKey = tuple[str, str, str]
# (workspace, minute, tool, agent_id) -> [calls, errors, timed_calls, duration_ms]
ToolKey = tuple[str, int, str, str]


@dataclass
class _Group:
    """One commit group's sums, written by the flush hook."""

    ctx: WriteContext | None = None
    costs: dict[CostKey, list[int]] = field(default_factory=dict)
    sessions: dict[SessionKey, tuple[str, str, float]] = field(default_factory=dict)
    tools: dict[ToolKey, list[float]] = field(default_factory=dict)
    runs: list[tuple[str, str, str, str | None, str, float, float, float]] = field(
        default_factory=list
    )


class Rollups:
    """The observer and flush hook that keep `cost_rollup`, `cost_sessions`, `tool_rollup`
    and `session_runs` current."""

    def __init__(self, retention_seconds: float = RETENTION_SECONDS) -> None:
        self._group = _Group()
        self.retention_seconds = retention_seconds
        self._pruned_at = 0.0

    def install(self, writer: Writer, *, observe: bool = True) -> None:
        """Register the flush and pruning hooks, and the observer unless a shared
        dispatcher calls `handlers()` instead."""
        if observe:
            writer.observers.append(self.observe)
        writer.flush_hooks.append(self.flush)
        writer.after_commit_hooks.append(self.maybe_prune)

    def handlers(self) -> dict[str, Callable[[WriteContext, LoggedEvent], None]]:
        return {
            "session.usage": self._usage,
            "session.tool_call": self._tool,
            "session.ended": self._ended,
        }

    def _current(self, ctx: WriteContext) -> _Group:
        # A new context means a new group; whatever a failed group left is discarded.
        if self._group.ctx is not ctx:
            self._group = _Group(ctx=ctx)
        return self._group

    def observe(self, ctx: WriteContext, event: LoggedEvent) -> None:
        kind = event.type
        if kind == "session.usage":
            self._usage(ctx, event)
        elif kind == "session.tool_call":
            self._tool(ctx, event)
        elif kind == "session.ended":
            self._ended(ctx, event)

    def _usage(self, ctx: WriteContext, event: LoggedEvent) -> None:
        data = event.data
        ws = event.workspace
        session = ctx.fleet(ws).sessions.get(data["session_id"])
        if session is None:
            return
        group = self._current(ctx)
        model = data.get("model") or session.model or ""
        task = session.task_id or ""
        key = (ws, int(event.ts // 60), session.agent_id, task, model)
        sums = group.costs.get(key)
        if sums is None:
            sums = group.costs[key] = [0, 0, 0, 0, 0, 0, 0]
        sums[0] += to_units(float(data.get("cost_usd") or 0.0))
        sums[1] += int(data.get("input_tokens") or 0)
        sums[2] += int(data.get("output_tokens") or 0)
        sums[3] += int(data.get("cache_read_tokens") or 0)
        sums[4] += int(data.get("cache_write_tokens") or 0)
        sums[5] += 1
        if data.get("priced") is False:
            sums[6] += 1
        skey = (ws, session.id, model)
        previous = group.sessions.get(skey)
        if previous is None or event.ts > previous[2]:
            group.sessions[skey] = (session.agent_id, task, event.ts)

    def _tool(self, ctx: WriteContext, event: LoggedEvent) -> None:
        data = event.data
        session = ctx.fleet(event.workspace).sessions.get(data["session_id"])
        if session is None:
            return
        group = self._current(ctx)
        key = (event.workspace, int(event.ts // 60), str(data["tool"]), session.agent_id)
        sums = group.tools.get(key)
        if sums is None:
            sums = group.tools[key] = [0, 0, 0, 0.0]
        sums[0] += 1
        if data.get("status") == "error":
            sums[1] += 1
        duration = data.get("duration_ms")
        if duration is not None:
            sums[2] += 1
            sums[3] += float(duration)

    def _ended(self, ctx: WriteContext, event: LoggedEvent) -> None:
        session = ctx.fleet(event.workspace).sessions.get(event.data["session_id"])
        if session is None or session.ended_at is None:
            return
        duration = max(0.0, session.ended_at - session.started_at)
        self._current(ctx).runs.append((
            event.workspace, session.id, session.agent_id, session.task_id, session.status,
            session.started_at, session.ended_at, duration,
        ))

    def flush(self, ctx: WriteContext) -> None:
        group = self._group
        if group.ctx is not ctx:
            return  # nothing observed in this group
        conn = ctx.conn
        if group.costs:
            conn.executemany(
                "INSERT INTO cost_rollup (workspace, minute, agent_id, task_id, model, cost_e10,"
                " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
                " usage_events, unpriced_events) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (workspace, minute, agent_id, task_id, model) DO UPDATE SET"
                " cost_e10 = cost_e10 + excluded.cost_e10,"
                " input_tokens = input_tokens + excluded.input_tokens,"
                " output_tokens = output_tokens + excluded.output_tokens,"
                " cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,"
                " cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,"
                " usage_events = usage_events + excluded.usage_events,"
                " unpriced_events = unpriced_events + excluded.unpriced_events",
                [(*k, *(min(x, MAX_STORED) for x in v)) for k, v in group.costs.items()],
            )
        if group.sessions:
            conn.executemany(
                "INSERT INTO cost_sessions (workspace, session_id, model, agent_id, task_id,"
                " last_ts) VALUES (?,?,?,?,?,?)"
                " ON CONFLICT (workspace, session_id, model) DO UPDATE SET"
                " agent_id = excluded.agent_id, task_id = excluded.task_id,"
                " last_ts = max(last_ts, excluded.last_ts)",
                [(*k, *v) for k, v in group.sessions.items()],
            )
        if group.tools:
            conn.executemany(
                "INSERT INTO tool_rollup (workspace, minute, tool, agent_id, calls, errors,"
                " timed_calls, duration_ms) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT (workspace, minute, tool, agent_id) DO UPDATE SET"
                " calls = calls + excluded.calls, errors = errors + excluded.errors,"
                " timed_calls = timed_calls + excluded.timed_calls,"
                " duration_ms = duration_ms + excluded.duration_ms",
                [(*k, *v) for k, v in group.tools.items()],
            )
        if group.runs:
            conn.executemany(
                "INSERT OR REPLACE INTO session_runs (workspace, session_id, agent_id, task_id,"
                " status, started_at, ended_at, duration) VALUES (?,?,?,?,?,?,?,?)",
                group.runs,
            )
        self._group = _Group()

    # ---- retention ------------------------------------------------------------------------

    def maybe_prune(self, writer: Writer) -> None:
        """At most hourly (writer thread, after a commit): drop rollups past retention."""
        now = time.time()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        with writer.lock:
            self.prune(writer.conn, list(writer.fleets), now - self.retention_seconds)

    @staticmethod
    def prune(conn: sqlite3.Connection, workspaces: list[str], before: float) -> int:
        """Delete rollup rows and resolved alerts older than `before`, workspace by workspace
        (every delete is a range of an index that starts with the workspace)."""
        minute = int(before // 60)
        deleted = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
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
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.exception("pruning old rollups failed")
            return 0
        return deleted
