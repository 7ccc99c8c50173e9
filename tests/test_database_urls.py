"""`--db` and AGENTOPS_DB name a database: a path, sqlite:///path or postgresql://…; any other
scheme is refused with exit status 2 and nothing is created. `agentops db upgrade` creates or
upgrades a schema on either backend and refuses a newer one."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from agentops_tui.server.control import agent_views
from agentops_tui.server.store import migrations
from agentops_tui.server.store.backends import open_connection
from agentops_tui.server.store.database_url import UnsupportedDatabase, parse
from agentops_tui.server.store.migrations import SCHEMA_VERSION, DatabaseUnusable
from agentops_tui.server.store.sqlite import Store

from postgres_cluster import Cluster


def _agentops(*args: str, cwd: Path, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentops_tui", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=False)


def test_urls_name_files_and_databases(tmp_path: Path) -> None:
    assert parse("a/b.db").path == Path("a/b.db")
    assert parse("sqlite:///tmp/x.db").path == Path("/tmp/x.db")
    pg = parse("postgresql://u:secret@db.example/agentops")
    assert pg.is_postgres and pg.dsn == "postgresql://u:secret@db.example/agentops"
    assert "secret" not in pg.shown()
    assert parse("postgres:///agentops?host=/run/pg").is_postgres
    for bad in ("foo://x", "mysql://h/db", "sqlite://relative.db", "sqlite:////x"):
        with pytest.raises(UnsupportedDatabase):
            parse(bad)


@pytest.mark.parametrize("command", [
    ["serve", "--port", "0", "--db"],
    ["token", "create", "--role", "admin", "--db"],
    ["token", "list", "--db"],
    ["token", "revoke", "tok_x", "--db"],
    ["tui", "--db"],
    ["db", "upgrade", "--db"],
])
def test_an_unsupported_scheme_is_refused(tmp_path: Path, command: list[str]) -> None:
    done = _agentops(*command, "foo://x", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "unsupported database scheme 'foo'" in done.stderr
    assert "postgresql://" in done.stderr  # says what would do
    assert list(tmp_path.iterdir()) == []  # no `foo:` folder, no file


def test_agentops_db_names_the_database_too(tmp_path: Path) -> None:
    done = _agentops("token", "list", cwd=tmp_path, env={"AGENTOPS_DB": "redis://x"})
    assert done.returncode == 2 and "AGENTOPS_DB" in done.stderr
    db = tmp_path / "env.db"
    done = _agentops("token", "create", "--role", "viewer", cwd=tmp_path,
                     env={"AGENTOPS_DB": f"sqlite://{db}"})
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM tokens").fetchone()[0] == 1


def test_token_commands_take_a_postgresql_url(tmp_path: Path, postgres: Cluster) -> None:
    url = postgres.new_database()
    created = _agentops("token", "create", "--role", "operator", "--name", "ci", "--db", url,
                        cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    listed = _agentops("token", "list", "--db", url, cwd=tmp_path)
    assert "ci" in listed.stdout and "operator" in listed.stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_db_upgrade_creates_then_finds_nothing_to_do_and_refuses_newer(
        tmp_path: Path, request: pytest.FixtureRequest, backend: str) -> None:
    url = (str(tmp_path / "up.db") if backend == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    first = _agentops("db", "upgrade", "--db", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"created the schema (version {SCHEMA_VERSION})" in first.stdout
    again = _agentops("db", "upgrade", "--db", url, cwd=tmp_path)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    _set_version(url, backend, SCHEMA_VERSION + 1)
    newer = _agentops("db", "upgrade", "--db", url, cwd=tmp_path)
    assert newer.returncode == 2
    assert f"schema {SCHEMA_VERSION + 1} is newer than this agentops" in newer.stderr
    serve = _agentops("serve", "--port", "0", "--db", url, cwd=tmp_path)
    assert serve.returncode == 2 and "newer than this agentops" in serve.stderr
    with pytest.raises(DatabaseUnusable, match="newer"):
        Store(url)


def _set_version(url: str, backend: str, version: int) -> None:
    sql = f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'"
    if backend == "sqlite":
        with sqlite3.connect(url) as conn:
            conn.execute(sql)
    else:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_upgrade_runs_the_steps_from_the_recorded_version(
        tmp_path: Path, request: pytest.FixtureRequest, backend: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = (str(tmp_path / "steps.db") if backend == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    open_connection(url).close()  # at this version
    step = "ALTER TABLE agents ADD COLUMN team TEXT"
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(migrations.STEPS[backend], SCHEMA_VERSION + 1, step)
    conn = open_connection(url)
    try:
        conn.execute("SELECT team FROM agents")  # the step ran
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert int(version[0]) == SCHEMA_VERSION + 1
    finally:
        conn.close()
    open_connection(url).close()  # and never runs twice


def test_a_schema_1_postgresql_database_gets_the_alert_columns(postgres: Cluster) -> None:
    url = postgres.new_database()
    open_connection(url).close()
    with psycopg.connect(url, autocommit=True) as conn:  # as schema 1 left it
        conn.execute("INSERT INTO alerts (workspace, id, rule, subject_type, subject_id,"
                     " severity, status, raised_at, data) VALUES ('default', 'al-1', 'r',"
                     " 'agent', 'ag-1', 'warning', 'open', 1000.0, '{}')")
        conn.execute("ALTER TABLE alerts DROP COLUMN count, DROP COLUMN last_seen")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    open_connection(url).close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count, last_seen FROM alerts").fetchone() == (1, 1000.0)
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert version[0] == str(SCHEMA_VERSION)


def _index_names(conn: Any, backend: str) -> set[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'sessions'"
           if backend == "sqlite" else
           "SELECT indexname FROM pg_indexes WHERE tablename = 'sessions'")
    return {str(r[0]) for r in conn.execute(sql).fetchall()}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_schema_2_database_upgrades_to_3_with_its_data(
        tmp_path: Path, request: pytest.FixtureRequest, backend: str) -> None:
    """Schema 3 adds the index of each agent's sessions (`sessions_agent`); the rows stay."""
    url = (str(tmp_path / "v2.db") if backend == "sqlite"
           else request.getfixturevalue("postgres").new_database())
    conn = open_connection(url)
    try:  # as schema 2 left it: the tables and their rows, no sessions_agent
        for n, agent in enumerate(("ag-1", "ag-2", "ag-1")):
            conn.execute("INSERT INTO sessions (workspace, id, agent_id, status, started_at,"
                         " last_activity, data) VALUES ('default', ?, ?, 'ended', ?, ?, '{}')",
                         (f"se-{n}", agent, 100.0 + n, 100.0 + n))
            conn.execute("INSERT INTO messages (workspace, session_id, seq, role, content, ts)"
                         " VALUES ('default', ?, 1, 'user', ?, ?)", (f"se-{n}", f"m{n}", 200.0 + n))
        conn.execute("INSERT INTO audit (ts, workspace, actor, action, result)"
                     " VALUES (300.0, 'default', 'ops', 'session.pause', 'accepted')")
        conn.execute("DROP INDEX sessions_agent")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        assert "sessions_agent" not in _index_names(conn, backend)
    finally:
        conn.close()
    upgrade = _agentops("db", "upgrade", "--db", url, cwd=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"from schema 2 to {SCHEMA_VERSION}" in upgrade.stdout
    conn = open_connection(url)
    try:
        assert "sessions_agent" in _index_names(conn, backend)
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert int(version[0]) == SCHEMA_VERSION == 3
        page, total = agent_views.message_page(conn, "default", "ag-1", 0, 10)
        assert total == 2 and [m["content"] for m in page] == ["m0", "m2"]
        assert conn.execute("SELECT actor, action, ts FROM audit").fetchall() == [
            ("ops", "session.pause", 300.0)]
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 3
    finally:
        conn.close()


def test_sqlite_reads_an_agents_messages_by_its_sessions(tmp_path: Path) -> None:
    """SQLite keeps no statistics, so the query's shape decides its plan: the agent's
    sessions by `sessions_agent`, then each one's messages by key, never every message of
    the workspace."""
    conn = open_connection(str(tmp_path / "plan.db"))
    try:
        sql = ("SELECT m.session_id, m.seq, m.role, m.content, m.ts"
               + agent_views._AGENT_MESSAGES + " ORDER BY m.ts, m.session_id, m.seq LIMIT 50")
        plan = [str(r[-1]) for r in conn.execute(
            "EXPLAIN QUERY PLAN " + sql, ("default", "ag-1")).fetchall()]
    finally:
        conn.close()
    assert any("sessions_agent (workspace=? AND agent_id=?)" in step for step in plan), plan
    assert any("PRIMARY KEY (workspace=? AND session_id=?)" in step for step in plan), plan
