"""Tokens, roles and workspaces: every query is scoped to the caller's workspace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import LiveServer, start_server
from factories import agent, started


def test_missing_wrong_and_malformed_tokens_are_401(live: LiveServer) -> None:
    import httpx

    with httpx.Client(base_url=live.url) as c:
        assert c.get("/healthz").status_code == 200  # the one open endpoint
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic xyz"},
                        {"Authorization": "Bearer"}):
            r = c.get("/api/v1/snapshot", headers=headers)
            assert r.status_code == 401, headers
            assert r.json()["error"]["code"] == "unauthorized"


def test_roles(live: LiveServer) -> None:
    viewer = live.token_for("viewer")
    operator = live.token_for("operator")
    with live.client() as admin:
        admin.post("/api/v1/ingest", json={"events": [started()]}).raise_for_status()
    with live.client(viewer) as c:
        assert c.get("/api/v1/snapshot").status_code == 200
        assert c.get("/api/v1/sessions").status_code == 200
        r = c.post("/api/v1/ingest", json={"events": [started("se-2")]})
        assert r.status_code == 403 and "operator" in r.json()["error"]["message"]
        assert c.post("/api/v1/sessions/se-1/pause").status_code == 403
    with live.client(operator) as c:
        assert c.post("/api/v1/sessions/se-1/pause").status_code == 202
        r = c.post("/api/v1/killswitch", json={"confirm": "KILL ALL"})
        assert r.status_code == 403


def test_workspaces_are_isolated(live: LiveServer) -> None:
    red = live.token_for("operator", "red")
    blue = live.token_for("operator", "blue")
    with live.client(red) as c:
        c.post("/api/v1/ingest", json={"events": [agent("ag-red"), started("se-red", "ag-red")]}
               ).raise_for_status()
    with live.client(blue) as c:
        c.post("/api/v1/ingest", json={"events": [agent("ag-blue")]}).raise_for_status()
        snap = c.get("/api/v1/snapshot").json()
        assert [a["id"] for a in snap["agents"]] == ["ag-blue"] and snap["sessions"] == []
        assert c.get("/api/v1/sessions/se-red").status_code == 404
        assert c.get("/api/v1/agents/ag-red").status_code == 404
        assert c.post("/api/v1/sessions/se-red/kill").status_code == 404
        assert c.get("/api/v1/events?after=0").json()["events"][0]["data"]["agent_id"] == "ag-blue"
        assert c.get("/api/v1/sessions").json()["sessions"] == []
        # messages for another workspace's session are refused, not mixed in
        r = c.post("/api/v1/ingest", json={"events": [
            {"type": "session.message", "session_id": "se-red", "content": "x"}]})
        assert r.status_code == 422
    with live.client(red) as c:
        assert [s["id"] for s in c.get("/api/v1/sessions").json()["sessions"]] == ["se-red"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentops_tui.cli", *args],
                          capture_output=True, text=True, timeout=60)


def test_token_create_prints_token_on_last_line(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    out = _cli("token", "create", "--role", "viewer", "--db", str(db), "--name", "ci")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("aot_") and len(token) > 30
    listing = _cli("token", "list", "--db", str(db))
    assert "ci" in listing.stdout and token not in listing.stdout  # only the hash is stored
    bad = _cli("token", "create", "--role", "root", "--db", str(db))
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_serve_refuses_public_bind_without_auth(tmp_path: Path) -> None:
    out = _cli("serve", "--no-auth", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db"))
    assert out.returncode == 2
    assert "refusing" in out.stderr and "Traceback" not in out.stderr


def test_token_changes_are_audited(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "a.db"
    assert _cli("token", "create", "--role", "operator", "--db", str(db),
                "--name", "bot").returncode == 0
    _, row = _cli("token", "list", "--db", str(db)).stdout.splitlines()  # a header, one token
    token_id = row.split()[0]
    assert _cli("token", "revoke", token_id, "--db", str(db)).returncode == 0
    assert _cli("token", "revoke", token_id, "--db", str(db)).returncode == 1
    rows = sqlite3.connect(db).execute(
        "SELECT action, target, actor FROM audit ORDER BY id").fetchall()
    assert [(a, t) for a, t, _ in rows] == [("token.create", token_id),
                                            ("token.revoke", token_id)]
    assert rows[0][2].startswith("cli:")


def test_whoami_names_the_token_role_and_workspace(live: LiveServer) -> None:
    import httpx

    for role in ("viewer", "operator", "admin"):
        token = live.token_for(role, "red", name=f"{role} on call")
        with live.client(token) as c:
            r = c.get("/api/v1/whoami")
        assert r.status_code == 200, r.text
        assert r.json() == {"name": f"{role} on call", "role": role, "workspace": "red"}
    with httpx.Client(base_url=live.url) as c:
        r = c.get("/api/v1/whoami", headers={"Authorization": "Bearer aot_unknown"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert c.get("/api/v1/whoami").status_code == 401


def test_whoami_without_auth_is_the_local_admin(tmp_path: Path) -> None:
    import httpx

    srv = start_server(tmp_path / "open.db", auth=False)
    try:
        with httpx.Client(base_url=srv.url) as c:
            r = c.get("/api/v1/whoami")
        assert r.status_code == 200
        assert r.json() == {"name": "local", "role": "admin", "workspace": "default"}
    finally:
        srv.server.stop()
