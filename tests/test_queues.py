"""Work queues against a real server: ordering, atomic dequeue, steal, 204s, 409s, 422s."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from typing import Any

import httpx
import pytest

from conftest import LiveServer


def _queue(c: httpx.Client, name: str = "bug-triage", team: str | None = "engineering") -> str:
    r = c.post("/api/v1/work-queues", json={"name": name, "teamId": team})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _task(c: httpx.Client, queue_id: str, name: str, **kw: Any) -> dict[str, Any]:
    r = c.post(f"/api/v1/work-queues/{queue_id}/tasks", json={"name": name, **kw})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def test_dequeue_order_priority_then_deadline_then_age(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        _task(c, q, "low", priority=1)
        _task(c, q, "urgent-late-deadline", priority=5, deadline=time.time() + 7200)
        _task(c, q, "urgent-no-deadline", priority=5)
        _task(c, q, "urgent-early-deadline", priority=5, deadline=time.time() + 3600)
        _task(c, q, "normal-old", priority=3)
        _task(c, q, "normal-new", priority=3)
        listed = [t["name"] for t in c.get(f"/api/v1/work-queues/{q}/tasks").json()["tasks"]]
        taken = []
        while (r := c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agentId": "a1"})
               ).status_code == 200:
            assert r.json()["status"] == "assigned" and r.json()["assignee"] == "a1"
            taken.append(r.json()["name"])
        assert r.status_code == 204 and r.content == b""
        expected = ["urgent-early-deadline", "urgent-late-deadline", "urgent-no-deadline",
                    "normal-old", "normal-new", "low"]
        assert taken == expected and listed == expected
        counts = c.get(f"/api/v1/work-queues/{q}").json()["counts"]
        assert counts == {"inbox": 0, "assigned": 6, "running": 0, "complete": 0, "failed": 0}
        assigned = c.get(f"/api/v1/work-queues/{q}/tasks", params={"status": "assigned"})
        assert len(assigned.json()["tasks"]) == 6
        assert c.get(f"/api/v1/work-queues/{q}/tasks", params={"status": "inbox"}).json() == {
            "tasks": []}


def test_twenty_concurrent_dequeues_never_hand_out_a_task_twice(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        for i in range(12):
            _task(c, q, f"t{i}", priority=1 + i % 5)
    results: list[tuple[int, str | None]] = []
    barrier = threading.Barrier(20)

    def worker(n: int) -> None:
        with live.client() as c:
            barrier.wait()
            r = c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agent_id": f"ag-{n}"})
            results.append((r.status_code, r.json()["id"] if r.status_code == 200 else None))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ids = [tid for code, tid in results if code == 200]
    assert len(results) == 20
    assert len(ids) == 12 and len(set(ids)) == 12
    assert sorted(code for code, _ in results).count(204) == 8


def test_steal_from_a_team_queue(live: LiveServer) -> None:
    with live.client() as c:
        home = _queue(c, "triage", "eng")
        other = _queue(c, "reviews", "eng")
        foreign = _queue(c, "billing", "finance")
        lone = _queue(c, "solo", None)
        _task(c, foreign, "not ours", priority=5)
        assert c.post(f"/api/v1/work-queues/{home}/steal", json={"agentId": "idle"}
                      ).status_code == 204
        _task(c, other, "review PR", priority=2)
        _task(c, other, "review hotfix", priority=4)
        r = c.post(f"/api/v1/work-queues/{home}/steal", json={"agentId": "idle"})
        assert r.status_code == 200
        assert r.json()["name"] == "review hotfix" and r.json()["queue_id"] == other
        busy = c.post(f"/api/v1/work-queues/{home}/steal", json={"agentId": "idle"})
        assert busy.status_code == 409 and "already works on" in busy.json()["error"]["message"]
        assert c.post(f"/api/v1/work-queues/{lone}/steal", json={"agentId": "x"}
                      ).status_code == 204
        assert c.post("/api/v1/work-queues/wq_nope/steal", json={"agentId": "x"}
                      ).status_code == 404


def test_complete_fail_and_conflicts(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        a = _task(c, q, "a")
        b = _task(c, q, "b")
        done = c.post(f"/api/v1/work-queue-tasks/{a['id']}/complete",
                      json={"result": {"rootCause": "cookie"}})
        assert done.status_code == 200
        assert done.json()["status"] == "complete"
        assert done.json()["result"] == {"rootCause": "cookie"}
        again = c.post(f"/api/v1/work-queue-tasks/{a['id']}/fail", json={"error": "x"})
        assert again.status_code == 409 and "already complete" in again.json()["error"]["message"]
        failed = c.post(f"/api/v1/work-queue-tasks/{b['id']}/fail", json={"error": "no repro"})
        assert failed.json()["status"] == "failed" and failed.json()["error"] == "no repro"
        assert c.post(f"/api/v1/work-queue-tasks/{b['id']}/complete").status_code == 409
        assert c.post("/api/v1/work-queue-tasks/wt_missing/complete").status_code == 404
        actions = [e["action"] for e in c.get("/api/v1/audit").json()["entries"]]
        for action in ("queue.create", "task.create", "task.complete", "task.fail"):
            assert action in actions
        refused = [e for e in c.get("/api/v1/audit", params={"action": "task.fail"}).json()[
            "entries"] if e["result"].startswith("rejected")]
        assert refused and "already complete" in refused[0]["result"]


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "priority": 0}, "priority"),
    ({"name": "x", "priority": 6}, "priority"),
    ({"name": "x", "priority": "high"}, "priority"),
    ({"priority": 3}, "name"),
    ({"name": "x", "deadline": "next tuesday"}, "deadline"),
])
def test_bad_tasks_are_422_naming_the_field(live: LiveServer, body: dict[str, Any],
                                            field: str) -> None:
    with live.client() as c:
        q = _queue(c)
        r = c.post(f"/api/v1/work-queues/{q}/tasks", json=body)
        assert r.status_code == 422
        assert field in r.json()["error"]["message"]
        assert c.get(f"/api/v1/work-queues/{q}/tasks").json() == {"tasks": []}


def test_bad_input_and_roles(live: LiveServer) -> None:
    viewer = live.token_for("viewer")
    with live.client() as c:
        q = _queue(c)
        bad = c.post(f"/api/v1/work-queues/{q}/tasks", content=b"{not json",
                     headers={"content-type": "application/json"})
        assert bad.status_code == 400 and "JSON" in bad.json()["error"]["message"]
        huge = c.post(f"/api/v1/work-queues/{q}/tasks",
                      json={"name": "big", "payload": {"blob": "x" * 70_000}})
        assert huge.status_code == 413 and "payload" in huge.json()["error"]["message"]
        assert c.post("/api/v1/work-queues/wq_none/tasks", json={"name": "x"}).status_code == 404
        assert c.post(f"/api/v1/work-queues/{q}/dequeue", json={}).status_code == 422
        assert c.get(f"/api/v1/work-queues/{q}/tasks", params={"status": "done"}
                     ).status_code == 422
        with live.client(viewer) as v:
            assert v.get("/api/v1/work-queues").status_code == 200
            assert v.post("/api/v1/work-queues", json={"name": "x"}).status_code == 403
            assert v.post(f"/api/v1/work-queues/{q}/dequeue", json={"agentId": "a"}
                          ).status_code == 403


def test_delete_refuses_open_tasks_unless_forced(live: LiveServer) -> None:
    with live.client() as c:
        q = _queue(c)
        t = _task(c, q, "still open")
        r = c.delete(f"/api/v1/work-queues/{q}")
        assert r.status_code == 409 and "1 inbox" in r.json()["error"]["message"]
        assert c.get(f"/api/v1/work-queues/{q}").status_code == 200
        forced = c.delete(f"/api/v1/work-queues/{q}", params={"force": "true"})
        assert forced.status_code == 200 and forced.json()["failed_tasks"] == [t["id"]]
        assert c.get(f"/api/v1/work-queues/{q}").status_code == 404
        task = c.get(f"/api/v1/tasks/{t['id']}").json()
        assert task["status"] == "failed" and "deleted" in task["error"]
        empty = _queue(c, "empty")
        assert c.delete(f"/api/v1/work-queues/{empty}").status_code == 200
        assert c.get("/api/v1/work-queues").json()["queues"] == []


def test_queues_and_tasks_survive_a_restart(tmp_path: Any) -> None:
    from conftest import start_server

    db = tmp_path / "q.db"
    first = start_server(db)
    with first.client() as c:
        q = _queue(c)
        t = _task(c, q, "keep me", priority=4, payload={"ticketId": "T-1"})
        c.post(f"/api/v1/work-queues/{q}/dequeue", json={"agentId": "a"})
    first.server.stop()
    second = start_server(db)
    try:
        with second.client() as c:
            snap = c.get("/api/v1/snapshot").json()
            assert [x["id"] for x in snap["queues"]] == [q]
            [task] = snap["tasks"]
            assert task["id"] == t["id"] and task["status"] == "assigned"
            assert task["payload"] == {"ticketId": "T-1"}
    finally:
        second.server.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_seed_curl_sequence_verbatim(live: LiveServer) -> None:
    """The published examples, with only the host, the /api/v1 prefix and the ids changed."""

    def curl(path: str, body: str) -> tuple[int, Any]:
        out = subprocess.run(
            ["curl", "-s", "-w", "\n%{http_code}", "-X", "POST", f"{live.url}/api/v1{path}",
             "-H", f"Authorization: Bearer {live.token}",
             "-H", "Content-Type: application/json", "-d", body],
            capture_output=True, text=True, timeout=30, check=True).stdout
        text, _, code = out.rpartition("\n")
        return int(code), json.loads(text) if text.strip() else None

    code, queue = curl("/work-queues", '{ "name": "bug-triage", "teamId": "engineering" }')
    assert code == 201 and queue["team_id"] == "engineering" and queue["id"]
    code, task = curl(f"/work-queues/{queue['id']}/tasks", """{
        "name": "Investigate login timeout on mobile",
        "priority": 4,
        "payload": { "ticketId": "T-4821" },
        "deadline": "2026-03-08T17:00:00.000Z"
      }""")
    assert code == 201 and task["priority"] == 4 and task["payload"] == {"ticketId": "T-4821"}
    assert task["deadline"] == 1772989200.0
    code, taken = curl(f"/work-queues/{queue['id']}/dequeue", '{ "agentId": "triage-agent" }')
    assert code == 200 and taken["id"] == task["id"] and taken["assignee"] == "triage-agent"
    code, _ = curl(f"/work-queues/{queue['id']}/steal", '{ "agentId": "idle-agent" }')
    assert code == 204
    code, done = curl(f"/work-queue-tasks/{task['id']}/complete",
                      '{ "result": { "rootCause": "Session cookie SameSite attribute",'
                      ' "fix": "PR #312" } }')
    assert code == 200 and done["status"] == "complete"
    code, err = curl(f"/work-queue-tasks/{task['id']}/fail",
                     '{ "error": "Unable to reproduce on staging" }')
    assert code == 409 and err["error"]["code"] == "conflict"


def test_queues_are_scoped_to_their_workspace(live: LiveServer) -> None:
    other = live.token_for("operator", workspace="other")
    with live.client() as c, live.client(other) as o:
        q = _queue(c)
        t = _task(c, q, "ours")
        assert o.get("/api/v1/work-queues").json() == {"queues": []}
        assert o.get(f"/api/v1/work-queues/{q}").status_code == 404
        assert o.post(f"/api/v1/work-queues/{q}/dequeue", json={"agentId": "a"}
                      ).status_code == 404
        assert o.post(f"/api/v1/work-queue-tasks/{t['id']}/complete").status_code == 404
        assert o.get(f"/api/v1/tasks/{t['id']}").status_code == 404
        theirs = _queue(o, "theirs", "engineering")
        assert o.post(f"/api/v1/work-queues/{theirs}/steal", json={"agentId": "a"}
                      ).status_code == 204  # the same team name elsewhere is another team
        assert c.get(f"/api/v1/tasks/{t['id']}").json()["status"] == "inbox"
