"""The derived tables are a checkpoint folded from the log: a crash between an
acknowledgement and the checkpoint, a group that rolls back, or a restart never loses an
acknowledged event's effect nor counts one twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_tui.server.embedded import make_token
from agentops_tui.server.store.checkpoint import INTERVAL_ENV
from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.writer import WriteContext

from factories import ended, message, started, tool, usage, writer_job
from waiting import wait_for

DERIVED = {
    "agents": "workspace, id",
    "sessions": "workspace, id",
    "approvals": "workspace, id",
    "commands": "workspace, id",
    "messages": "workspace, session_id, seq",
    "cost_rollup": "workspace, minute, agent_id, task_id, model",
    "cost_sessions": "workspace, session_id, model",
    "tool_rollup": "workspace, minute, tool, agent_id",
    "session_runs": "workspace, session_id",
}


def _tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY {key}").fetchall()
                for t, key in DERIVED.items()}


def _marker(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'state_through'")
                   .fetchone()[0])


def _commit(store: Store, *jobs: Any) -> list[Future[Any]]:
    """Run `jobs` as one group in the calling thread (the writer thread is not started)."""
    batch = [(job, Future()) for job in jobs]
    store.writer._commit_group(batch)  # type: ignore[arg-type]
    return [future for _, future in batch]


def _a_day(store: Store) -> None:
    _commit(store, writer_job(started(), message(content="a"), usage(), tool(), cost=1.25))
    _commit(store, writer_job(started("se-2", agent_id="ag-2"), usage("se-2", out=7), cost=0.5))
    _commit(store, writer_job(message(content="b"), tool(status="error", duration_ms=30),
                         ended(), usage("se-2"), cost=2.0))


def test_the_log_after_the_checkpoint_is_folded_on_open(tmp_path: Path) -> None:
    clean, crashed = tmp_path / "clean.db", tmp_path / "crashed.db"
    store = Store(clean, checkpoint_seconds=3600)
    try:
        _a_day(store)
        assert store.writer.checkpoint.pending
        assert _marker(clean) == 0 and _tables(clean)["sessions"] == []
        with sqlite3.connect(clean) as src, sqlite3.connect(crashed) as dst:
            src.backup(dst)  # what a crash leaves: the log, no checkpoint
    finally:
        store.close()  # a clean close writes the checkpoint
    assert _marker(clean) == 10
    Store(crashed).close()
    assert _marker(crashed) == 10
    assert _tables(crashed) == _tables(clean)
    costs = _tables(clean)["cost_rollup"]
    assert sum(r[5] for r in costs) == (1.25 + 0.5 + 2.0) * 10**10
    assert sum(r[10] for r in costs) == 3
    # reopening a checkpointed store folds nothing twice
    Store(clean).close()
    assert _tables(clean)["cost_rollup"] == costs


def test_a_rolled_back_group_leaves_the_committed_sums_exact(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "r.db"
    store = Store(db, checkpoint_seconds=3600)

    def fails(ctx: WriteContext) -> None:
        writer_job(usage(inp=5), cost=4.0)(ctx)
        raise ValueError("a bug one request hit")

    try:
        _commit(store, writer_job(started(), usage(), cost=1.0))
        assert store.rollups.pending.costs and _tables(db)["cost_rollup"] == []
        # one group: the good half commits, the failing half rolls back; memory is folded
        # again from the log, so the sums hold exactly the two committed usages
        good, bad = _commit(store, writer_job(usage(out=1), cost=2.0), fails)
        assert good.result() is None
        with pytest.raises(Exception, match="refused a value"):
            bad.result()
        session = store.with_fleet("default", lambda f: f.sessions["se-1"])
        assert session.cost_usd == 3.0
        assert session.input_tokens == 2000 and session.output_tokens == 101
        _commit(store, writer_job(usage(), cost=0.25))
        store.checkpoint_now()
        rows = _tables(db)["cost_rollup"]
        assert sum(r[5] for r in rows) == 3.25 * 10**10 and sum(r[10] for r in rows) == 3
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 4
    finally:
        store.close()
    again = Store(db)
    try:
        session = again.with_fleet("default", lambda f: f.sessions["se-1"])
        assert session.cost_usd == 3.25
    finally:
        again.close()
    assert sum(r[5] for r in _tables(db)["cost_rollup"]) == 3.25 * 10**10


def test_a_database_from_before_the_checkpoint_keeps_its_state(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = Store(db)
    try:
        _a_day(store)
    finally:
        store.close()
    before = _tables(db)
    with sqlite3.connect(db) as conn:  # the markers an older version left
        conn.execute("DELETE FROM meta WHERE key = 'state_through'")
        conn.execute("INSERT INTO meta (key, value) VALUES ('messages_through', '4')")
        conn.execute("DELETE FROM messages WHERE content = 'b'")
    Store(db).close()
    assert _tables(db) == before and _marker(db) == 10
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT 1 FROM meta WHERE key = 'messages_through'").fetchone() is None


def _serve(db: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentops_tui.cli", "serve", "--db", str(db),
         "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert proc.poll() is None, "the server exited"
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, 20, what="the server to start")
    return proc, url


def _state(c: httpx.Client, *, current: bool) -> dict[str, Any]:
    """What a console sees: the snapshot and messages (answered from memory and the rows
    not checkpointed yet); with `current`, also the sessions list and costs (which make the
    server write its checkpoint first)."""
    snap = c.get("/api/v1/snapshot").json()
    seen: dict[str, Any] = {
        "last_event_id": snap["last_event_id"],
        "agents": sorted(snap["agents"], key=lambda a: a["id"]),
        "sessions": sorted(snap["sessions"], key=lambda s: s["id"]),
        "messages": c.get("/api/v1/sessions/se-1/messages").json()["messages"],
    }
    if current:
        seen["listed"] = sorted(c.get("/api/v1/sessions").json()["sessions"],
                                key=lambda s: s["id"])
        seen["costs"] = c.get("/api/v1/costs", params={"group_by": "agent"}).json()
    return seen


@pytest.mark.integration
def test_a_kill_between_acknowledgement_and_checkpoint_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    token = make_token(db, "operator", "agent")
    headers = {"Authorization": f"Bearer {token}"}
    proc, url = _serve(db, {INTERVAL_ENV: "3600"})  # no checkpoint before the kill
    try:
        with httpx.Client(base_url=url, headers=headers) as c:
            batches = [
                [started(), message(content="one"), usage(), tool()],
                [started("se-2", agent_id="ag-2"), usage("se-2", inp=50_000, out=900),
                 message(content="two"), tool(status="error", duration_ms=12)],
                [ended("se-2", status="failed"), usage(out=3_000), message(content="three")],
            ]
            for events in batches:
                assert c.post("/api/v1/ingest", json={"events": events}).status_code == 202
            acknowledged = _state(c, current=False)
        assert _marker(db) < acknowledged["last_event_id"]  # the tables lag the log
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert _tables(db)["sessions"] == [] and _tables(db)["cost_rollup"] == []
        proc, url = _serve(db, {})
        with httpx.Client(base_url=url, headers=headers) as c:
            restarted = _state(c, current=True)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert [m["content"] for m in restarted["messages"]] == ["one", "two", "three"]
    for key in ("last_event_id", "agents", "sessions", "messages"):
        assert restarted[key] == acknowledged[key], key
    assert restarted["listed"] == acknowledged["sessions"]
    spent = sum(s["cost_usd"] for s in acknowledged["sessions"])
    assert spent > 0 and restarted["costs"]["total_usd"] == pytest.approx(spent, abs=1e-9)
    # costs and rollups are the same after one more clean restart
    proc, url = _serve(db, {})
    try:
        with httpx.Client(base_url=url, headers=headers) as c:
            again = _state(c, current=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert again == restarted


def test_caught_up_writes_the_pending_checkpoint(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    store = Store(db, checkpoint_seconds=3600)
    store.start()
    try:
        asyncio.run(store.write(writer_job(started(), usage(), message(content="m"), cost=1.5)))
        assert _tables(db)["cost_rollup"] == [] and _marker(db) == 0
        asyncio.run(store.caught_up())
        assert _marker(db) == store.last_event_id == 3
        assert sum(r[5] for r in _tables(db)["cost_rollup"]) == 1.5 * 10**10
        assert [r[4] for r in _tables(db)["messages"]] == ["m"]
        asyncio.run(store.caught_up())  # nothing pending: answered at once
    finally:
        store.close()


def test_many_waiting_events_are_checkpointed_without_waiting_for_the_interval(
    tmp_path: Path,
) -> None:
    db = tmp_path / "n.db"
    store = Store(db, checkpoint_seconds=3600)
    store.writer.checkpoint.max_pending = 5
    store.start()
    try:
        asyncio.run(store.write(writer_job(started(), usage(), tool(), cost=1.0)))
        assert _marker(db) == 0  # three events wait
        asyncio.run(store.write(writer_job(tool(), usage(), tool(), cost=1.0)))
        wait_for(lambda: _marker(db) == 6, 20, what="six waiting events to be checkpointed")
        assert sum(r[4] for r in _tables(db)["tool_rollup"]) == 3
    finally:
        store.close()
