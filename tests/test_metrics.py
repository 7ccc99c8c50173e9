"""Fleet, agent and tool metrics against a real server with known sessions."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from agentops_tui.server.analytics.metrics import percentile

from conftest import LiveServer
from factories import agent, ended, started, tool, usage

DAY = 86400


def _now_away_from_midnight() -> float:
    now = time.time()
    if now % DAY < 300:
        pytest.skip("too close to UTC midnight for 'today' figures to be stable")
    return now


def _load(c: httpx.Client, now: float) -> None:
    """ag-1 ran 20 sessions of 1..20 s (15 completed, 4 failed, 1 killed); ag-2 runs two."""
    end = now - 60
    events: list[dict[str, Any]] = [agent("ag-1"), agent("ag-2", name="reviewer")]
    for d in range(1, 21):
        status = "failed" if d in (3, 7, 11, 15) else "killed" if d == 20 else "completed"
        events += [
            started(f"run-{d}", "ag-1", ts=end - d),
            ended(f"run-{d}", status=status, ts=end),
        ]
    events += [
        started("se-a", "ag-2", ts=end), started("se-b", "ag-2", ts=end),
        {"type": "session.status", "session_id": "se-b", "status": "waiting", "ts": end},
        usage("se-a", inp=1_000_000, out=10_000, ts=end),  # 3.0 + 0.15
        tool("se-a", "Bash", ts=end), tool("se-a", "Bash", status="error", ts=end),
        tool("se-a", "Edit", duration_ms=40.0, ts=end),
        tool("run-1", "Bash", ts=end - 1), tool("run-2", "Bash", ts=end - 1),
        tool("run-2", "Bash", status="error", duration_ms=10.0, ts=end - 1),
        tool("run-3", "Bash", duration_ms=30.0, ts=end - 1),
        tool("run-1", "Read", ts=end - 1), tool("run-2", "Read", ts=end - 1),
        tool("run-3", "Read", ts=end - 1),
    ]
    c.post("/api/v1/ingest", json={"events": events}).raise_for_status()


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert percentile([], 50) is None
    assert percentile([4.0], 99) == 4.0
    assert [percentile([1.0, 2.0, 3.0, 4.0], p) for p in (25, 50, 75, 99)] == [1, 2, 3, 4]


def test_agent_metrics_are_exact(live: LiveServer) -> None:
    now = _now_away_from_midnight()
    with live.client() as c:
        _load(c, now)
        by_id = c.get("/api/v1/metrics/agents/ag-1").json()
        by_name = c.get("/api/v1/metrics/agents/reviewer", params={"window": "24h"}).json()
        missing = c.get("/api/v1/metrics/agents/nobody")
        bad = c.get("/api/v1/metrics/agents/ag-1", params={"window": "forever"})
    assert by_id["agent_id"] == "ag-1" and by_id["window"] == "7d"
    assert (by_id["executions"], by_id["completed"], by_id["failed"], by_id["killed"]) == (
        20, 15, 4, 1
    )
    assert by_id["success_rate"] == 0.75 and by_id["error_rate"] == 0.2
    assert by_id["duration_seconds"] == {
        "p50": 10.0, "p95": 19.0, "p99": 20.0, "min": 1.0, "max": 20.0, "mean": 10.5,
    }
    assert by_id["active_sessions"] == 0 and by_id["cost_usd"] == 0.0
    daily = by_id["daily"]
    assert len(daily) == 8 and daily[-1]["day"] == now // DAY * DAY
    assert (daily[-1]["executions"], daily[-1]["completed"], daily[-1]["failed"]) == (20, 15, 4)
    assert all(d["executions"] == 0 for d in daily[:-1])

    assert by_name["agent_id"] == "ag-2" and by_name["active_sessions"] == 2
    assert by_name["executions"] == 0 and by_name["success_rate"] is None
    assert by_name["duration_seconds"]["p50"] is None
    assert by_name["cost_usd"] == 3.15
    assert by_name["tokens"]["input_tokens"] == 1_000_000
    assert by_name["daily"][-1]["cost_usd"] == 3.15

    assert missing.status_code == 404 and "nobody" in missing.json()["error"]["message"]
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("window:")


def test_current_metrics(live: LiveServer) -> None:
    now = _now_away_from_midnight()
    with live.client() as c:
        _load(c, now)
        m = c.get("/api/v1/metrics/current").json()
    assert m["active_agents"] == 1 and m["agents"] == 2
    assert m["active_sessions"] == 2
    assert m["sessions_by_status"] == {"paused": 0, "running": 1, "waiting": 1}
    assert m["executions_today"] == 22
    assert (m["ended_today"], m["completed_today"], m["failed_today"], m["killed_today"]) == (
        20, 15, 4, 1
    )
    assert m["success_rate"] == 0.75 and m["avg_duration_seconds"] == 10.5
    assert m["cost_today_usd"] == 3.15
    assert m["tokens_today"] == {"input_tokens": 1_000_000, "output_tokens": 10_000,
                                 "cache_read_tokens": 0, "cache_write_tokens": 0}
    assert m["since"] == now // DAY * DAY
    assert m["alerts"] == {"open": 0, "acked": 0, "critical": 0, "warning": 0}


def test_tool_metrics(live: LiveServer) -> None:
    now = _now_away_from_midnight()
    with live.client() as c:
        _load(c, now)
        t = c.get("/api/v1/metrics/tools").json()
        only = c.get("/api/v1/metrics/tools", params={"agent_id": "ag-2"}).json()
    assert t["total_calls"] == 10
    assert t["tools"] == [
        {"tool": "Bash", "calls": 6, "share": 0.6, "agents": 2, "errors": 2,
         "error_rate": 0.333333, "avg_duration_ms": 20.0},
        {"tool": "Read", "calls": 3, "share": 0.3, "agents": 1, "errors": 0,
         "error_rate": 0.0, "avg_duration_ms": None},
        {"tool": "Edit", "calls": 1, "share": 0.1, "agents": 1, "errors": 0,
         "error_rate": 0.0, "avg_duration_ms": 40.0},
    ]
    assert [(x["tool"], x["calls"]) for x in only["tools"]] == [("Bash", 2), ("Edit", 1)]
