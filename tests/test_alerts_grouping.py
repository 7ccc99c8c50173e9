"""Alerts worth reading, against a real server: per-session rules roll up to their agent, an
alert of a subject that ended resolves with the reason, its agent's alert covers a session's,
approvals of ended sessions expire, and a store from before grouping migrates. Time is the
evaluator's clock, moved by the test."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from agentops_tui.models import Approval, Session
from agentops_tui.server.store.migrations import SCHEMA_VERSION
from agentops_tui.server.store.sqlite_schema import open_database

from alerting import Clock, alert_server, alerts, open_alert, passes, resolved
from conftest import start_server
from factories import agent, ended, started, usage
from waiting import wait_for

# claude-sonnet-4 at $3 per million input tokens: $2.10 a report, over the $2 session warning
SPEND = 700_000


def _events(c: Any, types: str) -> list[dict[str, Any]]:
    return c.get("/api/v1/events", params={"after": 0, "types": types,  # type: ignore[no-any-return]
                                           "limit": 1000}).json()["events"]


def test_sessions_of_one_agent_roll_up_into_one_alert_that_counts_them(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [agent(), *(
            started(f"s{i}", ts=clock.t) for i in range(1, 6))]}).raise_for_status()
        c.post("/api/v1/ingest", json={"events": [usage("s1", inp=SPEND, out=0, ts=clock.t)]})
        first = open_alert(c, "runaway_cost", "s1", "warning")
        c.post("/api/v1/ingest", json={"events": [usage("s2", inp=SPEND, out=0, ts=clock.t)]})
        open_alert(c, "runaway_cost", "s2", "warning")
        passes(c)
        assert alerts(c, subject_type="agent") == []  # two sessions: each its own alert

        c.post("/api/v1/ingest", json={"events": [usage("s3", inp=SPEND, out=0, ts=clock.t)]})
        rollup = open_alert(c, "runaway_cost", "ag-1", "warning")
        assert rollup["rollup"] is True and rollup["subject_type"] == "agent"
        assert rollup["count"] == 3 and sorted(rollup["sessions"]) == ["s1", "s2", "s3"]
        assert rollup["message"].startswith("agent name-ag-1: 3 sessions fired in the last")
        gone = resolved(c, first["id"])
        assert gone["resolved_reason"] == f"rolled up into the agent's alert {rollup['id']}"
        passes(c)
        assert [a["subject_id"] for a in alerts(c, status="open")] == ["ag-1"]

        clock.advance(90)  # a fourth session joins the same alert; it says so at once
        c.post("/api/v1/ingest", json={"events": [usage("s4", inp=SPEND, out=0, ts=clock.t)]})
        grown = wait_for(lambda: next((a for a in alerts(c, status="open")
                                       if a["count"] == 4), None), what="a count of 4")
        assert grown["id"] == rollup["id"] and grown["first_seen"] == rollup["first_seen"]
        assert grown["last_seen"] == clock.t and "4 sessions" in grown["message"]
        refreshed = _events(c, "alert.refreshed")
        assert refreshed and refreshed[-1]["data"]["count"] == 4
        passes(c)
        assert [a["subject_id"] for a in alerts(c, status="open")] == ["ag-1"]

        c.post("/api/v1/ingest", json={"events": [  # every session ends: nothing fires
            ended(f"s{i}", ts=clock.t) for i in range(1, 6)]}).raise_for_status()
        done = resolved(c, rollup["id"])
        assert done["count"] == 4 and done["resolved_reason"] == "the condition cleared"


def test_an_alert_whose_session_ended_resolves_and_stays_quiet(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started("burn", ts=clock.t), started("quiet", ts=clock.t),
            usage("burn", inp=SPEND, out=0, ts=clock.t),
            {"type": "approval.requested", "approval_id": "ap-1", "session_id": "quiet",
             "summary": "deploy to prod?"},
        ]}).raise_for_status()
        cost = open_alert(c, "runaway_cost", "burn")
        c.post("/api/v1/ingest", json={"events": [  # it stops waiting, then says nothing
            {"type": "session.status", "session_id": "quiet", "status": "running"},
        ]}).raise_for_status()
        clock.advance(150)
        stuck = open_alert(c, "stuck_session", "quiet")

        c.post("/api/v1/ingest", json={"events": [
            ended("burn", ts=clock.t), ended("quiet", status="killed", ts=clock.t),
        ]}).raise_for_status()
        assert resolved(c, cost["id"])["resolved_reason"] == "the session completed"
        assert resolved(c, stuck["id"])["resolved_reason"] == "the session killed"
        passes(c)  # its $2.10 is still inside the 5-minute window, but nobody can act on it
        assert alerts(c, status="open,acked") == []
        assert c.get("/api/v1/snapshot").json()["alerts"] == []

        approval = c.get("/api/v1/approvals/ap-1").json()  # and it left Review
        assert approval["status"] == "expired"
        assert approval["note"] == "the session killed before a decision"
        assert c.get("/api/v1/approvals", params={"status": "pending"}).json()[
            "approvals"] == []


def test_an_agent_alert_speaks_for_its_sessions_of_the_same_rule(tmp_path: Path) -> None:
    clock = Clock()
    table = {"runaway_cost": {"agent": {"warning": 4}}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started("a", ts=clock.t), started("b", ts=clock.t),
            usage("a", inp=SPEND, out=0, ts=clock.t),
        ]}).raise_for_status()
        session_alert = open_alert(c, "runaway_cost", "a", "warning")
        c.post("/api/v1/ingest", json={"events": [usage("b", inp=SPEND, out=0, ts=clock.t)]})
        agent_alert = open_alert(c, "runaway_cost", "ag-1", "warning")  # $4.20 ≥ $4
        assert agent_alert["rollup"] is False
        gone = resolved(c, session_alert["id"])
        assert gone["resolved_reason"] == f"covered by the agent's alert {agent_alert['id']}"
        passes(c)
        assert [a["id"] for a in alerts(c, status="open")] == [agent_alert["id"]]

        # a session going critical is more than its agent's warning says: it is alerted
        c.post("/api/v1/ingest", json={"events": [
            usage("a", inp=3_000_000, out=0, ts=clock.t)]}).raise_for_status()  # $11.10
        again = open_alert(c, "runaway_cost", "a", "critical")
        assert again["id"] == session_alert["id"] and again["count"] == 2


def test_pending_approvals_of_sessions_that_ended_unseen_expire_at_start(tmp_path: Path) -> None:
    """A store written before approvals expired with their session."""
    db = tmp_path / "old.db"
    conn = open_database(db)
    try:
        done = Session(id="se-9", agent_id="ag-1", status="completed", started_at=1.0,
                       ended_at=2.0, last_activity=2.0)
        conn.execute("INSERT INTO sessions (workspace, id, agent_id, status, started_at,"
                     " last_activity, data) VALUES ('default', 'se-9', 'ag-1', 'completed',"
                     " 1.0, 2.0, ?)", (done.model_dump_json(),))
        ask = Approval(id="ap-9", session_id="se-9", summary="drop the table?", requested_at=1.5)
        conn.execute("INSERT INTO approvals (workspace, id, session_id, status, data)"
                     " VALUES ('default', 'ap-9', 'se-9', 'pending', ?)", (ask.model_dump_json(),))
    finally:
        conn.close()
    srv = start_server(db)
    try:
        with srv.client() as c:
            expired = wait_for(lambda: c.get("/api/v1/approvals/ap-9").json()["status"]
                               == "expired", what="the orphaned approval to expire")
            assert expired
            approval = c.get("/api/v1/approvals/ap-9").json()
            assert approval["note"] == "the session completed before a decision"
            assert all(a["status"] != "pending"
                       for a in c.get("/api/v1/snapshot").json()["approvals"])
    finally:
        srv.server.stop()


def test_a_store_from_before_grouping_migrates(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    old = sqlite3.connect(db)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE alerts (workspace TEXT NOT NULL, id TEXT NOT NULL, rule TEXT NOT NULL,"
        " subject_type TEXT NOT NULL, subject_id TEXT NOT NULL, severity TEXT NOT NULL,"
        " status TEXT NOT NULL, raised_at REAL NOT NULL, data TEXT NOT NULL,"
        " PRIMARY KEY (workspace, id)) WITHOUT ROWID;"
    )
    data = ('{"id": "alr_1", "rule": "stuck_session", "severity": "warning", "subject_type":'
            ' "session", "subject_id": "se-1", "message": "m", "value": 2.5, "threshold": 2.0,'
            ' "status": "resolved", "raised_at": 100.0, "updated_at": 160.0,'
            ' "resolved_at": 160.0}')
    old.execute("INSERT INTO alerts VALUES ('default', 'alr_1', 'stuck_session', 'session',"
                " 'se-1', 'warning', 'resolved', 100.0, ?)", (data,))
    old.commit()
    old.close()
    conn = open_database(db)
    try:
        assert conn.execute("SELECT count, last_seen FROM alerts").fetchall() == [(1, 100.0)]
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                            ).fetchone() == (str(SCHEMA_VERSION),)
    finally:
        conn.close()
    srv = start_server(db)
    try:
        with srv.client() as c:
            [alert] = alerts(c)
            assert (alert["count"], alert["first_seen"], alert["last_seen"],
                    alert["last_value"]) == (1, 100.0, 160.0, 2.5)
            assert alert["rollup"] is False and alert["resolved_reason"] is None
    finally:
        srv.server.stop()
