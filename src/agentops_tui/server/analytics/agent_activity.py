"""Agent activity for the Agent Operations dashboard: today, hour by hour, one agent's record.

Executions are sessions. An execution's outcome and duration are counted when it ends
(`session_runs`); tokens and spend come from the cost rollups. An agent's type is its
`kind`, which lives with the agents in memory: callers pass `kinds` (agent id -> kind) and
the grouping by type happens here, in Python, so the SQL stays plain enough for any backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from agentops_tui.server.analytics.metrics import DAY, current, day_start, percentile
from agentops_tui.server.analytics.rollups import to_usd
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import placeholders, totals

HOUR = 3600
UNKNOWN_TYPE = "unknown"  # runs of an agent no longer known


def iso_utc(ts: float) -> str:
    """Epoch seconds as ISO 8601 in UTC: `2025-01-06T10:00:00Z` (milliseconds when any)."""
    moment = datetime.fromtimestamp(ts, UTC)
    spec = "seconds" if moment.microsecond == 0 else "milliseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def dominant(counts: Counter[str]) -> str | None:
    """The most frequent key; ties go to the first in alphabetical order."""
    if not counts:
        return None
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def today(conn: Connection, workspace: str, now: float) -> dict[str, Any]:
    """Today's (UTC) executions, outcomes, durations, tokens and spend."""
    figures = current(conn, workspace, now)
    tokens = figures["tokens_today"]
    return {
        "executions_today": figures["executions_today"],
        "ended_today": figures["ended_today"],
        "success_rate": figures["success_rate"],
        "avg_duration_ms": ms(figures["avg_duration_seconds"]),
        "tokens_used_today": tokens["input_tokens"] + tokens["output_tokens"],
        "estimated_cost_today": figures["cost_today_usd"],
    }


def timeline(conn: Connection, workspace: str, now: float, hours: int,
             kinds: Mapping[str, str]) -> list[dict[str, Any]]:
    """One entry per hour of the last `hours` (the current hour last), empty hours too."""
    first = int(now // HOUR) - hours + 1
    buckets: dict[int, dict[str, Any]] = {
        h: {"executions": 0, "completed": 0, "failed": 0, "seconds": 0.0, "types": Counter()}
        for h in range(first, first + hours)
    }
    rows = conn.execute(
        "SELECT agent_id, status, duration, ended_at FROM session_runs"
        " WHERE workspace = ? AND ended_at >= ?",
        (workspace, float(first * HOUR)),
    )
    for agent_id, status, duration, ended_at in rows:
        bucket = buckets.get(int(ended_at // HOUR))
        if bucket is None:
            continue  # ended after `now` (a pinned clock)
        bucket["executions"] += 1
        bucket["seconds"] += float(duration)
        if status in ("completed", "failed"):
            bucket[status] += 1
        bucket["types"][kinds.get(agent_id, UNKNOWN_TYPE)] += 1
    out = []
    for hour, b in sorted(buckets.items()):
        n = b["executions"]
        out.append({
            "timestamp": iso_utc(hour * HOUR),
            "executions": n,
            "completed": b["completed"],
            "failed": b["failed"],
            "avg_duration_ms": ms(b["seconds"] / n) if n else None,
            "success_rate": rate(b["completed"], n),
            "dominant_agent_type": dominant(b["types"]),
        })
    return out


def _in_list(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({placeholders(len(values))})"


def performance(conn: Connection, workspace: str, agent_ids: Sequence[str], now: float,
                days: int) -> dict[str, Any]:
    """The agents' record over the last `days` UTC days (today included): outcomes, duration
    spread, tokens per execution, and a trend per day."""
    first_day = int(day_start(now) // DAY) - days + 1
    since = float(first_day * DAY)
    runs = conn.execute(
        "SELECT status, duration, ended_at FROM session_runs WHERE workspace = ? AND "
        + _in_list("agent_id", agent_ids) + " AND ended_at >= ?",
        (workspace, *agent_ids, since),
    ).fetchall()
    trend: dict[int, dict[str, Any]] = {
        d: {"executions": 0, "completed": 0, "seconds": 0.0, "tokens": 0}
        for d in range(first_day, first_day + days)
    }
    for status, duration, ended_at in runs:
        day = trend.get(int(ended_at // DAY))
        if day is not None:
            day["executions"] += 1
            day["seconds"] += float(duration)
            day["completed"] += int(status == "completed")
    for day_number, inp, out in conn.execute(
        f"SELECT minute / 1440, {totals('input_tokens', 'output_tokens')} FROM cost_rollup"
        " WHERE workspace = ? AND " + _in_list("agent_id", agent_ids) + " AND minute >= ?"
        " GROUP BY minute / 1440",
        (workspace, *agent_ids, first_day * 1440),
    ):
        day = trend.get(int(day_number))
        if day is not None:
            day["tokens"] = int(inp or 0) + int(out or 0)
    units, inp, out = conn.execute(
        f"SELECT {totals('cost_e10', 'input_tokens', 'output_tokens')} FROM cost_rollup"
        " WHERE workspace = ? AND " + _in_list("agent_id", agent_ids) + " AND minute >= ?",
        (workspace, *agent_ids, first_day * 1440),
    ).fetchone()
    durations = sorted(float(r[1]) for r in runs)
    n = len(runs)
    completed = sum(1 for r in runs if r[0] == "completed")
    tokens = int(inp or 0) + int(out or 0)
    return {
        "total_executions": n,
        "success_rate": rate(completed, n),
        "performance": {
            "p50_duration_ms": ms(percentile(durations, 50)),
            "p95_duration_ms": ms(percentile(durations, 95)),
            "p99_duration_ms": ms(percentile(durations, 99)),
            "min_duration_ms": ms(durations[0]) if durations else None,
            "max_duration_ms": ms(durations[-1]) if durations else None,
            "avg_duration_ms": ms(sum(durations) / n) if n else None,
        },
        "token_usage": {
            "avg_tokens": round(tokens / n) if n else None,
            "total_tokens": tokens,
            "input_tokens": int(inp or 0),
            "output_tokens": int(out or 0),
            "estimated_cost": to_usd(units),
        },
        "daily_trend": [
            {"date": iso_utc(d * DAY)[:10], "executions": v["executions"],
             "avg_duration_ms": ms(v["seconds"] / v["executions"]) if v["executions"] else None,
             "success_rate": rate(v["completed"], v["executions"]), "total_tokens": v["tokens"]}
            for d, v in sorted(trend.items())
        ],
    }


def active_details(sessions: Iterable[Any], agents: Mapping[str, Any],
                   now: float) -> list[dict[str, Any]]:
    """Each active session with its agent, how long it has run and how far it is, longest
    running first."""
    out = []
    for s in sessions:
        agent = agents.get(s.agent_id)
        out.append({
            "agent_id": s.agent_id,
            "agent_name": agent.name if agent else s.agent_id,
            "agent_type": agent.kind if agent else UNKNOWN_TYPE,
            "session_id": s.id,
            "status": s.status,
            "started_at": iso_utc(s.started_at),
            "duration_so_far_ms": max(0, round((now - s.started_at) * 1000)),
            "progress": s.progress,
        })
    out.sort(key=lambda d: (-d["duration_so_far_ms"], d["session_id"]))
    return out
