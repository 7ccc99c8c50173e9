"""Costs over the rollups, against a real server: exact amounts from prices.toml, grouping,
windows, timeline buckets and bad parameters."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from conftest import LiveServer
from factories import agent, started, usage

# USD per 1M tokens from data/prices.toml
SONNET = {"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75}
GPT4O = {"input": 2.5, "output": 10.0, "cache_read": 1.25}


def _fleet(c: httpx.Client, now: float) -> float:
    """Known usage: returns the timestamp of the recent spend (all in one minute)."""
    recent = float(int(now) - 600)
    old = recent - 2 * 86400
    events: list[dict[str, Any]] = [
        agent("ag-1"), agent("ag-2", model="gpt-4o"),
        started("se-1", "ag-1", task_id="t-1", ts=old - 60),
        started("se-2", "ag-1", task_id="t-2", ts=recent),
        started("se-3", "ag-2", task_id="t-1", ts=recent),
        started("se-4", "ag-2", ts=recent),  # no task; model from its agent
        # two days ago: outside 24h, inside 7d
        usage("se-1", inp=1_000_000, out=0, ts=old),
        # 1M in + 100k out + 200k cache read + 40k cache write on sonnet = 4.71
        usage("se-1", inp=1_000_000, out=100_000, cache_read_tokens=200_000,
              cache_write_tokens=40_000, ts=recent),
        usage("se-2", inp=10_000, out=2_000, ts=recent),  # 0.03 + 0.03
        usage("se-3", inp=100_000, out=10_000, model="gpt-4o", ts=recent),  # 0.25 + 0.1
        {"type": "session.usage", "session_id": "se-4", "input_tokens": 2_000,
         "ts": recent},  # no model: priced as the session's gpt-4o → 0.005
        usage("se-2", inp=1_000, out=10, model="mystery-model", ts=recent),  # no price
    ]
    c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
    return recent


def _rows(body: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {r["key"]: r for r in body["rows"]}


def test_costs_by_agent_task_and_model_are_exact(live: LiveServer) -> None:
    with live.client() as c:
        _fleet(c, time.time())
        by_agent = c.get("/api/v1/costs", params={"group_by": "agent", "window": "24h"}).json()
        by_task = c.get("/api/v1/costs", params={"group_by": "task", "window": "24h"}).json()
        by_model = c.get("/api/v1/costs", params={"group_by": "model"}).json()  # 24h default
        week = c.get("/api/v1/costs", params={"group_by": "agent", "window": "7d"}).json()

    assert by_agent["window"] == "24h" and by_agent["total_usd"] == 5.125
    rows = _rows(by_agent)
    assert [r["key"] for r in by_agent["rows"]] == ["ag-1", "ag-2"]  # most expensive first
    assert rows["ag-1"] == {
        "key": "ag-1", "name": "name-ag-1", "cost_usd": 4.77, "input_tokens": 1_011_000,
        "output_tokens": 102_010, "cache_read_tokens": 200_000, "cache_write_tokens": 40_000,
        "sessions": 2, "usage_events": 3, "unpriced_events": 1,
    }
    assert rows["ag-2"]["cost_usd"] == 0.355 and rows["ag-2"]["sessions"] == 2
    assert rows["ag-2"]["input_tokens"] == 102_000
    assert by_agent["unpriced_models"] == ["mystery-model"]

    tasks = _rows(by_task)
    assert set(tasks) == {"t-1", "t-2", None}
    assert (tasks["t-1"]["cost_usd"], tasks["t-1"]["sessions"]) == (5.06, 2)
    assert (tasks["t-2"]["cost_usd"], tasks["t-2"]["sessions"]) == (0.06, 1)
    assert (tasks[None]["cost_usd"], tasks[None]["sessions"]) == (0.005, 1)
    assert by_task["total_usd"] == 5.125

    models = _rows(by_model)
    assert models["claude-sonnet-4"]["cost_usd"] == 4.77
    assert models["gpt-4o"]["cost_usd"] == 0.355 and models["gpt-4o"]["sessions"] == 2
    assert models["mystery-model"]["cost_usd"] == 0.0
    assert models["mystery-model"]["unpriced_events"] == 1

    assert week["total_usd"] == 8.125  # + the 1M sonnet input tokens two days ago
    assert _rows(week)["ag-1"]["cost_usd"] == 7.77


def test_windows_exclude_older_spend(live: LiveServer) -> None:
    with live.client() as c:
        _fleet(c, time.time())
        five = c.get("/api/v1/costs", params={"window": "5m"}).json()
        hour = c.get("/api/v1/costs", params={"window": "1h"}).json()
    assert five["rows"] == [] and five["total_usd"] == 0.0
    assert hour["total_usd"] == 5.125


def test_usage_events_say_whether_they_were_priced(live: LiveServer) -> None:
    with live.client() as c:
        _fleet(c, time.time())
        events = c.get("/api/v1/events", params={"after": 0, "types": "session.usage"}).json()
    usages = [e["data"] for e in events["events"]]
    mystery = next(u for u in usages if u["model"] == "mystery-model")
    assert mystery["priced"] is False and mystery["cost_usd"] == 0.0
    no_model = next(u for u in usages if u["session_id"] == "se-4")
    assert no_model["model"] == "gpt-4o" and no_model["priced"] is True
    assert no_model["cost_usd"] == 0.005
    assert all(u["priced"] for u in usages if u["model"] != "mystery-model")


def test_agent_supplied_cost_is_kept_and_marked_priced(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            started(), usage(inp=10, out=10, cost_usd=1.25, model="mystery-model"),
        ]}).raise_for_status()
        [event] = c.get("/api/v1/events", params={"types": "session.usage"}).json()["events"]
        costs = c.get("/api/v1/costs", params={"group_by": "model"}).json()
    assert event["data"]["priced"] is True and event["data"]["cost_usd"] == 1.25
    assert costs["total_usd"] == 1.25 and costs["unpriced_models"] == []


def test_timeline_buckets_are_aligned_and_complete(live: LiveServer) -> None:
    with live.client() as c:
        now = time.time()
        recent = _fleet(c, now)
        hourly = c.get("/api/v1/costs/timeline", params={"bucket": "1h", "window": "24h"}).json()
        minutes = c.get("/api/v1/costs/timeline",
                        params={"bucket": "1m", "window": "15m", "group_by": "model"}).json()
        daily = c.get("/api/v1/costs/timeline", params={"bucket": "1d", "window": "7d"}).json()

    buckets = hourly["buckets"]
    assert all(b["start"] % 3600 == 0 for b in buckets)
    assert [b["start"] for b in buckets] == [buckets[0]["start"] + 3600 * i
                                             for i in range(len(buckets))]
    assert buckets[0]["start"] <= now - 86400 < buckets[0]["start"] + 3600
    assert buckets[-1]["start"] <= now < buckets[-1]["start"] + 3600
    busy = [b for b in buckets if b["cost_usd"]]
    assert busy == [{"start": recent // 3600 * 3600, "end": recent // 3600 * 3600 + 3600,
                     "cost_usd": 5.125,
                     "input_tokens": 1_113_000, "output_tokens": 112_010, "groups": None}]

    assert len(minutes["buckets"]) in (16, 17)
    [busy_minute] = [b for b in minutes["buckets"] if b["cost_usd"]]
    assert busy_minute["start"] == recent // 60 * 60
    assert [(g["key"], g["cost_usd"]) for g in busy_minute["groups"]] == [
        ("claude-sonnet-4", 4.77), ("gpt-4o", 0.355), ("mystery-model", 0.0)
    ]
    assert all(b["groups"] == [] for b in minutes["buckets"] if not b["cost_usd"])

    assert all(b["start"] % 86400 == 0 for b in daily["buckets"])
    assert round(sum(b["cost_usd"] for b in daily["buckets"]), 10) == 8.125
    old_day = (recent - 2 * 86400) // 86400 * 86400
    assert next(b for b in daily["buckets"] if b["start"] == old_day)["cost_usd"] >= 3.0


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/costs", {"window": "yesterday"}, "window"),
        ("/api/v1/costs", {"window": "100d"}, "window"),
        ("/api/v1/costs", {"window": "10s"}, "window"),
        ("/api/v1/costs", {"group_by": "planet"}, "group_by"),
        ("/api/v1/costs/timeline", {"bucket": "2h"}, "bucket"),
        ("/api/v1/costs/timeline", {"bucket": "1m", "window": "90d"}, "bucket"),
        ("/api/v1/costs/timeline", {"group_by": "colour"}, "group_by"),
        ("/api/v1/costs/timeline", {"window": ""}, "window"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    live: LiveServer, path: str, params: dict[str, str], field: str
) -> None:
    with live.client() as c:
        r = c.get(path, params=params)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["message"].startswith(f"{field}:"), error


def test_costs_are_scoped_to_the_workspace(live: LiveServer) -> None:
    other = live.token_for("operator", "team-b")
    with live.client() as c:
        _fleet(c, time.time())
    with live.client(other) as c:
        c.post("/api/v1/ingest", json={"events": [
            started("se-b", "ag-b"), usage("se-b", inp=1_000_000, out=0),
        ]}).raise_for_status()
        mine = c.get("/api/v1/costs").json()
    assert mine["total_usd"] == 3.0 and [r["key"] for r in mine["rows"]] == ["ag-b"]


def test_rollups_survive_a_restart(live: LiveServer, tmp_path: Any) -> None:
    from conftest import start_server

    with live.client() as c:
        _fleet(c, time.time())
    live.server.stop()
    again = start_server(live.db)
    try:
        with again.client() as c:
            c.post("/api/v1/ingest", json={"events": [
                usage("se-2", inp=1_000_000, out=0),
            ]}).raise_for_status()
            body = c.get("/api/v1/costs").json()
    finally:
        again.server.stop()
    assert body["total_usd"] == 8.125 and _rows(body)["ag-1"]["cost_usd"] == 7.77


def test_rollups_older_than_retention_are_pruned(live: LiveServer) -> None:
    import sqlite3

    from agentops_tui.server.analytics.rollups import Rollups

    now = time.time()
    with live.client() as c:
        _fleet(c, now)
        c.post("/api/v1/ingest", json={"events": [
            usage("se-3", inp=1_000_000, out=0, model="gpt-4o", ts=now - 100 * 86400),
        ]}).raise_for_status()
    live.server.stop()
    conn = sqlite3.connect(live.db, isolation_level=None)
    try:
        deleted = Rollups.prune(conn, ["default"], now - 92 * 86400)
        oldest = conn.execute("SELECT min(minute) FROM cost_rollup").fetchone()[0]
        kept = conn.execute("SELECT sum(cost_e10) FROM cost_rollup").fetchone()[0]
    finally:
        conn.close()
    assert deleted == 1 and oldest * 60 >= now - 92 * 86400
    assert kept == 8.125 * 10**10
