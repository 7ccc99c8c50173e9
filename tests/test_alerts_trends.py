"""The rules that compare the fleet with its own past and its size — runs slower than the
agent's baseline, model-call latency, token budgets, active agents — against a real server on
a real SQLite file, fed real events; time is the evaluator's clock, moved by the test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from agentops_tui.server.alerts.config import AlertConfigError, parse_alert_settings

from alerting import Clock, alert_events, alert_server, alerts, open_alert, passes, resolved
from factories import agent, ended, started, usage

pytestmark = pytest.mark.integration  # real servers

SLOW = {"slow_runs": {"warning": 2, "critical": 4, "window_minutes": 10,
                      "baseline_minutes": 60, "min_sessions": 2, "min_baseline_sessions": 3}}


def _ingest(c: httpx.Client, *events: dict[str, Any]) -> None:
    r = c.post("/api/v1/ingest", json={"events": list(events)})
    assert r.status_code == 202, r.text


def _runs(agent_id: str, prefix: str, ends: list[float], length: float,
          status: str = "completed") -> list[dict[str, Any]]:
    """One finished run of `length` seconds ending at each of `ends`."""
    out: list[dict[str, Any]] = []
    for i, end in enumerate(ends):
        sid = f"{prefix}-{i}"
        out += [started(sid, agent_id, ts=end - length), ended(sid, status, ts=end)]
    return out


def _baseline(clock: Clock, agent_id: str, length: float = 60.0) -> list[dict[str, Any]]:
    """Three runs of `length` seconds that ended 20 to 40 minutes ago: the agent's usual."""
    return _runs(agent_id, f"base-{agent_id}", [clock.t - 2400, clock.t - 1800, clock.t - 1200],
                 length)


def test_runs_slower_than_the_agents_own_baseline(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock, SLOW) as srv, srv.client() as c:
        _ingest(c, agent("ag-1"), agent("ag-2"), agent("ag-3"),
                *_baseline(clock, "ag-1"), *_baseline(clock, "ag-2", 600.0))
        # ag-1: two runs of 150 s in the window, 2.5 times its usual 60 s
        _ingest(c, *_runs("ag-1", "slow", [clock.t - 120, clock.t - 60], 150.0))
        # ag-2: the same 150 s is quicker than its usual 10 minutes
        _ingest(c, *_runs("ag-2", "quick", [clock.t - 120, clock.t - 60], 150.0))
        # ag-3: slow, but with no baseline to compare with
        _ingest(c, *_runs("ag-3", "new", [clock.t - 120, clock.t - 60], 900.0))
        warning = open_alert(c, "slow_runs", "ag-1", "warning")
        assert (warning["subject_type"], warning["value"], warning["threshold"]) == (
            "agent", 2.5, 2.0)
        assert warning["message"] == (
            "agent name-ag-1: its 2 runs of the last 10 min took 2.5 min on average, 2.5× its"
            " usual 1.0 min (warning at 2×)")
        passes(c)
        assert [(a["rule"], a["subject_id"]) for a in alerts(c)] == [("slow_runs", "ag-1")]

        # a killed run's length is not the agent's pace; two more slow runs escalate
        _ingest(c, *_runs("ag-1", "killed", [clock.t - 30], 5000.0, "killed"),
                *_runs("ag-1", "slower", [clock.t - 20, clock.t - 10], 570.0))
        critical = open_alert(c, "slow_runs", "ag-1", "critical")
        assert critical["id"] == warning["id"] and critical["value"] == 6.0  # 360 s / 60 s

        # the slow runs leave the window (and join the baseline): nothing recent to compare
        clock.advance(601)
        resolved(c, warning["id"])
        passes(c)
        assert [e for e in alert_events(c) if e[1] == "slow_runs"] == [
            ("alert.raised", "slow_runs", "ag-1", "warning"),
            ("alert.updated", "slow_runs", "ag-1", "critical"),
            ("alert.resolved", "slow_runs", "ag-1", "critical"),
        ]


def test_the_baseline_is_rebuilt_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock, SLOW) as srv, srv.client() as c:
        _ingest(c, agent("ag-1"), *_baseline(clock, "ag-1"),
                *_runs("ag-1", "slow", [clock.t - 120, clock.t - 60], 150.0))
        first = open_alert(c, "slow_runs", "ag-1", "warning")
    with alert_server(tmp_path, clock, SLOW) as srv, srv.client() as c:
        passes(c)  # rebuilt from the finished runs on disk: still firing, the same alert
        assert open_alert(c, "slow_runs", "ag-1")["id"] == first["id"]
        _ingest(c, *_runs("ag-1", "slower", [clock.t - 20, clock.t - 10], 570.0))
        assert open_alert(c, "slow_runs", "ag-1", "critical")["id"] == first["id"]


LATENCY = {"api_latency": {"warning": 1000, "critical": 5000, "window_minutes": 5,
                           "min_calls": 2}}


def test_model_calls_slower_than_the_latency_threshold(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock, LATENCY) as srv, srv.client() as c:
        _ingest(c, agent("ag-1"), agent("ag-2"), agent("ag-3"),
                started("se-1", "ag-1", ts=clock.t), started("se-2", "ag-2", ts=clock.t),
                started("se-3", "ag-3", ts=clock.t),
                usage("se-1", latency_ms=1500, ts=clock.t),
                usage("se-1", latency_ms=2500, ts=clock.t),
                usage("se-1", ts=clock.t),  # no latency reported: not counted
                usage("se-2", latency_ms=400, ts=clock.t),  # quick
                usage("se-2", latency_ms=900, ts=clock.t),
                usage("se-3", latency_ms=9000, ts=clock.t))  # one call: too few to judge
        warning = open_alert(c, "api_latency", "ag-1", "warning")
        assert (warning["value"], warning["threshold"]) == (2000.0, 1000.0)
        assert warning["message"] == (
            "agent name-ag-1: model calls took 2 s on average (2 calls in the last 5 min)"
            " (warning at 1,000 ms)")
        passes(c)
        assert [a["subject_id"] for a in alerts(c, rule="api_latency")] == ["ag-1"]
        stored = c.get("/api/v1/events", params={"types": "session.usage"}).json()["events"]
        assert [e["data"]["latency_ms"] for e in stored][:3] == [1500.0, 2500.0, None]

        clock.advance(60)
        _ingest(c, usage("se-1", latency_ms=20_000, ts=clock.t))  # mean 8 s
        assert open_alert(c, "api_latency", "ag-1", "critical")["id"] == warning["id"]

        clock.advance(301)  # every call leaves the window
        resolved(c, warning["id"])


def test_latency_is_recorded_from_model_call_spans(tmp_path: Path) -> None:
    from test_otlp import AGENT, chat, export, post, span

    clock = Clock()
    with alert_server(tmp_path, clock, LATENCY) as srv, srv.client() as c:
        t0 = clock.t - 10
        body = export(span("a000000000000001", "invoke_agent writer", start=t0, end=t0 + 9,
                           **AGENT),
                      chat("c000000000000001", "a000000000000001", start=t0, end=t0 + 2.5),
                      chat("c000000000000002", "a000000000000001", start=t0 + 3, end=t0 + 8))
        assert post(c, body).status_code == 200
        usages = c.get("/api/v1/events", params={"types": "session.usage"}).json()["events"]
        assert [round(e["data"]["latency_ms"]) for e in usages] == [2500, 5000]
        slow = open_alert(c, "api_latency", "svc:writer", "warning")
        assert slow["value"] == pytest.approx(3750, abs=1)


TOKENS = {"budget_tokens": {"task": {"warning": 1000, "critical": 5000},
                           "agent": {"warning": 3000},
                           "workspace": {"warning": 100_000, "critical": 200_000}}}


def test_token_budgets_for_a_task_an_agent_and_the_workspace(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock, TOKENS) as srv, srv.client() as c:
        _ingest(c, agent("ag-1"), agent("ag-2"),
                started("se-1", "ag-1", task_id="t-1", ts=clock.t),
                started("se-2", "ag-2", task_id="t-2", ts=clock.t),
                usage("se-1", inp=900, out=200, ts=clock.t),  # 1,100: over the task's 1,000
                # cache reads do not count unless `count` says so
                usage("se-2", inp=100, out=100, cache_read_tokens=50_000, ts=clock.t))
        task = open_alert(c, "budget_tokens", "t-1", "warning")
        assert (task["subject_type"], task["value"], task["threshold"]) == (
            "task", 1100.0, 1000.0)
        assert task["message"] == (
            "task t-1 has used 1,100 input + output tokens (warning at 1,000 tokens)")
        passes(c)
        firing = {(a["subject_type"], a["subject_id"]) for a in alerts(c, rule="budget_tokens")}
        assert firing == {("task", "t-1")}  # ag-1 has 1,100 of its 3,000; t-2 has 200

        _ingest(c, usage("se-1", inp=2000, out=0, ts=clock.t))  # 3,100 for t-1 and ag-1
        me = open_alert(c, "budget_tokens", "ag-1", "warning")
        assert me["message"].startswith("agent name-ag-1 used 3,100 input + output tokens today")
        assert alerts(c, rule="budget_exceeded") == []  # the USD budgets are another rule

        clock.advance(86400)  # a new UTC day: the agent's count starts again
        resolved(c, me["id"])
        assert open_alert(c, "budget_tokens", "t-1")["id"] == task["id"]  # a task's is for life


def test_a_task_budget_tokens_counts_what_was_stored_before_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    table = {"budget_tokens": {"count": ["input", "output", "cache_read"],
                              "task": {"warning": 1000, "critical": 5000}}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        _ingest(c, agent("ag-1"), started("se-1", "ag-1", task_id="t-1", ts=clock.t),
                usage("se-1", inp=100, out=100, cache_read_tokens=3000, ts=clock.t))
        first = open_alert(c, "budget_tokens", "t-1", "warning")
        assert first["value"] == 3200 and "input + output + cache read tokens" in first["message"]
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        _ingest(c, usage("se-1", inp=2000, out=0, ts=clock.t))  # 5,200: critical
        critical = open_alert(c, "budget_tokens", "t-1", "critical")
        assert critical["id"] == first["id"] and critical["value"] == 5200


def test_too_many_active_agents(tmp_path: Path) -> None:
    clock = Clock()
    table = {"too_many_agents": {"warning": 2, "critical": 3}}
    with alert_server(tmp_path, clock, table) as srv, srv.client() as c:
        # one agent with many sessions is one active agent
        _ingest(c, *(started(f"se-{i}", "ag-1", ts=clock.t) for i in range(5)))
        passes(c)
        assert alerts(c, rule="too_many_agents") == []
        _ingest(c, started("se-b", "ag-2", ts=clock.t))
        warning = open_alert(c, "too_many_agents", "default", "warning")
        assert (warning["subject_type"], warning["value"], warning["threshold"]) == (
            "workspace", 2.0, 2.0)
        assert warning["message"] == (
            "workspace default has 2 agents with an active session (warning at 2)")
        _ingest(c, started("se-c", "ag-3", ts=clock.t))
        assert open_alert(c, "too_many_agents", "default", "critical")["id"] == warning["id"]
        _ingest(c, ended("se-b", ts=clock.t), ended("se-c", ts=clock.t))
        resolved(c, warning["id"])


def test_new_rules_are_off_or_lenient_by_default(tmp_path: Path) -> None:
    clock = Clock()
    with alert_server(tmp_path, clock) as srv, srv.client() as c:
        _ingest(c, agent("ag-1"), started("se-1", "ag-1", task_id="t-1", ts=clock.t),
                *(started(f"se-x{i}", f"ag-x{i}", ts=clock.t) for i in range(5)),
                usage("se-1", inp=10_000_000, out=0, latency_ms=10_000, ts=clock.t),
                usage("se-1", inp=0, out=0, latency_ms=10_000, ts=clock.t),
                usage("se-1", inp=0, out=0, latency_ms=10_000, ts=clock.t))
        passes(c)
        rules = {a["rule"] for a in alerts(c)}
        assert not rules & {"slow_runs", "api_latency", "budget_tokens", "too_many_agents"}
        settings = c.get("/api/v1/alerts/engine").json()["settings"]
    assert settings["slow_runs"]["warning"] == 2.0 and settings["api_latency"]["warning"] == 30000
    assert settings["budget_tokens"]["count"] == ["input", "output"]
    assert settings["too_many_agents"]["warning"] is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"slow_runs": {"min_sessions": 0}},
         "alerts.slow_runs.min_sessions: Input should be greater than or equal to 1"),
        ({"slow_runs": {"warning": 5, "critical": 3}},
         "alerts.slow_runs: Value error, warning (5.0) must not be above critical (3.0)"),
        ({"slow_runs": {"baseline_minutes": 0}}, "alerts.slow_runs.baseline_minutes"),
        ({"slow_runs": {"action": "pause"}}, "alerts.slow_runs.action: unknown key"),
        ({"api_latency": {"warning": "slow"}},
         "alerts.api_latency.warning: Input should be a valid number"),
        ({"api_latency": {"min_calls": -1}}, "alerts.api_latency.min_calls"),
        ({"budget_tokens": {"count": ["input", "bogus"]}},
         "alerts.budget_tokens.count.1: Input should be 'input', 'output', 'cache_read' or"
         " 'cache_write'"),
        ({"budget_tokens": {"count": []}}, "alerts.budget_tokens.count: Tuple should have at"
         " least 1 item"),
        ({"budget_tokens": {"count": ["input", "input"]}},
         "alerts.budget_tokens: Value error, count: input listed twice"),
        ({"budget_tokens": {"task": {"warning": -5}}},
         "alerts.budget_tokens.task.warning: Input should be greater than or equal to 0"),
        ({"budget_tokens": {"agent": {"action": "stop"}}},
         "alerts.budget_tokens.agent.action: Input should be 'none' or 'pause'"),
        ({"budget_tokens": {"month": {"warning": 1}}}, "alerts.budget_tokens.month: unknown key"),
        ({"too_many_agents": {"window_minutes": 5}},
         "alerts.too_many_agents.window_minutes: unknown key"),
    ],
)
def test_bad_settings_of_the_new_rules_name_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(AlertConfigError) as err:
        parse_alert_settings(table, "config.toml")
    assert str(err.value).startswith("config.toml: ") and message in str(err.value), err.value


def test_new_rules_read_from_the_config_file(tmp_path: Path) -> None:
    from agentops_tui.server.alerts.config import load_alert_settings

    config = tmp_path / "config.toml"
    config.write_text(
        "[alerts.slow_runs]\ncritical = 'off'\nbaseline_minutes = 10080\n\n"
        "[alerts.api_latency]\nwarning = 8000\n\n"
        "[alerts.budget_tokens]\ncount = ['input', 'output', 'cache_write']\n\n"
        "[alerts.budget_tokens.workspace]\ncritical = 50_000_000\naction = 'pause'\n\n"
        "[alerts.too_many_agents]\nwarning = 40\n"
    )
    s = load_alert_settings(config)
    assert (s.slow_runs.warning, s.slow_runs.critical, s.slow_runs.baseline_minutes) == (
        2.0, None, 10080)
    assert (s.api_latency.warning, s.api_latency.critical) == (8000, 120_000)
    assert s.budget_tokens.count == ("input", "output", "cache_write")
    assert s.budget_tokens.workspace.severity(60_000_000) == ("critical", 50_000_000)
    assert s.budget_tokens.workspace.action == "pause" and not s.budget_tokens.task.active
    assert s.too_many_agents.severity(40) == ("warning", 40)
