"""`agentops db copy` moves a SQLite installation into PostgreSQL: every table, verified by
counts; an interrupted copy continues where it stopped and copies nothing twice; the target
is not served until the copy has finished."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from agentops_tui.server.embedded import make_token
from agentops_tui.server.store.migrations import DatabaseUnusable
from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.writer import WriteContext

from postgres_cluster import Cluster
from waiting import wait_for

SESSIONS = 40
MESSAGES = 100  # per session


def _fill(ctx: WriteContext) -> None:
    ctx.emit("default", "agent.registered", {"agent_id": "ag-1", "name": "ag-1"})
    for s in range(SESSIONS):
        sid = f"se-{s}"
        ctx.emit("default", "session.started", {"session_id": sid, "agent_id": "ag-1"})
        for n in range(1, MESSAGES + 1):
            ctx.emit("default", "session.message", {
                "session_id": sid, "role": "assistant", "content": f"m{n}", "seq": n},
                event_key=f"{sid}-{n}")
        ctx.emit("default", "session.usage", {
            "session_id": sid, "model": "m", "input_tokens": 10, "output_tokens": 1,
            "cost_usd": 0.5})


@pytest.fixture
def installation(tmp_path: Path) -> tuple[Path, int]:
    """A SQLite installation with a token, a few thousand events and their tables."""
    db = tmp_path / "agentops.db"
    make_token(db, "admin", "ops")
    store = Store(db)
    store.start()
    store.writer.submit(_fill).result(60)
    head = store.last_event_id
    store.close()
    return db, head


def _copy(db: Path, target: str, *, batch_rows: int = 200) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "agentops_tui", "db", "copy", "--from", f"sqlite://{db}",
         "--to", target, "--batch-rows", str(batch_rows)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())


def test_copy_resumes_after_an_interruption_and_verifies_counts(
        installation: tuple[Path, int], postgres: Cluster) -> None:
    db, head = installation
    target = postgres.new_database()
    first = _copy(db, target)
    lines: list[str] = []

    def read() -> None:
        assert first.stdout is not None
        lines.extend(first.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_for(lambda: any(line.startswith("copied events: ") for line in lines), 60,
             what="the copy to be part-way through the log")
    first.kill()  # interrupted mid-table
    first.wait(timeout=10)
    reader.join(timeout=10)
    assert first.stdout is not None
    first.stdout.close()
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'copy_progress'").fetchone()
        part = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert 0 < part < head
    with pytest.raises(DatabaseUnusable, match="unfinished"):
        Store(target)

    second = _copy(db, target)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert "resuming the copy" in out
    assert "every table's row count matches" in out
    assert "DIFFERS" not in out
    with psycopg.connect(target) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM events ORDER BY id")]
        assert ids == list(range(1, head + 1))  # all of them, each once
        assert conn.execute("SELECT head FROM log_head").fetchone()[0] == head
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == SESSIONS * MESSAGES
        cost = conn.execute("SELECT total(cost_e10) FROM cost_rollup").fetchone()[0]
        assert cost == SESSIONS * 0.5 * 1e10
    store = Store(target)  # served from PostgreSQL now, carrying on from the same id
    try:
        store.start()
        assert store.last_event_id == head
        event = store.writer.submit(lambda ctx: ctx.emit(
            "default", "agent.heartbeat", {"agent_id": "ag-1"}).id).result(30)
        assert event == head + 1
    finally:
        store.close()
    token_rows = _agentops_list(target)
    assert "ops" in token_rows


def _agentops_list(target: str) -> str:
    done = subprocess.run([sys.executable, "-m", "agentops_tui", "token", "list", "--db", target],
                          capture_output=True, text=True, timeout=60, check=False)
    return done.stdout


def test_copy_refuses_a_target_that_holds_data(
        installation: tuple[Path, int], postgres: Cluster) -> None:
    db, _ = installation
    target = postgres.new_database()
    make_token(target, "admin", "already-here")
    done = _copy(db, target)
    out, _ = done.communicate(timeout=60)
    assert done.returncode == 2
    assert "already holds data" in out
