"""Agent types (an agent's `kind`): how executions spread over them and how each performs.

Figures are per agent in SQL (portable GROUP BYs) and summed per type here, with the
agents' kinds from memory. A type with agents but no execution in the window is listed
with a count of zero, so the breakdown also says which kinds the fleet has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from agentops_tui.server.analytics.agent_activity import HOUR, UNKNOWN_TYPE, ms, rate
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import totals

COMMON_TOOLS = 5


def _blank() -> dict[str, Any]:
    return {"count": 0, "completed": 0, "seconds": 0.0, "tokens": 0, "tools": Counter(),
            "agents": 0, "active_agents": 0}


def distribution(conn: Connection, workspace: str, now: float, hours: int,
                 kinds: Mapping[str, str], active: Mapping[str, bool]) -> dict[str, Any]:
    """Executions that ended in the last `hours`, by agent type. `active` says for each
    known agent whether it has an active session."""
    since = now - hours * HOUR
    types: dict[str, dict[str, Any]] = {}
    for agent_id, kind in kinds.items():
        t = types.setdefault(kind, _blank())
        t["agents"] += 1
        t["active_agents"] += int(bool(active.get(agent_id)))
    for agent_id, count, completed, seconds in conn.execute(
        "SELECT agent_id, count(*), count(CASE WHEN status = 'completed' THEN 1 END),"
        f" {totals('duration')} FROM session_runs WHERE workspace = ? AND ended_at >= ?"
        " GROUP BY agent_id",
        (workspace, since),
    ):
        t = types.setdefault(kinds.get(agent_id, UNKNOWN_TYPE), _blank())
        t["count"] += int(count)
        t["completed"] += int(completed or 0)
        t["seconds"] += float(seconds or 0.0)
    since_minute = int(since // 60)
    for agent_id, inp, out in conn.execute(
        f"SELECT agent_id, {totals('input_tokens', 'output_tokens')} FROM cost_rollup"
        " WHERE workspace = ? AND minute >= ? GROUP BY agent_id",
        (workspace, since_minute),
    ):
        t = types.setdefault(kinds.get(agent_id, UNKNOWN_TYPE), _blank())
        t["tokens"] += int(inp or 0) + int(out or 0)
    for agent_id, tool, calls in conn.execute(
        f"SELECT agent_id, tool, {totals('calls')} FROM tool_rollup"
        " WHERE workspace = ? AND minute >= ? GROUP BY agent_id, tool",
        (workspace, since_minute),
    ):
        t = types.setdefault(kinds.get(agent_id, UNKNOWN_TYPE), _blank())
        t["tools"][tool] += int(calls or 0)
    total = sum(t["count"] for t in types.values())
    shares = [
        {
            "type": kind,
            "count": t["count"],
            "percentage": rate(t["count"], total),
            "avg_duration_ms": ms(t["seconds"] / t["count"]) if t["count"] else None,
            "success_rate": rate(t["completed"], t["count"]),
            "common_tools": [name for name, _ in sorted(
                t["tools"].items(), key=lambda kv: (-kv[1], kv[0]))[:COMMON_TOOLS]],
            "agents": t["agents"],
            "active_agents": t["active_agents"],
            "total_tokens": t["tokens"],
            "avg_tokens": round(t["tokens"] / t["count"]) if t["count"] else None,
        }
        for kind, t in types.items()
    ]
    shares.sort(key=lambda s: (-s["count"], s["type"]))
    return {"hours": hours, "total_executions": total, "distribution": shares}
