"""The demo's fleet against a real server with the default thresholds: after five simulated
minutes at most ten alerts are open, and each is one an operator would act on.

Time is accelerated as `agentops demo --speed` does it: the simulator lives `SPEED` simulated
seconds per real second (its sleeps, approval timeouts and task deadlines are divided by
it) and the alert rules read durations in fleet time (`time_scale = SPEED`), so windows,
stuck and SLA minutes keep their meaning. Spend is counted at the usage events' real
timestamps, so dollars per simulated minute are those of a real-time run.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.simulator import Simulator

from alerting import alerts, passes
from conftest import start_server

SPEED = 10.0
SIMULATED_MINUTES = 5
BURNER = "sim-reviewer-3"  # seed 7: the third agent burns claude-opus-4-1 tokens
STUCK = "sim-researcher-2-"  # the second one's first session goes silent


def test_the_demo_fleet_has_at_most_ten_open_alerts_after_five_simulated_minutes(
        tmp_path: Path) -> None:
    srv = start_server(tmp_path / "demo.db",
                       alerts=AlertSettings().with_time_scale(SPEED))
    sim = Simulator(srv.url, srv.token_for("operator"), agents=12, seed=7, speed=SPEED)
    try:
        sim.start_in_thread()
        try:
            # deliberate: what five simulated minutes of the fleet raise is the test
            time.sleep(SIMULATED_MINUTES * 60 / SPEED)
            with srv.client() as c:
                passes(c, 2)
                found = alerts(c, status="open,acked", limit=1000)
                snapshot = c.get("/api/v1/snapshot").json()
        finally:
            sim.stop()
    finally:
        srv.server.stop()

    said = [f"{a['severity']} {a['rule']}: {a['message']}" for a in found]
    assert len(found) <= 10, said
    # each one about something still there to act on
    sessions = {s["id"]: s for s in snapshot["sessions"]}
    agents = {a["id"]: a for a in snapshot["agents"]}
    for a in found:
        if a["subject_type"] == "session":
            assert sessions[a["subject_id"]]["status"] in ("running", "waiting", "paused"), a
        elif a["subject_type"] == "agent":
            assert agents[a["subject_id"]]["status"] != "offline", a
    # and the trouble the demo stages is among them: the burner, the silent session
    by_rule = Counter((a["rule"], a["subject_id"].startswith((BURNER, STUCK))) for a in found)
    assert by_rule[("runaway_cost", True)] == 1, said
    assert by_rule[("stuck_session", True)] == 1, said
    # nothing is raised per session any more where the agent's alert says it
    per_session = Counter((a["rule"], sessions[a["subject_id"]]["agent_id"])
                          for a in found if a["subject_type"] == "session")
    assert all(n < 3 for n in per_session.values()), said
