"""Rules that compare the fleet with its own past and its size: runs slower than the agent's
baseline, slow model calls, token budgets, and too many agents at work at once.

Each reads the fleet and the feeds of `performance_feeds` and `token_budgets`, and answers
like every rule in `rules`: a `Reading` per subject over a threshold, considering every
subject that has an open alert of its kind.
"""

from __future__ import annotations

from agentops_tui.server.alerts.config import ActingThreshold
from agentops_tui.server.alerts.rules import (
    Evaluation,
    Reading,
    Readings,
    _agent_label,
    _how_long,
    _span,
    _task_label,
    workspace_count,
)
from agentops_tui.server.alerts.token_budgets import DAY, TokenTotals


def _seconds(seconds: float) -> str:
    """A measured length as an operator reads it: "40 s", "2.5 min", "3.1 h"."""
    return _how_long(seconds / 60.0)


def slow_runs(ev: Evaluation) -> Readings:
    """An agent whose recent runs take N times as long as its own runs used to."""
    cfg = ev.settings.slow_runs
    out: Readings = {}
    if not cfg.active:
        return out
    perf = ev.api.performance.of(ev.ctx, ev.workspace)
    window_start = ev.now - ev.settings.seconds(cfg.window_minutes)
    baseline_start = window_start - ev.settings.seconds(cfg.baseline_minutes)
    for agent_id, runs in list(perf.runs.items()):
        runs.shift(window_start, baseline_start)
        recent, baseline = runs.recent, runs.baseline
        if not recent.count and not baseline.count:
            del perf.runs[agent_id]
            continue
        if recent.count < cfg.min_sessions or baseline.count < cfg.min_baseline_sessions:
            continue
        if baseline.mean <= 0:
            continue  # instant runs have no pace to fall behind
        ratio = round(recent.mean / baseline.mean, 3)
        severity, threshold = cfg.severity(ratio)
        if severity and threshold is not None:
            out[agent_id] = Reading(
                severity, ratio, threshold,
                f"{_agent_label(ev.fleet, agent_id)}: its {recent.count} runs of the last"
                f" {_span(cfg.window_minutes)} took {_seconds(recent.mean)} on average,"
                f" {ratio:g}× its usual {_seconds(baseline.mean)}", "times",
            )
    return out


def api_latency(ev: Evaluation) -> Readings:
    """An agent whose model calls answer slowly (mean `latency_ms` over the window)."""
    cfg = ev.settings.api_latency
    out: Readings = {}
    if not cfg.active:
        return out
    perf = ev.api.performance.of(ev.ctx, ev.workspace)
    since = ev.now - ev.settings.seconds(cfg.window_minutes)
    for agent_id, window in list(perf.latency.items()):
        window.trim(since)
        if not window.count:
            del perf.latency[agent_id]
            continue
        if window.count < cfg.min_calls:
            continue
        mean = round(window.mean, 1)
        severity, threshold = cfg.severity(mean)
        if severity and threshold is not None:
            out[agent_id] = Reading(
                severity, mean, threshold,
                f"{_agent_label(ev.fleet, agent_id)}: model calls took {_seconds(mean / 1000)}"
                f" on average ({window.count} calls in the last {_span(cfg.window_minutes)})",
                "ms",
            )
    return out


def too_many_agents(ev: Evaluation) -> Readings:
    cfg = ev.settings.too_many_agents
    if not cfg.active:
        return {}
    active = sum(1 for sids in ev.fleet.active_by_agent.values() if sids)
    return workspace_count(ev, cfg, active, "agents with an active session")


# ---- token budgets ----------------------------------------------------------------------------


def _counted(ev: Evaluation) -> str:
    """Which tokens count, as the message says it: "input + output tokens"."""
    return " + ".join(k.replace("_", " ") for k in ev.settings.budget_tokens.count) + " tokens"


def _tokens_reading(cfg: ActingThreshold, tokens: int, message: str) -> Reading | None:
    severity, threshold = cfg.severity(tokens)
    if severity and threshold is not None:
        return Reading(severity, tokens, threshold, message, "tokens")
    return None


def _totals(ev: Evaluation) -> TokenTotals:
    return ev.api.tokens.of(ev.ctx, ev.workspace)


def task_tokens(ev: Evaluation) -> Readings:
    cfg = ev.settings.budget_tokens.task
    if not cfg.active:
        return {}
    totals = _totals(ev)
    subjects = totals.touched_tasks | ev.open("budget_tokens", "task")
    totals.touched_tasks = set()
    out: Readings = {}
    for task_id in subjects:
        tokens = ev.api.tokens.task_tokens(ev.ctx, totals, task_id)
        reading = _tokens_reading(
            cfg, tokens, f"{_task_label(ev.fleet, task_id)} has used {tokens:,} {_counted(ev)}")
        if reading is not None:
            out[task_id] = reading
    if len(totals.task) > 10_000:  # totals are cached; reload any we drop
        keep = ev.open("budget_tokens", "task")
        totals.task = {k: v for k, v in totals.task.items() if k in keep}
    return out


def agent_tokens(ev: Evaluation) -> Readings:
    cfg = ev.settings.budget_tokens.agent
    if not cfg.active:
        return {}
    totals = _totals(ev)
    day = int(ev.now // DAY)
    subjects = totals.touched_agents | ev.open("budget_tokens", "agent")
    totals.touched_agents = set()
    out: Readings = {}
    for agent_id in subjects:
        tokens = ev.api.tokens.agent_day_tokens(ev.ctx, totals, agent_id, day)
        reading = _tokens_reading(
            cfg, tokens,
            f"{_agent_label(ev.fleet, agent_id)} used {tokens:,} {_counted(ev)} today (UTC)")
        if reading is not None:
            out[agent_id] = reading
    for key in [k for k in totals.agent_day if k[1] < day]:
        del totals.agent_day[key]
    return out


def workspace_tokens(ev: Evaluation) -> Readings:
    cfg = ev.settings.budget_tokens.workspace
    if not cfg.active:
        return {}
    totals = _totals(ev)
    day = int(ev.now // DAY)
    tokens = ev.api.tokens.workspace_day_tokens(ev.ctx, totals, day)
    for old in [d for d in totals.workspace_day if d < day]:
        del totals.workspace_day[old]
    reading = _tokens_reading(
        cfg, tokens, f"workspace {ev.workspace} used {tokens:,} {_counted(ev)} today (UTC)")
    return {ev.workspace: reading} if reading is not None else {}
