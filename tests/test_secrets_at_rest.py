"""Tokens and files: a revocation bites at the next request, the database is private to its
owner, no query-string token reaches the access log, and what is open tells nothing."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agentops_tui.server.auth import list_tokens, revoke_token
from agentops_tui.server.store.sqlite_schema import open_database

from conftest import LiveServer
from factories import agent, started


def test_a_revoked_token_is_refused_at_its_next_request(live: LiveServer) -> None:
    token = live.token_for("operator", name="soon-revoked")
    with live.client(token) as c:
        assert c.get("/api/v1/snapshot").status_code == 200
        conn = open_database(live.db)  # as `agentops token revoke` does, from outside
        try:
            [row] = [t for t in list_tokens(conn) if t["name"] == "soon-revoked"]
            assert revoke_token(conn, str(row["id"]))
        finally:
            conn.close()
        refused = c.post("/api/v1/ingest", json={"events": [agent("ag-late")]})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"


def test_the_database_and_its_wal_are_readable_by_their_owner_only(live: LiveServer) -> None:
    with live.client() as c:  # a commit, so the WAL and its index exist
        c.post("/api/v1/ingest", json={"events": [agent()]}).raise_for_status()
    files = [live.db, Path(f"{live.db}-wal"), Path(f"{live.db}-shm")]
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    assert modes == {f.name: 0o600 for f in files}
    assert stat.S_IMODE(Path(f"{live.db}.lock").stat().st_mode) == 0o600


def test_healthz_says_only_ok_and_metrics_keep_to_the_callers_workspace(
    live: LiveServer,
) -> None:
    red = live.token_for("operator", "red")
    blue = live.token_for("viewer", "blue")
    with live.client(red) as c:
        c.post("/api/v1/ingest", json={"events": [agent("ag-red"), started("se-red", "ag-red")]}
               ).raise_for_status()
        c.post("/api/v1/sessions/se-red/pause").raise_for_status()
    with httpx.Client(base_url=live.url) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        refused = anonymous.get("/metrics")
        assert refused.status_code == 401
    assert live.metric("agentops_last_event_id", red) >= 3
    assert live.metric("agentops_events_total", red) >= 3
    assert live.metric("agentops_commands_open", red) == 1
    with live.client(blue) as c:  # a viewer may read them; red's activity does not show
        text = c.get("/metrics").text
    assert 'agentops_last_event_id{workspace="blue"} 0.0' in text
    assert 'agentops_events_total{workspace="blue"} 0.0' in text
    assert 'workspace="red"' not in text
    assert re.search(r"^agentops_stream_clients 0.0$", text, re.MULTILINE)


def test_a_token_in_the_query_string_never_reaches_the_access_log(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    env = {**os.environ, "AGENTOPS_CONFIG_DIR": str(tmp_path / "config"),
           "AGENTOPS_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    secret = "aot_" + "s3cr3t" * 6
    pasted = "sk-ant-api03-" + "Zq9" * 12
    with subprocess.Popen(
        [sys.executable, "-m", "agentops_tui.cli", "serve", "--port", "0", "--db", str(db),
         "--access-log"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as proc:
        assert proc.stdout is not None
        try:
            url = _listening_url(proc.stdout)
            with httpx.Client(base_url=url) as c:
                assert c.get("/api/v1/stream", params={"token": secret}).status_code == 401
                c.get("/api/v1/events", params={"after": 0, "api_key": secret,
                                                "access_token": secret})
                # a secret pasted where an id goes is quoted by the request line
                c.get(f"/api/v1/sessions/{pasted}")
        finally:
            proc.send_signal(signal.SIGTERM)
        log = proc.stdout.read()
        proc.wait(timeout=20)
    assert '"GET /api/v1/stream?token=[REDACTED] HTTP/1.1" 401' in log
    assert "after=0&api_key=[REDACTED]&access_token=[REDACTED]" in log
    assert secret not in log
    assert pasted not in log and "/api/v1/sessions/[REDACTED:anthropic_key]" in log


def _listening_url(output: object) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = output.readline()  # type: ignore[attr-defined]
        found = re.search(r"running on (http://\S+)", line)
        if found:
            return found.group(1)
    raise AssertionError("the server did not say where it listens")
