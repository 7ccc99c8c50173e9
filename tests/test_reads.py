"""Reads: agents, sessions with filters and cursor paging, the subagent tree, 404s."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from conftest import LiveServer, start_server
from factories import agent, ended, message, started, usage


def test_sessions_filters_and_cursor_paging(live: LiveServer) -> None:
    events = [agent("a1"), agent("a2")]
    for i in range(25):
        events.append(started(f"s{i:02}", "a1" if i % 2 else "a2", task_id="t-9" if i < 5 else None,
                              ts=1_700_000_000 + i))
    events += [ended("s03", "failed", error="x"), ended("s04")]
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
            page = c.get("/api/v1/sessions", params=params).json()
            seen += [s["id"] for s in page["sessions"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [f"s{i:02}" for i in reversed(range(25))]
        a1 = c.get("/api/v1/sessions", params={"agent_id": "a1", "limit": 100}).json()
        assert all(int(s["id"][1:]) % 2 for s in a1["sessions"]) and len(a1["sessions"]) == 12
        ended_ = c.get("/api/v1/sessions", params={"status": "failed,completed"}).json()
        assert {s["id"] for s in ended_["sessions"]} == {"s03", "s04"}
        task = c.get("/api/v1/sessions", params={"task_id": "t-9"}).json()
        assert len(task["sessions"]) == 5
        bad = c.get("/api/v1/sessions", params={"status": "sleeping"})
        assert bad.status_code == 422 and "sleeping" in bad.json()["error"]["message"]
        assert c.get("/api/v1/sessions", params={"cursor": "%%%"}).status_code == 422
        assert c.get("/api/v1/sessions", params={"limit": 0}).status_code == 422


def test_agents_and_not_found(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [agent("a1"), agent("a2", kind="reviewer"),
                                                  started("s1", "a1")]}).raise_for_status()
        assert [a["id"] for a in c.get("/api/v1/agents").json()["agents"]] == ["a1", "a2"]
        assert [a["id"] for a in c.get("/api/v1/agents?status=running").json()["agents"]] == ["a1"]
        assert [a["id"] for a in c.get("/api/v1/agents?kind=reviewer").json()["agents"]] == ["a2"]
        a1 = c.get("/api/v1/agents/a1").json()
        assert a1["active_sessions"] == ["s1"] and a1["status"] == "running"
        for path in ("/api/v1/agents/zz", "/api/v1/sessions/zz", "/api/v1/nothing-here"):
            r = c.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path


def test_tree_rolls_up_cost_and_status(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            started("root", ts=1), started("child", parent_session_id="root", ts=2),
            started("grandchild", parent_session_id="child", ts=3),
            started("other", ts=4),
            usage("root", 1_000_000, 0), usage("child", 0, 1_000_000),
            usage("grandchild", 1_000_000, 0), ended("grandchild", "failed"),
        ]}).raise_for_status()
        roots = c.get("/api/v1/sessions/tree").json()["roots"]
        assert [r["session"]["id"] for r in roots] == ["other", "root"]
        root = roots[1]
        assert root["rollup"]["cost_usd"] == 3.0 + 15.0 + 3.0
        assert root["rollup"] == {**root["rollup"], "sessions": 3, "active": 2, "failed": 1}
        child = root["children"][0]
        assert child["session"]["id"] == "child" and child["rollup"]["cost_usd"] == 18.0
        assert child["children"][0]["session"]["status"] == "failed"
        sub = c.get("/api/v1/sessions/tree", params={"root": "child"}).json()["roots"]
        assert [r["session"]["id"] for r in sub] == ["child"]
        assert c.get("/api/v1/sessions/tree", params={"root": "nope"}).status_code == 404


def _parse_deep(text: str) -> Any:
    """A very deep tree nests past the default recursion limit of Python's json parser."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        return json.loads(text)
    finally:
        sys.setrecursionlimit(limit)


def test_tree_of_a_thousand_deep_chain_answers(live: LiveServer) -> None:
    depth = 1000
    chain = [started("d0000", ts=1)] + [
        started(f"d{i:04}", parent_session_id=f"d{i - 1:04}", ts=1 + i) for i in range(1, depth)
    ]
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": chain}).raise_for_status()
        c.post("/api/v1/ingest", json={"events": [usage("d0999", 1_000_000, 0),
                                                  ended("d0999", "failed")]}).raise_for_status()
        for params in ({}, {"active": "false"}, {"active": "true"}, {"root": "d0000"}):
            r = c.get("/api/v1/sessions/tree", params=params)
            assert r.status_code == 200, (params, r.text[:300])
            [top] = _parse_deep(r.text)["roots"]
            assert top["session"]["id"] == "d0000"
            assert top["rollup"] == {"cost_usd": 3.0, "priced": True, "tokens": 1_000_000,
                                     "sessions": depth, "active": depth - 1, "failed": 1}
            node, seen = top, 1
            while node["children"]:
                [node] = node["children"]
                seen += 1
            assert seen == depth and node["session"]["id"] == "d0999"
        mid = c.get("/api/v1/sessions/tree", params={"root": "d0500"})
        assert mid.status_code == 200
        assert _parse_deep(mid.text)["roots"][0]["rollup"]["sessions"] == 500


def test_openapi_document_is_served_and_self_contained(live: LiveServer) -> None:
    import httpx

    spec = httpx.get(f"{live.url}/openapi.json").json()
    assert "/api/v1/ingest" in spec["paths"] and "/api/v1/stream" in spec["paths"]
    text = str(spec)
    assert "#/$defs/" not in text
    body = spec["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"]["application/json"]
    assert "events" in str(body["schema"])
    found = re.findall(r"#/components/schemas/[\w.-]+", text)
    refs = {r.split("/")[-1] for r in found}
    assert refs <= set(spec["components"]["schemas"])


def test_silent_idle_agents_go_offline_and_come_back(tmp_path: Path) -> None:
    from agentops_tui.server.control import presence

    srv = start_server(tmp_path / "p.db", offline_after_seconds=0.2)
    try:
        with srv.client() as c:
            c.post("/api/v1/ingest", json={"events": [
                agent("quiet"), agent("busy"), started("s1", "busy")]}).raise_for_status()
            time.sleep(0.3)  # a deliberate window: longer than offline_after, in silence
            # run one presence pass through the writer, as the background loop does
            count = srv.server.run_job(lambda ctx: presence.mark_offline(ctx, 0.2))
            assert count == 1
            statuses = {a["id"]: a["status"] for a in c.get("/api/v1/agents").json()["agents"]}
            assert statuses == {"quiet": "offline", "busy": "running"}
            c.post("/api/v1/ingest", json={"events": [
                {"type": "agent.heartbeat", "agent_id": "quiet"}]}).raise_for_status()
            assert c.get("/api/v1/agents/quiet").json()["status"] == "idle"
    finally:
        srv.server.stop()


def test_session_rows_follow_every_change_to_their_columns(live: LiveServer) -> None:
    """A session's row is rewritten whole when a filtered column changes, and only its data
    otherwise; either way the table's filters and the row's data agree with the session."""
    import sqlite3

    def listed(c: Any, status: str) -> dict[str, Any]:
        page = c.get("/api/v1/sessions", params={"status": status}).json()
        return {s["id"]: s for s in page["sessions"]}

    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [agent("a1"), started("s1", "a1")]}
               ).raise_for_status()
        for n in (1, 2):  # counters only: the data changes, the columns do not
            c.post("/api/v1/ingest", json={"events": [message("s1", f"m{n}")]}
                   ).raise_for_status()
            assert listed(c, "running")["s1"]["messages"] == n
        c.post("/api/v1/ingest", json={"events": [
            {"type": "session.status", "session_id": "s1", "status": "waiting"}]}
               ).raise_for_status()
        assert "s1" not in listed(c, "running")
        assert listed(c, "waiting")["s1"]["messages"] == 2
        c.post("/api/v1/ingest", json={"events": [message("s1", "m3")]}).raise_for_status()
        assert listed(c, "waiting")["s1"]["messages"] == 3
        c.post("/api/v1/ingest", json={"events": [ended("s1")]}).raise_for_status()
        assert listed(c, "completed")["s1"]["messages"] == 3
        assert "s1" not in listed(c, "waiting")
    with sqlite3.connect(live.db) as conn:
        status, last_activity, data = conn.execute(
            "SELECT status, last_activity, data FROM sessions WHERE id = 's1'").fetchone()
    assert status == "completed"
    assert f'"last_activity":{last_activity}' in data.replace(" ", "")
