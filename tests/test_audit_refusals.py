"""The operator audit log keeps what was refused and how each command ended.

A request stopped at its token (401), its role (403) or its body (400, 422) never reaches the
operation, which audits itself; it is audited all the same, under the operation's name, with
the actor when the token is known. A command's end (acked, failed, expired) is an entry of
its own, so a pause that never took effect says so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_tui.server import auth

from conftest import LiveServer, start_server
from factories import agent, ended, started
from waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def quick(tmp_path: Path) -> Iterator[LiveServer]:
    """Commands expire half a second after they are issued."""
    srv = start_server(tmp_path / "agentops.db", heartbeat_seconds=1.0,
                       command_expiry_seconds=0.5)
    try:
        yield srv
    finally:
        srv.server.stop()


def _audit(live: LiveServer, token: str | None = None, **params: str) -> list[dict[str, Any]]:
    with live.client(token) as c:
        return list(c.get("/api/v1/audit", params=params).json()["entries"])


def _fleet(live: LiveServer, token: str | None = None) -> None:
    with live.client(token) as c:
        c.post("/api/v1/ingest", json={"events": [
            agent("ag-1"), started("se-1", "ag-1"), started("se-2", "ag-1")]}
        ).raise_for_status()


def test_refused_tries_are_audited_with_actor_target_and_reason(quick: LiveServer) -> None:
    live = quick
    _fleet(live)
    viewer = live.token_for("viewer", name="vera")
    operator = live.token_for("operator", name="olga")
    revoked = live.token_for("operator", name="gone")
    conn = sqlite3.connect(live.db)
    try:
        assert auth.revoke_token_value(conn, revoked)
    finally:
        conn.close()

    url = live.url
    assert httpx.post(f"{url}/api/v1/sessions/se-1/pause").status_code == 401
    assert httpx.post(f"{url}/agents/ag-1/pause",
                      headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
    with live.client(viewer) as c:
        assert c.post("/api/v1/sessions/se-1/kill").status_code == 403
        assert c.post("/work-queues", json={"name": "q"}).status_code == 403
    with live.client(operator) as c:
        assert c.post("/api/v1/sessions/se-1/inject", json={"text": "hi"}).status_code == 422
        assert c.post("/agents/ag-1/inject", content=b"{nope",
                      headers={"Content-Type": "application/json"}).status_code == 400
        assert c.post("/work-queues", json={"name": "q", "teamId": 7}).status_code == 422

    entries = {(e["actor"], e["action"]): e for e in _audit(live)
               if e["result"].startswith("rejected")}
    anonymous = entries[("unauthenticated", "session.pause")]
    assert anonymous["target"] == "se-1" and anonymous["address"] == "127.0.0.1"
    assert anonymous["payload"] == {"status": 401, "code": "unauthorized"}
    assert "missing Authorization" in anonymous["result"]
    gone = entries[("gone (revoked token)", "agent.pause")]
    assert gone["target"] == "ag-1" and gone["payload"]["status"] == 401
    kill = entries[("vera", "session.kill")]
    assert kill["target"] == "se-1" and "needs role operator" in kill["result"]
    assert entries[("vera", "queue.create")]["payload"]["code"] == "forbidden"
    inject = entries[("olga", "session.inject")]
    assert inject["payload"] == {"status": 422, "code": "invalid_request",
                                 "fields": ["message"]}
    assert entries[("olga", "agent.inject")]["payload"]["code"] == "malformed_json"
    assert entries[("olga", "queue.create")]["payload"]["fields"] == ["teamId"]
    assert not any(e["result"].startswith("accepted") for e in _audit(live, actor="olga"))


def test_what_is_not_an_operator_action_is_not_audited(quick: LiveServer) -> None:
    live = quick
    before = len(_audit(live))
    assert httpx.get(f"{live.url}/api/v1/sessions").status_code == 401  # a read
    assert httpx.post(f"{live.url}/api/v1/ingest", json={"events": []}).status_code == 401
    with live.client() as c:
        assert c.get("/agents/ag-9/messages", params={"limit": -1}).status_code == 422
    assert len(_audit(live)) == before


def test_a_refusal_is_audited_in_the_tokens_workspace(quick: LiveServer) -> None:
    viewer = quick.token_for("viewer", "other", name="vic")
    with quick.client(viewer) as c:
        assert c.post("/agents/kill-all").status_code == 403
    [entry] = [e for e in _audit(quick, quick.token_for("admin", "other"))
               if e["actor"] == "vic"]
    assert (entry["workspace"], entry["action"]) == ("other", "killswitch")
    assert all(e["actor"] != "vic" for e in _audit(quick))


def _outcome(live: LiveServer, command_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((e for e in _audit(live, action="command.")
                     if e["payload"]["command_id"] == command_id), None)

    return wait_for(find, what=f"the outcome of {command_id}")


def test_a_pause_that_expired_says_so(quick: LiveServer) -> None:
    live = quick
    _fleet(live)
    with live.client() as c:
        command = c.post("/api/v1/sessions/se-1/pause").json()
    entry = _outcome(live, command["id"])
    assert (entry["action"], entry["actor"], entry["target"]) == (
        "command.expired", "system", "se-1")
    assert entry["result"] == "pause expired: the agent did not acknowledge in time"
    assert entry["payload"]["action"] == "pause"
    assert entry["payload"]["issued_by"] == "test-admin"
    with live.client() as c:
        assert c.get("/api/v1/sessions/se-1").json()["status"] == "running"


def test_acked_failed_and_ended_first_are_recorded(live: LiveServer) -> None:
    _fleet(live)
    with live.client() as c:
        sent = c.post("/agents/ag-1/pause").json()["commands"]
        c.post(f"/api/v1/commands/{sent[0]['id']}/ack", json={"ok": True}).raise_for_status()
        c.post(f"/api/v1/commands/{sent[1]['id']}/ack",
               json={"ok": False, "detail": "mid-write; try later"}).raise_for_status()
        injected = c.post("/api/v1/sessions/se-1/inject", json={"message": "hi"}).json()
        c.post("/api/v1/ingest", json={"events": [ended("se-1")]}).raise_for_status()

    acked = _outcome(live, sent[0]["id"])
    assert (acked["action"], acked["actor"], acked["result"]) == (
        "command.acked", "agent:ag-1", "pause acked")
    failed = _outcome(live, sent[1]["id"])
    assert (failed["action"], failed["result"]) == (
        "command.failed", "pause failed: mid-write; try later")
    gone = _outcome(live, injected["id"])
    assert (gone["action"], gone["result"]) == (
        "command.expired", "inject expired: the session ended first")
    # the pause on the agent is one entry too, naming the sessions it reached
    [issued] = _audit(live, action="agent.pause")
    assert issued["payload"]["sessions"] == ["se-1", "se-2"]
