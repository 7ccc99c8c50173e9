"""Alerts that act and alerts operators handle: budgets that pause real agents, acks,
expired commands, SLA breaches, and alerts that outlive a restart."""

from __future__ import annotations

from pathlib import Path

from agentops_tui.server.alerts.config import AlertSettings

from alerting import (
    AgentLoop,
    Clock,
    alert_events,
    alert_server,
    alerts,
    open_alert,
    passes,
    resolved,
    wait_for,
)
from conftest import start_server
from factories import agent, message, started, usage
from sse import SseReader


def _status(c: object, sid: str) -> str:
    return str(c.get(f"/api/v1/sessions/{sid}").json()["status"])  # type: ignore[attr-defined]


def test_budget_with_pause_action_pauses_a_real_agent(tmp_path: Path) -> None:
    clock = Clock()
    table = {
        "runaway_cost": {"session": {"warning": 1, "critical": 5, "action": "pause"}},
        "budget": {"agent": {"warning": 1, "critical": 8, "action": "pause"}},
    }
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started(ts=clock.t), started("se-2", ts=clock.t),
            started("se-3", "ag-other", ts=clock.t),
        ]}).raise_for_status()
        with AgentLoop(srv, "ag-1") as loop:
            c.post("/api/v1/ingest", json={"events": [
                usage(inp=2_000_000, out=0, ts=clock.t),  # se-1 $6 in 5 min: critical
            ]}).raise_for_status()
            alert = open_alert(c, "runaway_cost", "se-1", "critical")
            assert alert["message"].endswith("; pausing 1 session")
            wait_for(lambda: _status(c, "se-1") == "paused", what="se-1 paused")
            assert _status(c, "se-2") == "running" and _status(c, "se-3") == "running"
            [command] = loop.received
            assert command["action"] == "pause" and command["issued_by"] == "system"
            assert command["payload"]["alert_id"] == alert["id"]

            c.post("/api/v1/ingest", json={"events": [
                usage("se-2", inp=1_000_000, out=0, ts=clock.t),  # ag-1 $9 today: critical
            ]}).raise_for_status()
            budget = open_alert(c, "budget_exceeded", "ag-1", "critical")
            assert budget["message"].endswith("; pausing 1 session")  # se-1 already paused
            wait_for(lambda: _status(c, "se-2") == "paused", what="se-2 paused")
            assert _status(c, "se-3") == "running"
            passes(c)
            assert [cmd["session_id"] for cmd in loop.received] == ["se-1", "se-2"]

            # the operator resumes: the same critical alert does not pause it again
            c.post("/api/v1/sessions/se-2/resume").raise_for_status()
            wait_for(lambda: _status(c, "se-2") == "running", what="se-2 resumed")
            passes(c)
            assert _status(c, "se-2") == "running" and len(loop.received) == 3

        audit = c.get("/api/v1/audit", params={"actor": "system"}).json()["entries"]
        assert sorted((e["action"], e["target"], e["result"]) for e in audit) == [
            ("session.pause", "se-1", "accepted"), ("session.pause", "se-2", "accepted"),
        ]


def test_pause_action_only_on_critical(tmp_path: Path) -> None:
    clock = Clock()
    table = {"runaway_cost": {"session": {"warning": 1, "critical": 50, "action": "pause"}}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started(ts=clock.t), usage(inp=1_000_000, out=0, ts=clock.t),
        ]}).raise_for_status()
        open_alert(c, "runaway_cost", "se-1", "warning")
        passes(c)
        assert c.get("/api/v1/snapshot").json()["commands"] == []


def test_ack_is_audited_and_refused_when_resolved(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        viewer = srv.token_for("viewer")
        operator = srv.token_for("operator", name="alice")
        c.post("/api/v1/ingest", json={"events": [agent(), started(ts=clock.t)]})
        clock.advance(150)
        alert = open_alert(c, "stuck_session", "se-1", "warning")
        stream = SseReader(f"{srv.url}/api/v1/stream", {"Authorization": f"Bearer {viewer}"},
                           {"since": 0, "types": "alert.acked"}).start()
        try:
            with srv.client(viewer) as v:
                r = v.post(f"/api/v1/alerts/{alert['id']}/ack")
                assert r.status_code == 403
            with srv.client(operator) as o:
                assert o.post("/api/v1/alerts/alr_nope/ack").status_code == 404
                r = o.post(f"/api/v1/alerts/{alert['id']}/ack")
                assert r.status_code == 200, r.text
                acked = r.json()
                assert (acked["status"], acked["acked_by"]) == ("acked", "alice")
                assert acked["acked_at"] == clock.t
                again = o.post(f"/api/v1/alerts/{alert['id']}/ack")
                assert again.status_code == 409 and "alice" in again.json()["error"]["message"]
            [frame] = stream.wait_for(1)
            assert frame.event == "alert.acked" and frame.data["acked_by"] == "alice"
        finally:
            stream.stop()
        snap = c.get("/api/v1/snapshot").json()
        assert [(a["id"], a["status"]) for a in snap["alerts"]] == [(alert["id"], "acked")]
        passes(c)
        assert alerts(c, status="acked")[0]["id"] == alert["id"]

        # escalation re-opens an acked alert: the ack was for the warning
        clock.advance(600)
        critical = open_alert(c, "stuck_session", "se-1", "critical")
        assert (critical["id"], critical["status"], critical["acked_by"]) == (
            alert["id"], "open", None
        )
        c.post("/api/v1/ingest", json={"events": [message(ts=clock.t)]}).raise_for_status()
        resolved(c, alert["id"])
        with srv.client(operator) as o:
            late = o.post(f"/api/v1/alerts/{alert['id']}/ack")
        assert late.status_code == 409 and "resolved" in late.json()["error"]["message"]
        entries = c.get("/api/v1/audit", params={"action": "alert.ack"}).json()["entries"]
        results = sorted(e["result"].split(":")[0] for e in entries)
        assert results == ["accepted", "rejected", "rejected", "rejected", "rejected"]
        assert all(e["target"] for e in entries)
        # the viewer's try is audited too, though refused before the operation ran
        assert [e["actor"] for e in entries if e["actor"] != "alice"] == ["viewer-default"]


def test_alert_list_filters_and_bad_status(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started(ts=clock.t), started("se-2", ts=clock.t),
        ]}).raise_for_status()
        clock.advance(150)
        open_alert(c, "stuck_session", "se-1")
        open_alert(c, "stuck_session", "se-2")
        assert len(alerts(c, status="open")) == 2
        assert [a["subject_id"] for a in alerts(c, subject_id="se-2")] == ["se-2"]
        assert alerts(c, status="resolved") == []
        assert len(alerts(c, limit=1)) == 1
        r = c.get("/api/v1/alerts", params={"status": "open,closed"})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("status:")
        r = c.get("/api/v1/alerts", params={"subject_type": "planet"})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("subject_type:")
        engine = c.get("/api/v1/alerts/engine").json()
        assert engine["evaluations"] > 0 and engine["last_evaluation"] == clock.t
        assert engine["settings"]["stuck_session"] == {"enabled": True, "warning": 2.0,
                                                       "critical": 10.0}


def test_expired_commands_raise_and_an_answer_resolves(tmp_path: Path) -> None:
    clock = Clock()
    table = {"command_expired": {"warning": 1, "critical": 2}}
    with alert_server(tmp_path, clock, table, command_expiry_seconds=0.2) as srv, \
            srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [agent(), started(ts=clock.t)]})
        c.post("/api/v1/sessions/se-1/pause").raise_for_status()  # nobody listens
        warning = open_alert(c, "command_expired", "ag-1", "warning")
        assert warning["value"] == 1 and warning["subject_type"] == "agent"
        c.post("/api/v1/sessions/se-1/pause").raise_for_status()
        assert open_alert(c, "command_expired", "ag-1", "critical")["id"] == warning["id"]
        with AgentLoop(srv, "ag-1"):
            c.post("/api/v1/sessions/se-1/pause").raise_for_status()
            wait_for(lambda: _status(c, "se-1") == "paused", what="the agent to answer")
        resolved(c, warning["id"])


def test_sla_breach_escalates_and_resolves_when_the_task_finishes(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        deadline = clock.t - 12  # just missed: said in seconds, not as "0.2 min"

        def breach(ctx: object) -> None:
            ctx.emit("default", "sla.breached",  # type: ignore[attr-defined]
                     {"task_id": "task-9", "queue_id": "q-1", "deadline": deadline,
                      "title": "nightly report"})

        srv.server.run_job(breach)
        alert = open_alert(c, "sla_breached", "task-9", "warning")
        assert alert["subject_type"] == "task" and alert["value"] == 0.2
        assert alert["message"] == ("task nightly report missed its SLA deadline by 12 s"
                                    " (warning at 0 min)")
        clock.advance(30 * 60)
        assert open_alert(c, "sla_breached", "task-9", "critical")["id"] == alert["id"]

        def finish(ctx: object) -> None:
            ctx.emit("default", "task.updated",  # type: ignore[attr-defined]
                     {"id": "task-9", "queue_id": "q-1", "name": "nightly report",
                      "status": "complete"})

        srv.server.run_job(finish)
        resolved(c, alert["id"])


def test_open_alerts_survive_a_restart_without_being_raised_again(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent(), started(ts=clock.t), usage(inp=1_000_000, out=0, ts=clock.t),
        ]}).raise_for_status()
        stuck_clock_start = clock.t
        clock.advance(150)
        stuck = open_alert(c, "stuck_session", "se-1", "warning")
        spend = open_alert(c, "runaway_cost", "se-1", "warning")
    settings = AlertSettings(interval_seconds=0.05, clock=clock)
    srv = start_server(tmp_path / "alerts.db", heartbeat_seconds=1.0, alerts=settings)
    try:
        with srv.client() as c:
            passes(c)
            snap = c.get("/api/v1/snapshot").json()
            assert sorted(a["id"] for a in snap["alerts"]) == sorted([stuck["id"], spend["id"]])
            assert [e[0] for e in alert_events(c)] == ["alert.raised", "alert.raised"]
            clock.advance(500)  # the spend leaves the window; stuck for 10.8 min: critical
            resolved(c, spend["id"])
            critical = open_alert(c, "stuck_session", "se-1", "critical")
            assert critical["id"] == stuck["id"]
            assert critical["value"] == round((clock.t - stuck_clock_start) / 60, 3)
    finally:
        srv.server.stop()
