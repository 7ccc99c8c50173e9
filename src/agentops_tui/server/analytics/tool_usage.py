"""Tool usage over a calendar period (the UTC day, or the ISO week so far), with insights.

Counts come from the tool rollup; executions are the sessions started in the period.
Which tools go together is read from the sessions themselves (each keeps its calls per
tool): two tools are "often used together" when most sessions that use either use both
(Jaccard index at least `PAIR_THRESHOLD`, over at least `PAIR_MIN_SESSIONS` sessions).
The most recent `PAIR_SAMPLE` sessions of the period are enough to say so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import combinations
from typing import Any, Literal

from agentops_tui.server.analytics.agent_activity import iso_utc, rate
from agentops_tui.server.analytics.metrics import DAY, day_start
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import totals

Period = Literal["day", "week"]
PAIR_THRESHOLD = 0.5
PAIR_MIN_SESSIONS = 2
PAIR_SAMPLE = 5_000
TOP_PAIRS = 5


def period_bounds(period: Period, now: float) -> tuple[float, str]:
    """The period's start and its label: `2025-01-06`, or `2025-W02` for the ISO week."""
    today = day_start(now)
    if period == "day":
        return today, iso_utc(today)[:10]
    weekday = int(today // DAY + 3) % 7  # 1970-01-01 was a Thursday: Monday is 0
    monday = today - weekday * DAY
    year, week, _ = datetime.fromtimestamp(monday, UTC).isocalendar()
    return monday, f"{year}-W{week:02d}"


def often_together(tool_sets: list[frozenset[str]]) -> list[list[str]]:
    """Pairs of tools used in the same sessions, strongest first."""
    single: Counter[str] = Counter()
    both: Counter[tuple[str, str]] = Counter()
    for tools in tool_sets:
        single.update(tools)
        both.update(combinations(sorted(tools), 2))
    scored = []
    for (a, b), together in both.items():
        if together < PAIR_MIN_SESSIONS:
            continue
        jaccard = together / (single[a] + single[b] - together)
        if jaccard >= PAIR_THRESHOLD:
            scored.append((-jaccard, -together, a, b))
    scored.sort()
    return [[a, b] for _, _, a, b in scored[:TOP_PAIRS]]


def _tool_sets(conn: Connection, workspace: str, since: float) -> list[frozenset[str]]:
    rows = conn.execute(
        "SELECT data FROM sessions WHERE workspace = ? AND started_at >= ?"
        " ORDER BY started_at DESC LIMIT ?",
        (workspace, since, PAIR_SAMPLE),
    )
    sets = []
    for (data,) in rows:
        calls = json.loads(data).get("tool_calls") or {}
        if len(calls) > 1:
            sets.append(frozenset(calls))
    return sets


def usage(conn: Connection, workspace: str, period: Period, now: float,
          kinds: Mapping[str, str]) -> dict[str, Any]:
    since, label = period_bounds(period, now)
    executions = int(conn.execute(
        "SELECT count(*) FROM sessions WHERE workspace = ? AND started_at >= ?",
        (workspace, since),
    ).fetchone()[0])
    per_tool: dict[str, dict[str, Any]] = {}
    for tool, agent_id, calls, errors in conn.execute(
        f"SELECT tool, agent_id, {totals('calls', 'errors')} FROM tool_rollup"
        " WHERE workspace = ? AND minute >= ? GROUP BY tool, agent_id",
        (workspace, int(since // 60)),
    ):
        t = per_tool.setdefault(tool, {"calls": 0, "errors": 0, "agents": set(), "types": set()})
        t["calls"] += int(calls or 0)
        t["errors"] += int(errors or 0)
        t["agents"].add(agent_id)
        t["types"].add(kinds.get(agent_id, "unknown"))
    total = sum(t["calls"] for t in per_tool.values())
    tools = [
        {
            "name": name,
            "usage_count": t["calls"],
            "percentage": rate(t["calls"], total),
            "avg_per_execution": round(t["calls"] / executions, 2) if executions else None,
            "agents_using": sorted(t["types"]),
            "agent_count": len(t["agents"]),
            "errors": t["errors"],
        }
        for name, t in per_tool.items()
    ]
    tools.sort(key=lambda t: (-t["usage_count"], t["name"]))
    used = [t for t in tools if t["usage_count"] > 0]
    return {
        "period": label,
        "since": iso_utc(since),
        "executions": executions,
        "tools": tools,
        "insights": {
            "most_used_tool": used[0]["name"] if used else None,
            "least_used_tool": min(used, key=lambda t: (t["usage_count"], t["name"]))["name"]
            if used else None,
            "high_correlation": often_together(_tool_sets(conn, workspace, since)),
        },
    }
