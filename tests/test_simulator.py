"""The simulator against a real server: every behaviour shows early, same seed → same content,
and it obeys the operator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from agentops_tui.simulator import Simulator

from conftest import LiveServer, start_server
from waiting import wait_for


def _events(c: httpx.Client) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = 0
    while True:
        page = c.get("/api/v1/events", params={"after": after, "limit": 5000}).json()
        out += page["events"]
        if not page["has_more"]:
            return out
        after = out[-1]["id"]


def test_default_scenario_shows_every_behaviour_within_30_simulated_seconds(
        live: LiveServer) -> None:
    speed = 15.0
    sim = Simulator(live.url, live.token, agents=8, seed=3, speed=speed)
    sim.start_in_thread()
    try:
        time.sleep(30 / speed + 0.5)  # deliberate: what 30 simulated seconds show is the test
    finally:
        sim.stop()
    with live.client() as c:
        events = _events(c)
        tree = c.get("/api/v1/sessions/tree").json()["roots"]
        snap = c.get("/api/v1/snapshot").json()
    types = {e["type"] for e in events}
    assert {"agent.registered", "session.started", "session.message", "session.tool_call",
            "session.usage", "session.status", "session.ended",
            "approval.requested"} <= types
    assert any(e["type"] == "session.tool_call" and e["data"]["status"] == "error"
               for e in events)
    assert any(e["type"] == "session.ended" and e["data"]["status"] == "failed" for e in events)
    assert any(e["type"] == "session.status" and e["data"]["status"] == "waiting"
               for e in events)

    def depth(node: dict[str, Any]) -> int:
        return 1 + max((depth(c) for c in node["children"]), default=0)

    assert max(depth(r) for r in tree) >= 3  # root → child → grandchild
    models = {s["model"] for s in snap["sessions"]}
    assert "claude-opus-4-1" in models and len(models) >= 3
    burner = max(snap["sessions"], key=lambda s: s["cost_usd"])
    assert burner["model"] == "claude-opus-4-1" and burner["cost_usd"] > 1.0
    stuck = [e for e in events if e["data"].get("session_id", "").startswith(
        "sim-researcher-2-")]
    assert stuck and all(e["type"] != "session.ended" for e in stuck)
    # the board moves by itself: team queues, tasks taken and worked on, a missed deadline
    assert {q["name"] for q in snap["queues"]} == {"bug-triage", "code-review", "research"}
    assert {"task.created", "task.updated", "sla.breached"} <= types
    statuses = {t["status"] for t in snap["tasks"]}
    assert "running" in statuses and statuses & {"inbox", "assigned"}
    worked = [s for s in snap["sessions"] if s["task_id"] and not s["parent_session_id"]]
    assert worked and all(s["title"].startswith(snap_task["name"]) for s in worked
                          for snap_task in snap["tasks"] if snap_task["id"] == s["task_id"])


def _contents(url: str, token: str) -> dict[str, list[str]]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        out: dict[str, list[str]] = {}
        for e in _events(c):
            if e["type"] == "session.message" and e["data"]["role"] != "operator":
                sid = e["data"]["session_id"]
                agent, _, rest = sid.partition("-s")
                key = agent.rsplit("-", 1)[0] + rest  # drop the per-run id
                out.setdefault(key, []).append(e["data"]["content"])
        return out


def test_same_seed_same_content(tmp_path: Path) -> None:
    runs = []
    for n in range(2):
        srv = start_server(tmp_path / f"d{n}.db")
        sim = Simulator(srv.url, srv.token, agents=6, seed=11, speed=20.0)
        sim.start_in_thread()
        # run until at least six sessions have said something; prefixes are compared below
        wait_for(lambda u=srv.url, t=srv.token: len(_contents(u, t)) >= 6,
                 what="six sessions talking")
        sim.stop()
        runs.append(_contents(srv.url, srv.token))
        srv.server.stop()
    first, second = runs
    common = set(first) & set(second)
    assert len(common) >= 6
    for key in common:
        n = min(len(first[key]), len(second[key]))
        assert first[key][:n] == second[key][:n], key


def test_simulated_agents_obey_pause_inject_and_kill(live: LiveServer) -> None:
    sim = Simulator(live.url, live.token, agents=3, seed=5, speed=5.0)
    sim.start_in_thread()
    try:
        with live.client() as c:
            def running_session() -> str | None:
                snap = c.get("/api/v1/snapshot").json()
                for s in snap["sessions"]:
                    if s["status"] == "running" and s["agent_id"] == "sim-coder-1":
                        return str(s["id"])
                return None

            wait_for(lambda: running_session() is not None, what="a running session")
            sid = running_session()
            c.post(f"/api/v1/sessions/{sid}/pause").raise_for_status()
            wait_for(lambda: c.get(f"/api/v1/sessions/{sid}").json()["status"] == "paused",
                  timeout=5, what="paused")
            count = c.get(f"/api/v1/sessions/{sid}").json()["messages"]
            time.sleep(1.0)  # paused: it says nothing more
            assert c.get(f"/api/v1/sessions/{sid}").json()["messages"] == count
            c.post(f"/api/v1/sessions/{sid}/inject",
                   json={"message": "use the staging database"}).raise_for_status()
            c.post(f"/api/v1/sessions/{sid}/resume").raise_for_status()

            def acknowledged() -> bool:
                msgs = c.get(f"/api/v1/sessions/{sid}/messages", params={"limit": 1000})
                return any("use the staging database" in m["content"]
                           and m["role"] == "assistant" for m in msgs.json()["messages"])

            wait_for(acknowledged, timeout=10, what="the agent to take up the message")
            c.post(f"/api/v1/sessions/{sid}/kill").raise_for_status()
            wait_for(lambda: c.get(f"/api/v1/sessions/{sid}").json()["status"] == "killed",
                  timeout=5, what="killed")
            # the agent goes on with new work
            wait_for(lambda: running_session() not in (None, sid), timeout=15, what="new work")
    finally:
        sim.stop()


def test_simulator_never_feeds_queues_it_did_not_make(live: LiveServer) -> None:
    with live.client() as c:
        real = c.post("/api/v1/work-queues", json={"name": "prod-incidents"}).json()
    sim = Simulator(live.url, live.token, agents=2, seed=1, speed=20.0)
    sim.start_in_thread()
    try:
        time.sleep(1.5)  # deliberate: long enough to fill its queues, were it to touch this one
    finally:
        sim.stop()
    with live.client() as c:
        queues = c.get("/api/v1/work-queues").json()["queues"]
        assert [q["id"] for q in queues] == [real["id"]]
        assert c.get(f"/api/v1/work-queues/{real['id']}/tasks").json() == {"tasks": []}
