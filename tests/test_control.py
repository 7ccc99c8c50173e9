"""Operator actions end to end with a real agent loop: command → ack → state → stream → audit."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx

from conftest import LiveServer, start_server
from factories import started
from sse import SseReader
from waiting import wait_for


def _poll_one(c: httpx.Client, agent_id: str = "ag-1") -> dict[str, Any]:
    r = c.get(f"/api/v1/agents/{agent_id}/commands", params={"wait": 5})
    assert r.status_code == 200, r.text
    [command] = r.json()["commands"]
    return command  # type: ignore[no-any-return]


def _status(c: httpx.Client, sid: str = "se-1") -> str:
    return str(c.get(f"/api/v1/sessions/{sid}").json()["status"])


def test_pause_resume_inject_kill_change_state_only_on_ack(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
        stream = SseReader(f"{live.url}/api/v1/stream",
                           {"Authorization": f"Bearer {live.token}"},
                           {"since": 1, "types": "command.created,command.updated,session.status,"
                            "session.ended,session.message"}).start()
        r = c.post("/api/v1/sessions/se-1/pause")
        assert r.status_code == 202 and r.json()["status"] == "pending"
        assert _status(c) == "running"  # not until the agent says so
        command = _poll_one(c)
        assert command["action"] == "pause" and command["status"] == "pending"
        snap = c.get("/api/v1/snapshot").json()
        assert snap["commands"][0]["status"] == "delivered"
        acked = c.post(f"/api/v1/commands/{command['id']}/ack", json={"ok": True}).json()
        assert acked["status"] == "acked" and _status(c) == "paused"
        again = c.post(f"/api/v1/commands/{command['id']}/ack", json={"ok": True})
        assert again.status_code == 409

        assert c.post("/api/v1/sessions/se-1/pause").status_code == 409  # already paused
        c.post("/api/v1/sessions/se-1/resume").raise_for_status()
        c.post(f"/api/v1/commands/{_poll_one(c)['id']}/ack", json={"ok": True}).raise_for_status()
        assert _status(c) == "running"
        assert c.post("/api/v1/sessions/se-1/resume").status_code == 409

        r = c.post("/api/v1/sessions/se-1/inject", json={"message": "use the v2 API"})
        r.raise_for_status()
        inj = _poll_one(c)
        assert inj["payload"] == {"message": "use the v2 API"}
        c.post(f"/api/v1/commands/{inj['id']}/ack", json={"ok": True}).raise_for_status()
        [msg] = c.get("/api/v1/sessions/se-1/messages").json()["messages"]
        assert (msg["role"], msg["content"]) == ("operator", "use the v2 API")

        c.post("/api/v1/sessions/se-1/kill").raise_for_status()
        c.post(f"/api/v1/commands/{_poll_one(c)['id']}/ack", json={"ok": True}).raise_for_status()
        assert _status(c) == "killed"
        for action in ("pause", "resume", "kill"):
            assert c.post(f"/api/v1/sessions/se-1/{action}").status_code == 409
        assert c.post("/api/v1/sessions/nope/pause").status_code == 404
        assert c.post("/api/v1/sessions/se-1/inject", json={}).status_code == 422

        frames = stream.wait_for(16)
        stream.stop()
    kinds = [(f.event, f.data.get("status") or f.data.get("role")) for f in frames]
    assert ("session.status", "paused") in kinds and ("session.ended", "killed") in kinds
    assert ("session.message", "operator") in kinds
    assert kinds.count(("command.updated", "acked")) == 4


def test_failed_ack_and_expiry(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "e.db", command_expiry_seconds=0.5)
    try:
        with srv.client() as c:
            c.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
            cmd = c.post("/api/v1/sessions/se-1/pause").json()
            failed = c.post(f"/api/v1/commands/{cmd['id']}/ack",
                            json={"ok": False, "detail": "mid-transaction"}).json()
            assert (failed["status"], failed["detail"]) == ("failed", "mid-transaction")
            assert _status(c) == "running"
            cmd = c.post("/api/v1/sessions/se-1/pause").json()
            wait_for(lambda: not c.get("/api/v1/snapshot").json()["commands"], 5,
                     what="the command to expire")
            late = c.post(f"/api/v1/commands/{cmd['id']}/ack", json={"ok": True})
            assert late.status_code == 409 and "expired" in late.json()["error"]["message"]
            assert _status(c) == "running"
            assert c.post("/api/v1/commands/cmd_nope/ack", json={"ok": True}).status_code == 404
    finally:
        srv.server.stop()


def test_command_stream_delivers_to_the_agent(live: LiveServer) -> None:
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [started(), started("se-2", "ag-2")]}
               ).raise_for_status()
        c.post("/api/v1/sessions/se-1/pause").raise_for_status()  # issued before it connects
        agent = SseReader(f"{live.url}/api/v1/agents/ag-1/commands",
                          {"Authorization": f"Bearer {live.token}"}).start()
        [first] = agent.wait_for(1)
        assert first.event == "command" and first.data["action"] == "pause"
        c.post("/api/v1/sessions/se-2/kill").raise_for_status()  # another agent's: not sent
        c.post("/api/v1/sessions/se-1/inject", json={"message": "hi"}).raise_for_status()
        frames = agent.wait_for(2)
        agent.stop()
        assert [f.data["action"] for f in frames] == ["pause", "inject"]
        assert c.get("/api/v1/agents/nope/commands", params={"wait": 0}).status_code == 404


def test_killswitch_and_audit_exports(live: LiveServer) -> None:
    operator = live.token_for("operator", name="olga")
    with live.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            started(f"se-{i}", f"ag-{i % 3}") for i in range(6)
        ]}).raise_for_status()
        assert c.post("/api/v1/killswitch", json={"confirm": "kill all"}).status_code == 422
        r = c.post("/api/v1/killswitch", json={"confirm": "KILL ALL"})
        assert r.status_code == 202 and len(r.json()["commands"]) == 6
        for agent_id in ("ag-0", "ag-1", "ag-2"):
            commands = c.get(f"/api/v1/agents/{agent_id}/commands", params={"wait": 1}).json()
            for command in commands["commands"]:
                c.post(f"/api/v1/commands/{command['id']}/ack", json={"ok": True})
        statuses = {s["status"] for s in c.get("/api/v1/sessions").json()["sessions"]}
        assert statuses == {"killed"}
    with live.client(operator) as c:
        assert c.post("/api/v1/sessions/se-1/pause").status_code == 409  # refused, audited
        entries = c.get("/api/v1/audit").json()["entries"]
        assert entries[0]["actor"] == "olga" and entries[0]["result"].startswith("rejected")
        assert entries[0]["address"] == "127.0.0.1"
        assert any(e["action"] == "killswitch" for e in entries)
        assert sum(e["action"] == "session.kill" for e in entries) == 6
        jsonl = c.get("/api/v1/audit", params={"format": "jsonl"}).text.splitlines()
        assert [json.loads(line)["id"] for line in jsonl] == [e["id"] for e in entries]
        rows = list(csv.DictReader(io.StringIO(c.get("/api/v1/audit?format=csv").text)))
        assert len(rows) == len(entries) and rows[0]["actor"] == "olga"
        only = c.get("/api/v1/audit", params={"actor": "olga"}).json()["entries"]
        assert len(only) == 1
        kills = c.get("/api/v1/audit", params={"action": "session.kill"}).json()["entries"]
        assert len(kills) == 6
        sessions = c.get("/api/v1/audit", params={"action": "session."}).json()["entries"]
        assert len(sessions) == 7  # six kills and the refused pause
        # a prefix is literal: its % and _ match only themselves
        for literal in ("sess_on.", "%.", "session%*"):
            found = c.get("/api/v1/audit", params={"action": literal}).json()["entries"]
            assert found == [], literal
        future = c.get("/api/v1/audit", params={"since": "2999-01-01T00:00:00Z"}).json()
        assert future["entries"] == []
        assert c.get("/api/v1/audit", params={"since": "yesterday"}).status_code == 422
        assert c.get("/api/v1/audit", params={"format": "xml"}).status_code == 422
