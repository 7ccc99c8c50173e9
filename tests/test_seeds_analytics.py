"""The Agent Ops queue stream and the agent analytics, called as their documents call them.

Every request is the one the documents show, path and parameters verbatim, against a real
server with a simulated fleet (several agent types, tool calls, a slow analyzer named
`screenshot-analyzer` after the documents' example). The stream is read as a real SSE
stream. Checks are about the fields the documents name, not about figures that depend on
timing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_tui.client.connection import Connection
from agentops_tui.server.routes.agent_ops_events import EVENT_NAMES
from agentops_tui.simulator import Simulator
from agentops_tui.tui.app import create_app
from agentops_tui.tui.screens.details import SessionDetails

from conftest import LiveServer, start_server
from factories import agent, ended, started, tool
from sse import SseReader
from tui_support import frozen_clock, select_in_fleet, until
from waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STREAM = "/api/agent-ops/stream"
ITEM_EVENTS = {"item.created", "item.updated", "item.resolved"}
TEXT_FIELDS = {"content", "summary", "detail", "name", "title", "message", "error", "note",
               "decidedBy", "decided_by", "reason"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a simulated fleet that has finished some work, the slow analyzer's
    baseline sessions and at least one slower one among it."""
    srv = start_server(tmp_path_factory.mktemp("seeds") / "agentops.db",
                       heartbeat_seconds=1.0)
    sim = Simulator(srv.url, srv.token, agents=8, seed=7, speed=20.0)
    sim.start_in_thread()
    try:
        with srv.client() as c:
            def worked() -> bool:
                runs = c.get("/api/agents/performance/screenshot-analyzer",
                             params={"days": 7})
                dist = c.get("/api/agents/types/distribution")
                assert dist.status_code == 200, dist.text
                ended = dist.json()["total_executions"]
                return (runs.status_code == 200 and runs.json()["total_executions"] >= 5
                        and ended >= 10)

            # looked at twice a second: the analytics reads are rate-limited per token
            wait_for(worked, 60, what="the simulated fleet to finish some work", interval=0.5)
        yield srv
    finally:
        sim.stop()
        srv.server.stop()


def _get(srv: LiveServer, path: str, params: dict[str, Any] | None = None) -> Any:
    with srv.client() as c:
        response = c.get(path, params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def _iso(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---- seed 001: /api/agents/… ----------------------------------------------------------------


def test_metrics_current_names_the_active_agents_and_todays_figures(fleet: LiveServer) -> None:
    body = _get(fleet, "/api/agents/metrics/current")
    for name in ("active_agents", "executions_today", "success_rate", "avg_duration_ms",
                 "tokens_used_today", "estimated_cost_today", "active_agent_details"):
        assert name in body, name
    assert body["active_agents"] >= 1 and body["executions_today"] >= 10
    assert body["tokens_used_today"] > 0 and body["estimated_cost_today"] > 0
    assert 0 <= body["success_rate"] <= 1 and body["avg_duration_ms"] > 0
    details = body["active_agent_details"]
    assert details
    for d in details:
        assert {"agent_id", "agent_name", "status", "duration_so_far_ms", "progress"} <= set(d)
        assert d["status"] in ("running", "waiting", "paused")
        assert d["duration_so_far_ms"] >= 0
        assert d["progress"] is None or 0 <= d["progress"] <= 1
    # the simulated agents report how far their sessions are: it shows while they run
    with fleet.client() as c:
        def progress_known() -> bool:
            now = c.get("/api/agents/metrics/current").json()["active_agent_details"]
            return any(d["progress"] is not None for d in now)

        wait_for(progress_known, 30, what="a running session with its progress")


def test_metrics_timeline_gives_each_hour_asked_for(fleet: LiveServer) -> None:
    body = _get(fleet, "/api/agents/metrics/timeline?hours=24")
    hours = body["timeline"]
    assert len(hours) == 24
    stamps = [_iso(h["timestamp"]) for h in hours]
    assert stamps == sorted(stamps) and all(s.minute == 0 and s.second == 0 for s in stamps)
    busy = [h for h in hours if h["executions"]]
    assert busy and sum(h["executions"] for h in hours) >= 10
    for h in busy:
        assert h["avg_duration_ms"] > 0 and 0 <= h["success_rate"] <= 1
        assert h["dominant_agent_type"] in {"coder", "researcher", "reviewer", "triager",
                                            "analyzer"}
    assert len(_get(fleet, "/api/agents/metrics/timeline?hours=3")["timeline"]) == 3


def test_types_distribution_breaks_executions_down_by_agent_type(fleet: LiveServer) -> None:
    body = _get(fleet, "/api/agents/types/distribution")
    rows = body["distribution"]
    for row in rows:
        assert {"type", "count", "percentage", "avg_duration_ms", "success_rate",
                "common_tools"} <= set(row)
    types = {row["type"] for row in rows}
    assert {"coder", "reviewer", "triager", "analyzer"} <= types  # the simulated kinds
    counted = [row for row in rows if row["count"]]
    assert len(counted) >= 3
    assert sum(row["percentage"] for row in counted) == pytest.approx(1.0, abs=0.01)
    for row in counted:
        assert row["avg_duration_ms"] > 0 and 0 <= row["success_rate"] <= 1
    analyzer = next(row for row in rows if row["type"] == "analyzer")
    assert set(analyzer["common_tools"]) <= {"Read", "Grep", "Glob", "Bash"}
    assert analyzer["common_tools"]


def test_performance_of_the_documents_example_agent(fleet: LiveServer) -> None:
    body = _get(fleet, "/api/agents/performance/screenshot-analyzer?days=7")
    assert body["agent_name"] == "screenshot-analyzer" and body["agent_type"] == "analyzer"
    assert body["total_executions"] >= 5 and 0 <= body["success_rate"] <= 1
    spread = body["performance"]
    for name in ("p50_duration_ms", "p95_duration_ms", "p99_duration_ms", "min_duration_ms",
                 "max_duration_ms"):
        assert spread[name] > 0, name
    assert spread["min_duration_ms"] <= spread["p50_duration_ms"] <= spread["max_duration_ms"]
    # the slow analyzer against its baseline: its slowest session well above its median
    assert spread["max_duration_ms"] > 2 * spread["min_duration_ms"]
    tokens = body["token_usage"]
    assert tokens["avg_tokens"] > 0 and tokens["total_tokens"] >= tokens["avg_tokens"]
    assert tokens["estimated_cost"] > 0
    trend = body["daily_trend"]
    assert len(trend) == 7 and [d["date"] for d in trend] == sorted(d["date"] for d in trend)
    today = trend[-1]
    assert {"date", "executions", "avg_duration_ms", "success_rate"} <= set(today)
    assert today["executions"] >= 1 or trend[-2]["executions"] >= 1  # just past midnight
    assert len(_get(fleet, "/api/agents/performance/screenshot-analyzer?days=1")
               ["daily_trend"]) == 1


@pytest.mark.parametrize("period", ["day", "week"])
def test_tools_usage_with_insights(fleet: LiveServer, period: str) -> None:
    # two runs that use the same pair of tools and nothing else: a pair the insights must name
    # whatever the simulated fleet happened to do
    events: list[dict[str, Any]] = [agent(f"ag-pair-{period}")]
    for n in range(2):
        sid = f"se-pair-{period}-{n}"
        events += [started(sid, f"ag-pair-{period}"), tool(sid, "DeployCanary"),
                   tool(sid, "RollbackCanary"), ended(sid)]
    with fleet.client() as c:
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
    body = _get(fleet, f"/api/agents/tools/usage?period={period}")
    if period == "day":
        datetime.strptime(body["period"], "%Y-%m-%d")
    else:
        datetime.strptime(body["period"] + "-1", "%G-W%V-%u")
    tools = body["tools"]
    assert tools
    for t in tools:
        assert {"name", "usage_count", "percentage", "avg_per_execution", "agents_using"} <= set(t)
        assert t["usage_count"] > 0 and t["avg_per_execution"] > 0 and t["agents_using"]
    read = next(t for t in tools if t["name"] == "Read")
    assert len(read["agents_using"]) >= 3  # every simulated kind reads
    insights = body["insights"]
    assert insights["most_used_tool"] == tools[0]["name"]
    assert insights["least_used_tool"] in {t["name"] for t in tools}
    pairs = insights["high_correlation"]
    assert pairs and all(len(p) == 2 and p[0] != p[1] for p in pairs)
    assert ["DeployCanary", "RollbackCanary"] in pairs


@pytest.mark.parametrize(("path", "name"), [
    ("/api/agents/metrics/timeline?hours=0", "hours"),
    ("/api/agents/metrics/timeline?hours=721", "hours"),
    ("/api/agents/metrics/timeline?hours=a", "hours"),
    ("/api/agents/types/distribution?hours=0", "hours"),
    ("/api/agents/performance/screenshot-analyzer?days=0", "days"),
    ("/api/agents/performance/screenshot-analyzer?days=91", "days"),
    ("/api/agents/tools/usage?period=month", "period"),
])
def test_parameters_out_of_range_are_refused_by_name(fleet: LiveServer, path: str,
                                                     name: str) -> None:
    with fleet.client() as c:
        response = c.get(path)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(f"{name}:")


def test_an_unknown_agent_name_is_a_404(fleet: LiveServer) -> None:
    with fleet.client() as c:
        response = c.get("/api/agents/performance/no-such-agent?days=7")
    assert response.status_code == 404
    assert "no-such-agent" in response.json()["error"]["message"]


def test_agents_keep_their_description_and_avatar(fleet: LiveServer) -> None:
    agents = _get(fleet, "/api/v1/agents")["agents"]
    slow = next(a for a in agents if a["name"] == "screenshot-analyzer")
    assert slow["description"] and slow["avatar"]
    with fleet.client() as c:  # a registration that says nothing of them keeps them
        c.post("/api/v1/ingest", json={"events": [
            agent("ag-described", description="Answers billing questions.", avatar="💬")]}
        ).raise_for_status()
        c.post("/api/v1/ingest", json={"events": [agent("ag-described")]}).raise_for_status()
        kept = c.get("/api/v1/agents/ag-described").json()
    assert (kept["description"], kept["avatar"]) == ("Answers billing questions.", "💬")


async def test_session_details_show_the_agent_and_the_progress(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent("ag-d", description="Answers billing questions.", avatar="💬"),
            started("se-d", "ag-d", title="refund request"),
            {"type": "session.status", "session_id": "se-d", "status": "running",
             "progress": 0.4},
        ]}).raise_for_status()
    app = create_app(Connection(live.url, live.token), clock=frozen_clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "se-d" in app.fleet.sessions, what="the snapshot")
        await select_in_fleet(app, pilot, "ag-d", "se-d")
        await pilot.press("enter")
        assert isinstance(app.screen, SessionDetails)
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
    assert "💬  name-ag-d (coder)" in text
    assert "Answers billing questions." in text
    assert "running (40% done)" in text


# ---- seed 000: GET /api/agent-ops/stream?workspaceId=… -------------------------------------


def _streams(srv: LiveServer) -> set[int]:
    """The server's open stream subscriptions (by identity)."""
    return {id(sub) for sub in srv.server._app.state.ctx.bus.streams}  # type: ignore[union-attr]


def _reader(srv: LiveServer, token: str | None = None, **headers: str) -> SseReader:
    """A real SSE reader of the stream, once the server has subscribed it."""
    before = _streams(srv)
    reader = SseReader(f"{srv.url}{STREAM}",
                       {"Authorization": f"Bearer {token or srv.token}", **headers},
                       params={"workspaceId": "default"}).start()
    wait_for(lambda: _streams(srv) - before or reader.error, what="the stream to open")
    return reader


def _act(srv: LiveServer) -> None:
    """What only an operator (or the clock) does: approve, reject, miss a deadline."""
    with srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent("ag-ops"), started("se-ops", "ag-ops"),
            {"type": "approval.requested", "approval_id": "ap-yes", "session_id": "se-ops",
             "summary": "deploy to prod for alice@example.com?"},
            {"type": "approval.requested", "approval_id": "ap-no", "session_id": "se-ops",
             "summary": "drop the users table?"},
        ]}).raise_for_status()
        c.post("/api/v1/approvals/ap-yes/approve", json={}).raise_for_status()
        c.post("/api/v1/approvals/ap-no/reject", json={"reason": "no"}).raise_for_status()
        queue = c.post("/api/v1/work-queues", json={"name": "overdue"}).json()
        c.post(f"/api/v1/work-queues/{queue['id']}/tasks",
               json={"name": "call back bob", "priority": 5, "deadline": time.time() - 60}
               ).raise_for_status()


def test_stream_speaks_the_queue_pages_events_without_text(fleet: LiveServer) -> None:
    reader = _reader(fleet)
    try:
        _act(fleet)
        seen: dict[str, list[Any]] = {}

        def all_named() -> bool:
            seen.clear()
            for frame in reader.frames:
                seen.setdefault(frame.event, []).append(frame)
            return set(EVENT_NAMES) <= set(seen) or bool(reader.error)

        wait_for(all_named, 60, what=f"every event name (seen: {sorted(seen)})")
        assert reader.error is None
    finally:
        reader.stop()
    for name, frames in seen.items():
        assert name in EVENT_NAMES, name
        for frame in frames:
            data = frame.data
            assert data["type"] == name
            _iso(data["updatedAt"])
            assert not TEXT_FIELDS & set(data), (name, data)
            assert "alice@example.com" not in str(data)
            if name in ITEM_EVENTS or name == "sla.breached":
                assert {"itemId", "status", "assigneeId", "severity"} <= set(data)
    assert {f.data["status"] for f in seen["approval.approved"]} == {"approved"}
    refused = {f.data["status"] for f in seen["approval.rejected"]}
    assert "rejected" in refused and refused <= {"rejected", "expired"}
    breach = next(f.data for f in seen["sla.breached"] if f.data["priority"] == 5)
    assert breach["severity"] == "critical"
    resolved = seen["item.resolved"][0].data
    assert resolved["status"] in ("complete", "failed")
    runs = [f.data for f in seen["run.updated"]]
    assert {"runId", "agentId", "status"} <= set(runs[0])
    assert any(r["itemId"] for r in runs)  # a run working on an item says which


def test_stream_resumes_after_last_event_id(fleet: LiveServer) -> None:
    reader = _reader(fleet)
    try:
        frames = reader.wait_for(12, timeout=30)
    finally:
        reader.stop()
    middle = frames[5]
    resumed = _reader(fleet, **{"Last-Event-ID": middle.id})
    try:
        again = resumed.wait_for(5, timeout=30)
    finally:
        resumed.stop()
    expected = [(f.id, f.event, f.data) for f in frames[6:11]]
    assert [(f.id, f.event, f.data) for f in again[:5]] == expected


def test_another_workspace_is_refused(fleet: LiveServer) -> None:
    with fleet.client() as c:
        other = c.get(STREAM, params={"workspaceId": "acme"})
        missing = c.get(STREAM)
    assert other.status_code == 403
    error = other.json()["error"]
    assert error["code"] == "forbidden" and "acme" in error["message"]
    assert missing.status_code == 422
    assert missing.json()["error"]["message"].startswith("workspaceId:")
    foreign = fleet.token_for("viewer", "acme")
    with httpx.Client(base_url=fleet.url, headers={"Authorization": f"Bearer {foreign}"},
                      timeout=10) as c:
        assert c.get(STREAM, params={"workspaceId": "default"}).status_code == 403


def test_the_simulated_fleet_uses_several_agent_types(tmp_path: Path) -> None:
    """Without waiting for any work: the registrations alone name five types."""
    srv = start_server(tmp_path / "types.db")
    sim = Simulator(srv.url, srv.token, agents=8, seed=7, speed=20.0, tasks=False)
    sim.start_in_thread()
    try:
        with srv.client() as c:
            def kinds() -> set[str]:
                rows = c.get("/api/agents/types/distribution").json()["distribution"]
                found = {row["type"] for row in rows}
                return found if len(found) >= 5 else set()

            assert wait_for(kinds, 30, what="five agent types") == {
                "coder", "researcher", "reviewer", "triager", "analyzer"}
    finally:
        sim.stop()
        srv.server.stop()
