"""Fleet metrics: today at a glance, one agent's record, tool usage.

Counts of finished sessions and their durations come from `session_runs` (one row per ended
session, indexed by agent and end time); tokens and spend from the cost rollups. "Today" is
the UTC day. Percentiles use the nearest-rank method, so p95 is always a duration that some
session actually took (and with 100 runs of 1..100 s, p50 = 50, p95 = 95, p99 = 99).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from agentops_tui.server.analytics.rollups import to_usd
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import totals

DAY = 86400
_SPEND_TOTALS = totals("cost_e10", "input_tokens", "output_tokens", "cache_read_tokens",
                       "cache_write_tokens")


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of values sorted ascending (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def day_start(now: float) -> float:
    return (now // DAY) * DAY


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 6)


def _spend(conn: Connection, workspace: str, since_minute: int,
           agent_id: str | None = None) -> dict[str, Any]:
    sql = (
        f"SELECT {_SPEND_TOTALS} FROM cost_rollup WHERE workspace = ?"
    )
    params: list[Any] = [workspace]
    if agent_id is not None:
        sql += " AND agent_id = ?"
        params.append(agent_id)
    sql += " AND minute >= ?"
    params.append(since_minute)
    units, inp, out, cr, cw = conn.execute(sql, params).fetchone()
    return {
        "cost_usd": to_usd(units),
        "input_tokens": int(inp or 0),
        "output_tokens": int(out or 0),
        "cache_read_tokens": int(cr or 0),
        "cache_write_tokens": int(cw or 0),
    }


def current(conn: Connection, workspace: str, now: float) -> dict[str, Any]:
    """Today's figures from the tables; the route adds the live counts from memory."""
    since = day_start(now)
    started = conn.execute(
        "SELECT count(*) FROM sessions WHERE workspace = ? AND started_at >= ?",
        (workspace, since),
    ).fetchone()[0]
    ended, completed, failed, killed, avg = conn.execute(
        "SELECT count(*), count(CASE WHEN status = 'completed' THEN 1 END),"
        " count(CASE WHEN status = 'failed' THEN 1 END),"
        " count(CASE WHEN status = 'killed' THEN 1 END), avg(duration) FROM session_runs"
        " WHERE workspace = ? AND ended_at >= ?",
        (workspace, since),
    ).fetchone()
    spend = _spend(conn, workspace, int(since // 60))
    return {
        "since": since,
        "executions_today": int(started),
        "ended_today": int(ended),
        "completed_today": int(completed or 0),
        "failed_today": int(failed or 0),
        "killed_today": int(killed or 0),
        "success_rate": _ratio(int(completed or 0), int(ended)),
        "avg_duration_seconds": None if avg is None else round(float(avg), 6),
        "tokens_today": {k: v for k, v in spend.items() if k != "cost_usd"},
        "cost_today_usd": spend["cost_usd"],
    }


def agent_record(
    conn: Connection, workspace: str, agent_id: str, now: float, window: float
) -> dict[str, Any]:
    since = ((now - window) // 60) * 60.0  # minute-aligned, like the cost windows
    runs = conn.execute(
        "SELECT status, duration, ended_at FROM session_runs"
        " WHERE workspace = ? AND agent_id = ? AND ended_at >= ?",
        (workspace, agent_id, since),
    ).fetchall()
    durations = sorted(float(r[1]) for r in runs)
    counts = {"completed": 0, "failed": 0, "killed": 0}
    first_day = int(since // DAY)
    days = {d: {"executions": 0, "completed": 0, "failed": 0, "cost_usd": 0.0,
                "input_tokens": 0, "output_tokens": 0}
            for d in range(first_day, int(now // DAY) + 1)}
    for status, _, ended_at in runs:
        counts[status] = counts.get(status, 0) + 1
        day = days.get(int(ended_at // DAY))
        if day is not None:
            day["executions"] += 1
            if status in ("completed", "failed"):
                day[status] += 1
    for d, units, inp, out in conn.execute(
        f"SELECT minute / 1440, {totals('cost_e10', 'input_tokens', 'output_tokens')}"
        " FROM cost_rollup WHERE workspace = ? AND agent_id = ? AND minute >= ?"
        " GROUP BY minute / 1440",
        (workspace, agent_id, first_day * 1440),
    ):
        day = days.get(int(d))
        if day is not None:
            day["cost_usd"] = to_usd(units)
            day["input_tokens"] = int(inp or 0)
            day["output_tokens"] = int(out or 0)
    n = len(runs)
    spend = _spend(conn, workspace, int(since // 60), agent_id)
    return {
        "since": since,
        "executions": n,
        "completed": counts["completed"],
        "failed": counts["failed"],
        "killed": counts["killed"],
        "success_rate": _ratio(counts["completed"], n),
        "error_rate": _ratio(counts["failed"], n),
        "duration_seconds": {
            "p50": percentile(durations, 50),
            "p95": percentile(durations, 95),
            "p99": percentile(durations, 99),
            "min": durations[0] if durations else None,
            "max": durations[-1] if durations else None,
            "mean": round(sum(durations) / n, 6) if n else None,
        },
        "tokens": {k: v for k, v in spend.items() if k != "cost_usd"},
        "cost_usd": spend["cost_usd"],
        "daily": [{"day": d * DAY, **v} for d, v in sorted(days.items())],
    }


def tools(conn: Connection, workspace: str, now: float, window: float,
          agent_id: str | None = None) -> dict[str, Any]:
    sql = (
        "SELECT tool, sum(calls), sum(errors), count(DISTINCT agent_id), sum(timed_calls),"
        " sum(duration_ms) FROM tool_rollup WHERE workspace = ? AND minute >= ?"
    )
    params: list[Any] = [workspace, int((now - window) // 60)]
    if agent_id is not None:
        sql += " AND agent_id = ?"
        params.append(agent_id)
    rows = conn.execute(sql + " GROUP BY tool", params).fetchall()
    total = sum(int(r[1]) for r in rows)
    out = [
        {
            "tool": tool,
            "calls": int(calls),
            "share": _ratio(int(calls), total),
            "agents": int(agents),
            "errors": int(errors),
            "error_rate": _ratio(int(errors), int(calls)),
            "avg_duration_ms": round(float(dur) / int(timed), 3) if timed else None,
        }
        for tool, calls, errors, agents, timed, dur in rows
    ]
    out.sort(key=lambda t: (-t["calls"], t["tool"]))
    return {"tools": out, "total_calls": total, "since": float(int((now - window) // 60) * 60)}
