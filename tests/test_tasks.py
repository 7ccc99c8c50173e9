"""Tasks and sessions: an agent takes a task through the SDK, its sessions (subagents too)
move it and add up on it; a missed deadline raises `sla.breached` once, everywhere."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from agentops_tui.client.api import ApiClient
from agentops_tui.client.state import FleetState
from agentops_tui.core import tasks as task_math
from agentops_tui.sdk import AsyncAgentClient, TaskRefused

from conftest import LiveServer
from sse import SseReader


def _setup(c: httpx.Client, **task: Any) -> tuple[str, str]:
    q = c.post("/api/v1/work-queues", json={"name": "triage", "teamId": "eng"}).json()["id"]
    t = c.post(f"/api/v1/work-queues/{q}/tasks", json={"name": "fix login", **task}).json()
    return q, t["id"]


async def test_task_follows_its_sessions_and_adds_them_up(live: LiveServer) -> None:
    with live.client() as c:
        q, task_id = _setup(c, priority=4)
    async with AsyncAgentClient(live.url, live.token, "ag-1", kind="coder") as agent:
        task = await agent.take_task(q)
        assert task is not None and task["id"] == task_id and task["status"] == "assigned"
        assert await agent.take_task(q) is None  # nothing left, and busy: no steal
        root = agent.session("se-root", title="fix login", task_id=task_id,
                             model="claude-sonnet-4")
        root.usage(input_tokens=1_000_000, output_tokens=0)
        child = root.subagent(session_id="se-child", title="read logs")
        child.usage(input_tokens=0, output_tokens=1_000_000, model="claude-sonnet-4")
        grandchild = child.subagent(session_id="se-grand", title="grep")
        grandchild.tool_call("Bash", duration_ms=5)
        await agent.flush()
        with live.client() as c:
            view = c.get(f"/api/v1/tasks/{task_id}").json()
            assert view["status"] == "running" and view["assignee"] == "ag-1"
            assert [s["id"] for s in view["sessions"]] == ["se-root", "se-child", "se-grand"]
            assert view["session_count"] == 3 and view["active_sessions"] == 3
            assert view["input_tokens"] == 1_000_000 and view["output_tokens"] == 1_000_000
            assert view["cost_usd"] == pytest.approx(3.0 + 15.0)  # sonnet: $3 in, $15 out
            assert view["elapsed_seconds"] is not None and view["queue_name"] == "triage"
            grand = c.get("/api/v1/sessions/se-grand").json()
            assert grand["task_id"] == task_id  # a subagent shows its task
            by_task = {r["key"]: r for r in c.get(
                "/api/v1/costs", params={"group_by": "task"}).json()["rows"]}
            assert by_task[task_id]["cost_usd"] == pytest.approx(18.0)
        for s in (grandchild, child, root):
            s.end()
        done = await agent.complete_task(task_id, {"pr": 312})
        assert done["status"] == "complete" and done["result"] == {"pr": 312}
        with pytest.raises(TaskRefused) as refused:
            await agent.fail_task(task_id, "too late")
        assert refused.value.status == 409
    with live.client() as c:
        listed = c.get("/api/v1/tasks", params={"status": "complete"}).json()["tasks"]
        assert [t["id"] for t in listed] == [task_id] and listed[0]["active_sessions"] == 0
        assert c.get("/api/v1/tasks", params={"status": "inbox"}).json()["tasks"] == []
        assert c.get("/api/v1/tasks", params={"status": "nope"}).status_code == 422
        assert c.get("/api/v1/tasks/wt_nope").status_code == 404


async def test_console_state_sees_tasks_and_rolls_them_up(live: LiveServer) -> None:
    with live.client() as c:
        q, task_id = _setup(c)
    state = FleetState()
    api = ApiClient(live.url, live.token)
    state.load(await api.snapshot())
    assert state.fleet.tasks[task_id].status == "inbox" and q in state.fleet.queues
    async with AsyncAgentClient(live.url, live.token, "ag-2") as agent:
        root = agent.session("se-a", task_id=task_id)
        root.subagent(session_id="se-b").usage(input_tokens=10, output_tokens=5, cost_usd=0.5)
        await agent.flush()
    page = await api.events(after=state.last_event_id, limit=1000)
    await api.close()
    state.apply([(e.id, e.type, e.ts, e.data) for e in page.events])
    fleet = state.fleet
    assert fleet.tasks[task_id].status == "running"
    assert [s.id for s in task_math.task_sessions(fleet, task_id)] == ["se-a", "se-b"]
    totals = task_math.rollup(fleet.tasks[task_id], task_math.task_sessions(fleet, task_id),
                              time.time())
    assert totals.cost_usd == pytest.approx(0.5) and totals.sessions == 2
    assert task_math.task_of_session(fleet, "se-b") == task_id


def test_sla_breach_raises_once_and_shows_everywhere(live: LiveServer) -> None:
    reader = SseReader(f"{live.url}/api/v1/stream", {"Authorization": f"Bearer {live.token}"},
                       params={"types": "sla.breached"})
    reader.start()
    with live.client() as c:
        q, late = _setup(c, deadline=time.time() + 0.3)
        _, on_time = _setup(c, deadline=time.time() + 3600)
        breach = reader.wait_for(1, timeout=10)
        assert len(breach) == 1 and breach[0].data["task_id"] == late
        assert breach[0].data["title"] == "fix login" and breach[0].data["late_seconds"] >= 0
        time.sleep(1.5)  # several sweeps later: still one breach
        assert len(reader.frames) == 1
        view = c.get(f"/api/v1/tasks/{late}").json()
        assert view["sla_breached"] and view["breached_at"] >= view["deadline"]
        assert not c.get(f"/api/v1/tasks/{on_time}").json()["sla_breached"]
        breached = c.get("/api/v1/tasks", params={"breached": "true"}).json()["tasks"]
        assert [t["id"] for t in breached] == [late]
        snap = {t["id"]: t for t in c.get("/api/v1/snapshot").json()["tasks"]}
        assert snap[late]["sla_breached"] and not snap[on_time]["sla_breached"]
        events = c.get("/api/v1/events", params={"after": 0, "limit": 1000}).json()["events"]
        assert [e["data"]["task_id"] for e in events if e["type"] == "sla.breached"] == [late]
        alerts = c.get("/api/v1/alerts", params={"status": "open"}).json()["alerts"]
        assert any(a["rule"] == "sla_breached" and a["subject_id"] == late for a in alerts)
        # finishing the late task keeps the mark (it was late) and resolves the alert
        c.post(f"/api/v1/work-queue-tasks/{late}/complete")
        assert c.get(f"/api/v1/tasks/{late}").json()["sla_breached"]
    reader.stop()
