"""Agents carry the actions they obey; the API refuses the others with 409 `not_capable`.

Against a real server and SQLite: REST and SDK registrations, OTLP spans, the event stream,
the killswitch and a restart.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx

from conftest import LiveServer, start_server
from factories import agent, started
from sse import SseReader

CHANNEL = ["pause", "resume", "inject", "kill"]


def _ingest(c: httpx.Client, *events: dict[str, Any]) -> None:
    r = c.post("/api/v1/ingest", json={"events": list(events)})
    assert r.status_code == 202, r.text


def _caps(c: httpx.Client, agent_id: str) -> list[str]:
    listed = {a["id"]: a for a in c.get("/api/v1/agents").json()["agents"]}
    if "/" not in agent_id:  # an OTel `service/name` id has no path of its own
        r = c.get(f"/api/v1/agents/{agent_id}")
        assert r.status_code == 200, r.text
        assert r.json()["capabilities"] == listed[agent_id]["capabilities"]
    return list(listed[agent_id]["capabilities"])


def _otel_agent_span(trace: str, span_id: str, service: str, name: str) -> bytes:
    """One finished `invoke_agent` span, as an OpenTelemetry SDK exports it (OTLP JSON)."""
    now = time.time()

    def attr(key: str, value: str) -> dict[str, Any]:
        return {"key": key, "value": {"stringValue": value}}

    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [attr("service.name", service)]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [{
            "traceId": trace, "spanId": span_id, "name": f"invoke_agent {name}", "kind": 1,
            "startTimeUnixNano": str(int((now - 1) * 1e9)),
            "endTimeUnixNano": str(int(now * 1e9)),
            "attributes": [attr("gen_ai.operation.name", "invoke_agent"),
                           attr("gen_ai.agent.name", name)],
            "status": {"code": 0},
        }]}],
    }]}).encode()


def _post_spans(c: httpx.Client, body: bytes) -> None:
    r = c.post("/v1/traces", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text


def test_an_agent_that_declares_nothing_gets_the_command_channel(live: LiveServer) -> None:
    with live.client() as c:
        _ingest(c, agent("ag-1"), started("se-1", "ag-1"), started("se-2", "ag-implicit"))
        assert _caps(c, "ag-1") == CHANNEL
        assert _caps(c, "ag-implicit") == CHANNEL  # known only from its session
        listed = {a["id"]: a["capabilities"] for a in c.get("/api/v1/agents").json()["agents"]}
        assert listed == {"ag-1": CHANNEL, "ag-implicit": CHANNEL}
        snap = {a["id"]: a["capabilities"] for a in c.get("/api/v1/snapshot").json()["agents"]}
        assert snap == listed
        assert c.post("/api/v1/sessions/se-1/pause").status_code == 202


def test_declared_capabilities_are_honoured_and_kept(live: LiveServer) -> None:
    with live.client() as c:
        # declared in any order, with a repeat: stored once each, in the one order
        _ingest(c, agent("ag-1", capabilities=["resume", "pause", "pause"]), started())
        assert _caps(c, "ag-1") == ["pause", "resume"]
        r = c.post("/api/v1/sessions/se-1/kill")
        assert r.status_code == 409
        error = r.json()["error"]
        assert error["code"] == "not_capable"
        assert error["message"] == (
            "agent name-ag-1 cannot kill: it registered as obeying only pause, resume")
        assert error["details"] == {"agent_id": "ag-1", "action": "kill",
                                    "capabilities": ["pause", "resume"]}
        r = c.post("/api/v1/sessions/se-1/inject", json={"message": "hi"})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_capable")
        assert c.post("/api/v1/sessions/se-1/pause").status_code == 202

        _ingest(c, agent("ag-1", name="renamed"))  # a registration that declares nothing
        assert _caps(c, "ag-1") == ["pause", "resume"]
        _ingest(c, agent("ag-1", name="renamed", capabilities=[]))  # none is a declaration
        r = c.post("/api/v1/sessions/se-1/resume")
        assert r.status_code == 409
        assert r.json()["error"]["message"] == (
            "agent renamed cannot resume: it registered without any action it obeys; its "
            "sessions can be watched, not acted on")

        bad = c.post("/api/v1/ingest", json={"events": [agent("ag-2", capabilities=["fly"])]})
        assert bad.status_code == 422
        assert bad.json()["error"]["message"].startswith("events[0].capabilities[0]")
        refused = [e for e in c.get("/api/v1/audit").json()["entries"]
                   if e["result"].startswith("rejected")]
        assert {e["action"] for e in refused} == {"session.kill", "session.inject",
                                                   "session.resume"}


def test_otel_agents_can_be_watched_not_acted_on(live: LiveServer) -> None:
    with live.client() as c:
        _post_spans(c, _otel_agent_span("1" * 32, "a" * 16, "support", "writer"))
        [session] = c.get("/api/v1/sessions").json()["sessions"]
        assert _caps(c, session["agent_id"]) == []
        for action in ("pause", "kill"):
            r = c.post(f"/api/v1/sessions/{session['id']}/{action}")
            assert r.status_code == 409
            assert r.json()["error"] == {
                "code": "not_capable",
                "message": f"agent writer cannot {action}: it reports only through "
                           "OpenTelemetry; its sessions can be watched, not acted on",
                "details": {"agent_id": session["agent_id"], "action": action,
                            "capabilities": []}}

        # an SDK agent that also exports spans under its own id keeps what it declared
        _ingest(c, agent("support:editor", capabilities=["pause", "resume", "kill"]))
        _post_spans(c, _otel_agent_span("2" * 32, "b" * 16, "support", "editor"))
        assert _caps(c, "support:editor") == ["pause", "resume", "kill"]


def test_capabilities_are_streamed_and_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "caps.db"
    srv = start_server(db)
    try:
        with srv.client() as c:
            stream = SseReader(f"{srv.url}/api/v1/stream",
                               {"Authorization": f"Bearer {srv.token}"},
                               {"since": 0, "types": "agent.registered"}).start()
            _ingest(c, agent("ag-sdk", capabilities=["pause", "redirect", "approve"]),
                    agent("ag-rest"), agent("ag-sdk"))
            frames = stream.wait_for(3)
            stream.stop()
            # every registration in the log says what the agent obeys, declared or not
            assert [f.data["capabilities"] for f in frames] == [
                ["pause", "redirect", "approve"], CHANNEL, ["pause", "redirect", "approve"]]
    finally:
        srv.server.stop()
    srv = start_server(db)
    try:
        with srv.client() as c:
            assert _caps(c, "ag-sdk") == ["pause", "redirect", "approve"]
            assert _caps(c, "ag-rest") == CHANNEL
    finally:
        srv.server.stop()


def test_agents_stored_before_capabilities_existed_get_their_frameworks(
        tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    srv = start_server(db)
    try:
        with srv.client() as c:
            _ingest(c, agent("ag-rest"), agent("ag-otel", framework="openinference"))
    finally:
        srv.server.stop()
    with sqlite3.connect(db) as conn:  # as an older version wrote them: no capabilities
        for table in ("agents", "events"):
            for key, data in conn.execute(f"SELECT id, data FROM {table}").fetchall():
                value = json.loads(data)
                if "capabilities" in value:
                    del value["capabilities"]
                    conn.execute(f"UPDATE {table} SET data = ? WHERE id = ?",
                                 (json.dumps(value), key))
    srv = start_server(db)
    try:
        with srv.client() as c:
            assert _caps(c, "ag-rest") == CHANNEL
            assert _caps(c, "ag-otel") == []
    finally:
        srv.server.stop()


def test_killswitch_skips_sessions_whose_agent_cannot_be_killed(live: LiveServer) -> None:
    with live.client() as c:
        _ingest(c, agent("ag-1"), agent("ag-2", name="watcher", capabilities=["pause"]),
                started("se-1", "ag-1"), started("se-2", "ag-2"))
        r = c.post("/api/v1/killswitch", json={"confirm": "KILL ALL"})
        assert r.status_code == 202
        body = r.json()
        assert [cmd["session_id"] for cmd in body["commands"]] == ["se-1"]
        assert body["skipped"] == [{
            "session_id": "se-2", "agent_id": "ag-2",
            "reason": "agent watcher cannot kill: it registered as obeying only pause"}]
        [entry] = [e for e in c.get("/api/v1/audit").json()["entries"]
                   if e["action"] == "killswitch"]
        assert entry["payload"] == {"sessions": 1, "skipped": 1}
