"""The derived tables are a checkpoint folded from the log: a crash between an
acknowledgement and the checkpoint, a group that rolls back, or a restart never loses an
acknowledged event's effect nor counts one twice."""

from __future__ import annotations

import sqlite3
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.writer import WriteContext

from factories import ended, message, started, tool, usage

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


def _emit(*events: dict[str, Any], cost: float = 0.0) -> Any:
    def job(ctx: WriteContext) -> None:
        for event in events:
            data = dict(event)
            if data["type"] == "session.usage":
                data["cost_usd"] = cost
            if data["type"] == "session.message":
                data["seq"] = ctx.fleet("default").sessions["se-1"].messages + 1
            ctx.emit("default", data["type"], data)
    return job


def _commit(store: Store, *jobs: Any) -> list[Future[Any]]:
    """Run `jobs` as one group in the calling thread (the writer thread is not started)."""
    batch = [(job, Future()) for job in jobs]
    store.writer._commit_group(batch)  # type: ignore[arg-type]
    return [future for _, future in batch]


def _a_day(store: Store) -> None:
    _commit(store, _emit(started(), message(content="a"), usage(), tool(), cost=1.25))
    _commit(store, _emit(started("se-2", agent_id="ag-2"), usage("se-2", out=7), cost=0.5))
    _commit(store, _emit(message(content="b"), tool(status="error", duration_ms=30),
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
        _emit(usage(inp=5), cost=4.0)(ctx)
        raise ValueError("a bug one request hit")

    try:
        _commit(store, _emit(started(), usage(), cost=1.0))
        assert store.rollups.pending.costs and _tables(db)["cost_rollup"] == []
        # one group: the good half commits, the failing half rolls back; memory is folded
        # again from the log, so the sums hold exactly the two committed usages
        good, bad = _commit(store, _emit(usage(out=1), cost=2.0), fails)
        assert good.result() is None
        with pytest.raises(Exception, match="refused a value"):
            bad.result()
        session = store.session("default", "se-1")
        assert session is not None and session.cost_usd == 3.0
        assert session.input_tokens == 2000 and session.output_tokens == 101
        _commit(store, _emit(usage(), cost=0.25))
        store.checkpoint_now()
        rows = _tables(db)["cost_rollup"]
        assert sum(r[5] for r in rows) == 3.25 * 10**10 and sum(r[10] for r in rows) == 3
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 4
    finally:
        store.close()
    again = Store(db)
    try:
        session = again.session("default", "se-1")
        assert session is not None and session.cost_usd == 3.25
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
