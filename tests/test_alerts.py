"""Alert rules against a real server: they fire on edges only (raise once, escalate the same
alert, resolve once, raise anew after clearing). Time is the evaluator's clock, moved by the
test, never slept through."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerting import (
    Clock,
    alert_events,
    alert_server,
    alerts,
    open_alert,
    passes,
    resolved,
)
from factories import agent, ended, message, started, usage


def test_stuck_session_raises_escalates_resolves_and_raises_again(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started(ts=clock.t, title="nightly export"), message(ts=clock.t),
        ]}).raise_for_status()
        passes(c)
        assert alerts(c) == []

        clock.advance(150)  # 2.5 min without activity: warning at 2
        warning = open_alert(c, "stuck_session", "se-1", "warning")
        assert (warning["subject_type"], warning["status"]) == ("session", "open")
        assert (warning["value"], warning["threshold"]) == (2.5, 2.0)
        assert warning["raised_at"] == clock.t and warning["resolved_at"] is None
        assert warning["message"].startswith(
            "session nightly export is running with no activity for 2.5 min")
        passes(c)
        assert alert_events(c) == [("alert.raised", "stuck_session", "se-1", "warning")]
        snap = c.get("/api/v1/snapshot").json()
        assert [a["id"] for a in snap["alerts"]] == [warning["id"]]

        clock.advance(600)  # 12.5 min: critical at 10, the same alert
        critical = open_alert(c, "stuck_session", "se-1", "critical")
        assert critical["id"] == warning["id"] and critical["threshold"] == 10.0
        assert critical["raised_at"] == warning["raised_at"]
        assert critical["updated_at"] == clock.t
        passes(c)

        c.post("/api/v1/ingest", json={"events": [message(ts=clock.t)]}).raise_for_status()
        done = resolved(c, warning["id"])
        assert done["status"] == "resolved" and done["resolved_at"] == clock.t
        assert done["resolved_reason"] == "the condition cleared"
        passes(c)
        assert c.get("/api/v1/snapshot").json()["alerts"] == []

        clock.advance(130)  # fires again within the repeat window: the same alert, counted
        again = open_alert(c, "stuck_session", "se-1", "warning")
        assert again["id"] == warning["id"] and again["count"] == 2
        assert (again["first_seen"], again["raised_at"]) == (warning["raised_at"], clock.t)
        assert again["resolved_at"] is None and again["resolved_reason"] is None
        passes(c)
        assert alert_events(c) == [
            ("alert.raised", "stuck_session", "se-1", "warning"),
            ("alert.updated", "stuck_session", "se-1", "critical"),
            ("alert.resolved", "stuck_session", "se-1", "critical"),
            ("alert.raised", "stuck_session", "se-1", "warning"),
        ]

        # waiting for a human is not stuck: the alert resolves
        c.post("/api/v1/ingest", json={"events": [
            {"type": "session.status", "session_id": "se-1", "status": "waiting", "ts": 0},
        ]}).raise_for_status()
        resolved(c, again["id"])


def test_runaway_cost_for_a_session_and_its_agent(tmp_path: Path) -> None:
    clock = Clock()
    table = {"runaway_cost": {"session": {"warning": 1, "critical": 5},
                              "agent": {"warning": 5, "critical": 25}}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started(ts=clock.t), started("se-2", ts=clock.t),
            usage(inp=1_000_000, out=0, ts=clock.t),  # $3 in this minute: warning at $1
        ]}).raise_for_status()
        warning = open_alert(c, "runaway_cost", "se-1", "warning")
        assert (warning["value"], warning["threshold"]) == (3.0, 1.0)
        assert warning["message"].startswith("session se-1 spent $3.00 in the last 5 min")
        passes(c)
        assert alerts(c, rule="runaway_cost", subject_type="agent") == []

        clock.advance(60)
        c.post("/api/v1/ingest", json={"events": [
            usage(inp=1_000_000, out=0, ts=clock.t),  # $6 within 5 min: critical at $5
            usage("se-2", inp=100_000, out=0, ts=clock.t),  # $0.30: below the session warning
        ]}).raise_for_status()
        critical = open_alert(c, "runaway_cost", "se-1", "critical")
        assert critical["id"] == warning["id"] and critical["value"] == 6.0
        agent_alert = open_alert(c, "runaway_cost", "ag-1", "warning")  # $6.30 ≥ $5
        assert agent_alert["subject_type"] == "agent" and agent_alert["value"] == 6.3
        passes(c)

        clock.advance(250)  # the first $3 leaves the 5-minute window: still $3 ≥ $1
        passes(c)
        assert open_alert(c, "runaway_cost", "se-1")["id"] == warning["id"]
        resolved(c, agent_alert["id"])  # the agent is down to $3.30 < $5

        clock.advance(61)  # all of it leaves the window
        resolved(c, warning["id"])
        passes(c)
        kinds = [e for e in alert_events(c) if e[1] == "runaway_cost"]
        assert kinds == [
            ("alert.raised", "runaway_cost", "se-1", "warning"),
            ("alert.updated", "runaway_cost", "se-1", "critical"),
            ("alert.raised", "runaway_cost", "ag-1", "warning"),
            ("alert.resolved", "runaway_cost", "ag-1", "warning"),
            ("alert.resolved", "runaway_cost", "se-1", "critical"),
        ]


def test_budgets_per_task_agent_and_workspace(tmp_path: Path) -> None:
    clock = Clock()
    table = {"budget": {"task": {"warning": 2, "critical": 4},
                        "agent": {"warning": 5, "critical": 100},
                        "workspace": {"warning": 6, "critical": 7}},
             "runaway_cost": {"session": {"enabled": False}, "agent": {"enabled": False}}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), agent("ag-2"), started(task_id="t-1", ts=clock.t),
            started("se-2", "ag-2", task_id="t-1", ts=clock.t),
            usage(inp=1_000_000, out=0, ts=clock.t),  # t-1 $3, ag-1 $3, workspace $3
        ]}).raise_for_status()
        task = open_alert(c, "budget_exceeded", "t-1", "warning")
        assert (task["subject_type"], task["value"], task["threshold"]) == ("task", 3.0, 2.0)
        c.post("/api/v1/ingest", json={"events": [
            usage("se-2", inp=1_000_000, out=0, ts=clock.t),  # t-1 $6; ag-2 $3
            usage(inp=1_000_000, out=0, ts=clock.t),  # ag-1 $6 ≥ 5; workspace $9 ≥ 7
        ]}).raise_for_status()
        assert open_alert(c, "budget_exceeded", "t-1", "critical")["id"] == task["id"]
        ag1 = open_alert(c, "budget_exceeded", "ag-1", "warning")
        assert ag1["value"] == 6.0 and "today" in ag1["message"]
        ws = open_alert(c, "budget_exceeded", "default", "critical")
        assert (ws["subject_type"], ws["value"]) == ("workspace", 9.0)
        passes(c)
        assert alerts(c, rule="budget_exceeded", subject_id="ag-2") == []

        # the next UTC day starts from zero: daily budgets clear, a task's total does not
        clock.advance(86400)
        resolved(c, ag1["id"])
        resolved(c, ws["id"])
        passes(c)
        assert open_alert(c, "budget_exceeded", "t-1")["id"] == task["id"]


def test_error_rate_and_success_rate_over_a_window(tmp_path: Path) -> None:
    clock = Clock()
    table = {"success_rate": {"warning": 0.8, "critical": 0.5, "min_sessions": 5},
             "error_rate": {"min_sessions": 5}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        events = [agent()]
        for i, status in enumerate(["failed", "completed", "failed", "completed"]):
            events += [started(f"r{i}", ts=clock.t), ended(f"r{i}", status=status, ts=clock.t)]
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
        passes(c)
        assert alerts(c) == []  # 4 sessions: below min_sessions = 5

        c.post("/api/v1/ingest", json={"events": [
            started("r4", ts=clock.t), ended("r4", status="failed", ts=clock.t),
        ]}).raise_for_status()
        errors = open_alert(c, "error_rate", "ag-1", "critical")  # 3/5 = 60% ≥ 50%
        assert (errors["value"], errors["threshold"]) == (0.6, 0.5)
        assert "3 of 5 sessions failed" in errors["message"]
        success = open_alert(c, "success_rate", "ag-1", "critical")  # 40% < 50%
        assert (success["value"], success["threshold"]) == (0.4, 0.5)

        events = []
        for i in range(5, 13):
            events += [started(f"r{i}", ts=clock.t), ended(f"r{i}", ts=clock.t)]
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
        resolved(c, errors["id"])  # 3/13 = 23% < 25%
        passes(c)  # 10/13 = 77% < 80%: still firing (a falling value does not de-escalate)
        assert open_alert(c, "success_rate", "ag-1", "critical")["id"] == success["id"]
        events = []
        for i in range(50, 53):
            events += [started(f"r{i}", ts=clock.t), ended(f"r{i}", ts=clock.t)]
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
        resolved(c, success["id"])  # 13/16 = 81% ≥ 80%

        # failures older than the window do not count
        clock.advance(16 * 60)
        events = []
        for i in range(13, 18):
            events += [started(f"r{i}", ts=clock.t), ended(f"r{i}", ts=clock.t)]
        c.post("/api/v1/ingest", json={"events": events}).raise_for_status()
        passes(c)
        assert alerts(c, status="open") == []


def test_too_many_active_sessions(tmp_path: Path) -> None:
    clock = Clock()
    table = {"too_many_sessions": {"agent": {"warning": 3, "critical": 5},
                                   "workspace": {"warning": 6, "critical": 50}}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), *[started(f"s{i}", ts=clock.t) for i in range(3)],
        ]}).raise_for_status()
        warning = open_alert(c, "too_many_sessions", "ag-1", "warning")
        c.post("/api/v1/ingest", json={"events": [
            *[started(f"s{i}", ts=clock.t) for i in range(3, 6)],
            *[started(f"b{i}", "ag-2", ts=clock.t) for i in range(2)],
        ]}).raise_for_status()
        assert open_alert(c, "too_many_sessions", "ag-1", "critical")["id"] == warning["id"]
        ws = open_alert(c, "too_many_sessions", "default", "warning")
        assert ws["value"] == 8
        c.post("/api/v1/ingest", json={"events": [
            ended(f"s{i}", ts=clock.t) for i in range(4)
        ]}).raise_for_status()
        resolved(c, warning["id"])
        resolved(c, ws["id"])


def test_disabled_rules_and_levels_stay_quiet(tmp_path: Path) -> None:
    clock = Clock()
    table = {"stuck_session": {"enabled": False},
             "runaway_cost": {"session": {"warning": False, "critical": 2.0}}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started(ts=clock.t), usage(inp=500_000, out=0, ts=clock.t),  # $1.50
        ]}).raise_for_status()
        clock.advance(3600)
        passes(c)
        assert alerts(c, status="open") == []


def test_default_thresholds_trip_a_fast_burner_and_a_stuck_session_within_a_minute_at_10x(
    tmp_path: Path,
) -> None:
    """What the demo needs: at `--speed 10` (time_scale 10) with the default thresholds, a
    session burning claude-opus-4-1 tokens and a silent session both alert within a real
    minute. The clock is stepped 3 s at a time; usage is stamped as it would be live."""
    clock = Clock()
    start = clock.t
    with alert_server(tmp_path, clock, {"time_scale": 10}) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started("burner", ts=clock.t), started("silent", ts=clock.t),
        ]}).raise_for_status()
        seen: dict[str, float] = {}
        while clock.t - start < 60 and len(seen) < 2:
            clock.advance(3)  # 30 simulated seconds
            c.post("/api/v1/ingest", json={"events": [
                # 20k in + 2k out on opus 4.1 = $0.45 per report, i.e. $0.90 a simulated minute
                usage("burner", inp=20_000, out=2_000, model="claude-opus-4-1", ts=clock.t),
            ]}).raise_for_status()
            passes(c, 2)
            for a in alerts(c, status="open"):
                seen.setdefault(a["rule"], clock.t - start)
        assert set(seen) == {"runaway_cost", "stuck_session"}, seen
        assert max(seen.values()) <= 60
        assert open_alert(c, "stuck_session", "silent")["severity"] == "warning"


def test_a_failing_rule_leaves_its_alerts_and_everything_else_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: one rule raising must not resolve its alerts, stop the other rules
    or fail the ingest batches that share its commit group."""
    from agentops_tui.server.alerts import engine as engine_module
    from agentops_tui.server.alerts import rules as alert_rules

    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [agent(), started(ts=clock.t)]})
        clock.advance(150)
        stuck = open_alert(c, "stuck_session", "se-1")

        def broken(ev: alert_rules.Evaluation) -> alert_rules.Readings:
            raise RuntimeError("bug in a rule")

        checks = tuple(
            alert_rules.Check(ch.rule, ch.subject_type, broken, ch.action)
            if ch.rule == "stuck_session" else ch
            for ch in alert_rules.CHECKS
        )
        monkeypatch.setattr(engine_module, "CHECKS", checks)
        r = c.post("/api/v1/ingest", json={"events": [
            message(ts=clock.t), usage(inp=1_000_000, out=0, ts=clock.t),
        ]})
        assert r.status_code == 202
        open_alert(c, "runaway_cost", "se-1")
        passes(c)
        assert open_alert(c, "stuck_session", "se-1")["id"] == stuck["id"]


def test_a_write_cancelled_before_it_runs_is_skipped_and_the_writer_lives_on(
    tmp_path: Path,
) -> None:
    """The evaluator's pending write is cancelled at shutdown; the writer must not die
    answering it (it skips the job) and must keep serving the others."""
    import threading

    from agentops_tui.server.store.sqlite import Store

    store = Store(tmp_path / "w.db")
    store.start()
    try:
        gate = threading.Event()
        ran: list[str] = []
        blocker = store.writer.submit(lambda ctx: gate.wait(5))
        cancelled = store.writer.submit(lambda ctx: ran.append("cancelled"))
        assert cancelled.cancel()
        gate.set()
        assert blocker.result(5) is True
        assert store.writer.submit(lambda ctx: ran.append("after") or 7).result(5) == 7
        assert ran == ["after"]
    finally:
        store.close()
