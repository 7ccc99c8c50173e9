"""One backend per database file: a second is refused with the first one's address, and a
console's own backend leaves no usable token behind."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agentops_tui.server.app import create_app
from agentops_tui.server.context import ServerSettings
from agentops_tui.server.embedded import EmbeddedServer
from agentops_tui.server.store.db_lock import DatabaseInUse

from conftest import LiveServer, start_server


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTOPS_CONFIG_DIR": str(tmp_path / "config"),
           "AGENTOPS_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "agentops_tui.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def _tokens(db: Path) -> list[tuple[str, float | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT name, revoked_at FROM tokens ORDER BY created_at").fetchall()


def test_a_second_backend_in_this_process_is_refused_naming_the_first(
    live: LiveServer,
) -> None:
    with pytest.raises(DatabaseInUse) as refused:
        EmbeddedServer(ServerSettings(db_path=live.db)).start()
    message = str(refused.value)
    assert str(live.db) in message and live.url in message and f"pid {os.getpid()}" in message
    with pytest.raises(DatabaseInUse, match=live.url):
        create_app(ServerSettings(db_path=live.db))
    with live.client() as c:  # the first is unharmed
        assert c.get("/api/v1/snapshot").status_code == 200


def test_serve_and_tui_are_refused_while_a_server_holds_the_database(
    live: LiveServer, tmp_path: Path,
) -> None:
    before = _tokens(live.db)
    for command in (["serve", "--port", "0"], ["tui"]):
        done = _cli(tmp_path, *command, "--db", str(live.db))
        assert done.returncode == 2, done.stderr
        assert f"database {live.db} is in use" in done.stderr
        assert f"agentops tui --url {live.url}" in done.stderr
        assert "Traceback" not in done.stderr
    assert _tokens(live.db) == before  # the refused console made no token


def test_the_next_backend_starts_once_the_first_has_stopped(tmp_path: Path) -> None:
    db = tmp_path / "handover.db"
    first = start_server(db)
    first.server.stop()
    second = start_server(db)
    try:
        with second.client() as c:
            assert c.get("/api/v1/snapshot").status_code == 200
    finally:
        second.server.stop()


def test_a_backend_killed_outright_leaves_no_stale_lock(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    with subprocess.Popen([sys.executable, "-m", "agentops_tui.bench.serve", str(db)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and "url" in proc.stdout.readline()
            with pytest.raises(DatabaseInUse, match=f"pid {proc.pid}"):
                create_app(ServerSettings(db_path=db))
        finally:
            proc.kill()
    again = start_server(db)
    again.server.stop()


def test_an_embedded_servers_own_token_is_revoked_when_it_stops(tmp_path: Path) -> None:
    db = tmp_path / "own.db"
    server = EmbeddedServer(ServerSettings(db_path=db))
    url = server.start()
    token = server.issue_token("admin", "console")
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.get("/api/v1/snapshot").status_code == 200
    finally:
        server.stop()
    [(name, revoked_at)] = _tokens(db)
    assert name == "console" and revoked_at is not None


def test_the_consoles_embedded_backend_revokes_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agentops_tui import launch

    monkeypatch.setattr(launch, "log_to_file", lambda: None)  # keep pytest's log handlers
    db = tmp_path / "console.db"
    backend = launch.embedded_backend(db, "local")
    try:
        with httpx.Client(base_url=backend.url,
                          headers={"Authorization": f"Bearer {backend.token}"}) as c:
            assert c.get("/api/v1/snapshot").status_code == 200
    finally:
        backend.close()
    assert [(n, r is not None) for n, r in _tokens(db)] == [("console", True)]


def test_a_symlink_to_a_held_database_is_refused_too(live: LiveServer, tmp_path: Path) -> None:
    link = tmp_path / "another-name.db"
    link.symlink_to(live.db)
    with pytest.raises(DatabaseInUse, match=live.url):
        create_app(ServerSettings(db_path=link))
    with live.client() as c:  # the first still writes: no second writer took its ids
        assert c.post("/api/v1/ingest", json={"events": [
            {"type": "agent.registered", "agent_id": "after"}]}).status_code == 202
