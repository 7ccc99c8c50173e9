"""The alert rules: each reads the fleet and the feeds and says which subjects fire, how badly.

A rule returns a `Reading` for every subject over a threshold, and must consider every subject
that has an open alert of its kind (a subject it does not return is clear, so its alert
resolves). Rules have no side effects beyond trimming the feeds they read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.alerts.config import AlertSettings, RunawayCost, Threshold
from agentops_tui.server.alerts.feeds import DAY, AlertFeeds, Feeds, SpendWindow
from agentops_tui.server.analytics.rollups import USD_UNITS
from agentops_tui.server.store.writer import WriteContext


@dataclass(frozen=True, slots=True)
class Reading:
    severity: str  # warning | critical
    value: float
    threshold: float
    message: str  # what is wrong, without the threshold (the engine adds it)
    unit: str  # usd | ratio | minutes | count


@dataclass
class Evaluation:
    """Everything a rule may look at for one workspace at one instant."""

    ctx: WriteContext
    workspace: str
    feeds: Feeds
    api: AlertFeeds
    settings: AlertSettings
    now: float
    open_subjects: dict[tuple[str, str], set[str]]

    @property
    def fleet(self) -> Fleet:
        return self.feeds.fleet

    def open(self, rule: str, subject_type: str) -> set[str]:
        return self.open_subjects.get((rule, subject_type), set())


Readings = dict[str, Reading]


def _usd(units: int) -> float:
    return round(units / USD_UNITS, 10)


def _span(minutes: float) -> str:
    return f"{minutes:g} min" if minutes < 120 else f"{minutes / 60:g} h"


def _how_long(minutes: float) -> str:
    """A measured duration as an operator reads it: "40 s", "2.5 min", "3.1 h"."""
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _agent_label(fleet: Fleet, agent_id: str) -> str:
    agent = fleet.agents.get(agent_id)
    return f"agent {agent.name}" if agent is not None and agent.name != agent_id else (
        f"agent {agent_id}"
    )


def _session_label(fleet: Fleet, session_id: str) -> str:
    """Its title where it has one: ids of generated sessions say little to an operator."""
    session = fleet.sessions.get(session_id)
    return f"session {session.title}" if session is not None and session.title else (
        f"session {session_id}"
    )


def _task_label(fleet: Fleet, task_id: str) -> str:
    task = fleet.tasks.get(task_id)
    return f"task {task.name}" if task is not None and task.name else f"task {task_id}"


def _runaway(ev: Evaluation, cfg: RunawayCost, spend: dict[str, SpendWindow],
             label: Callable[[str], str]) -> Readings:
    """Spend in the rule's window per subject; windows left empty are dropped."""
    since = ev.now - ev.settings.seconds(cfg.window_minutes)
    out: Readings = {}
    for subject in list(spend):
        units = spend[subject].trim(since)
        if not spend[subject].steps:
            del spend[subject]
        severity, threshold = cfg.severity(_usd(units))
        if severity and threshold is not None:
            out[subject] = Reading(
                severity, _usd(units), threshold,
                f"{label(subject)} spent ${_usd(units):.2f} in the last"
                f" {_span(cfg.window_minutes)}", "usd",
            )
    return out


def runaway_session(ev: Evaluation) -> Readings:
    return _runaway(ev, ev.settings.runaway_cost.session, ev.feeds.session_spend,
                    lambda sid: _session_label(ev.fleet, sid))


def runaway_agent(ev: Evaluation) -> Readings:
    return _runaway(ev, ev.settings.runaway_cost.agent, ev.feeds.agent_spend,
                    lambda aid: _agent_label(ev.fleet, aid))


def task_budget(ev: Evaluation) -> Readings:
    cfg = ev.settings.budget.task
    subjects = ev.feeds.touched_tasks | ev.open("budget_exceeded", "task")
    ev.feeds.touched_tasks = set()
    out: Readings = {}
    for task_id in subjects:
        usd = _usd(ev.api.task_units(ev.ctx, ev.feeds, ev.workspace, task_id))
        severity, threshold = cfg.severity(usd)
        if severity and threshold is not None:
            out[task_id] = Reading(
                severity, usd, threshold, f"{_task_label(ev.fleet, task_id)} has cost ${usd:.2f}",
                "usd",
            )
    if len(ev.feeds.task_total) > 10_000:  # totals are cached; reload any we drop
        keep = ev.open("budget_exceeded", "task")
        ev.feeds.task_total = {k: v for k, v in ev.feeds.task_total.items() if k in keep}
    return out


def agent_budget(ev: Evaluation) -> Readings:
    cfg = ev.settings.budget.agent
    day = int(ev.now // DAY)
    subjects = ev.feeds.touched_agents | ev.open("budget_exceeded", "agent")
    ev.feeds.touched_agents = set()
    out: Readings = {}
    for agent_id in subjects:
        usd = _usd(ev.api.agent_day_units(ev.ctx, ev.feeds, ev.workspace, agent_id, day))
        severity, threshold = cfg.severity(usd)
        if severity and threshold is not None:
            out[agent_id] = Reading(
                severity, usd, threshold,
                f"{_agent_label(ev.fleet, agent_id)} spent ${usd:.2f} today (UTC)", "usd",
            )
    stale = [k for k in ev.feeds.agent_day if k[1] < day]
    for key in stale:
        del ev.feeds.agent_day[key]
    return out


def workspace_budget(ev: Evaluation) -> Readings:
    cfg = ev.settings.budget.workspace
    day = int(ev.now // DAY)
    usd = _usd(ev.api.workspace_day_units(ev.ctx, ev.feeds, ev.workspace, day))
    for old in [d for d in ev.feeds.workspace_day if d < day]:
        del ev.feeds.workspace_day[old]
    severity, threshold = cfg.severity(usd)
    if severity and threshold is not None:
        return {ev.workspace: Reading(
            severity, usd, threshold,
            f"workspace {ev.workspace} spent ${usd:.2f} today (UTC)", "usd",
        )}
    return {}


def _endings(ev: Evaluation, minutes: float, agent_id: str) -> list[str]:
    since = ev.now - ev.settings.seconds(minutes)
    return [status for ts, status in ev.feeds.ended.get(agent_id, ()) if ts >= since]


def _trim_endings(ev: Evaluation) -> None:
    s = ev.settings
    since = ev.now - max(
        s.seconds(s.error_rate.window_minutes), s.seconds(s.success_rate.window_minutes)
    )
    for agent_id in list(ev.feeds.ended):
        ends = ev.feeds.ended[agent_id]
        while ends and ends[0][0] < since:
            ends.popleft()
        if not ends:
            del ev.feeds.ended[agent_id]


def error_rate(ev: Evaluation) -> Readings:
    _trim_endings(ev)
    cfg = ev.settings.error_rate
    out: Readings = {}
    for agent_id in list(ev.feeds.ended):
        statuses = _endings(ev, cfg.window_minutes, agent_id)
        if len(statuses) < cfg.min_sessions:
            continue
        failed = statuses.count("failed")
        rate = round(failed / len(statuses), 6)
        severity, threshold = cfg.severity(rate)
        if severity and threshold is not None:
            out[agent_id] = Reading(
                severity, rate, threshold,
                f"{_agent_label(ev.fleet, agent_id)}: {failed} of {len(statuses)} sessions"
                f" failed in the last {_span(cfg.window_minutes)}", "ratio",
            )
    return out


def success_rate(ev: Evaluation) -> Readings:
    cfg = ev.settings.success_rate
    out: Readings = {}
    if not cfg.active:
        return out
    for agent_id in list(ev.feeds.ended):
        statuses = _endings(ev, cfg.window_minutes, agent_id)
        if len(statuses) < cfg.min_sessions:
            continue
        completed = statuses.count("completed")
        rate = round(completed / len(statuses), 6)
        severity, threshold = cfg.severity(rate)
        if severity and threshold is not None:
            out[agent_id] = Reading(
                severity, rate, threshold,
                f"{_agent_label(ev.fleet, agent_id)}: only {completed} of {len(statuses)}"
                f" sessions completed in the last {_span(cfg.window_minutes)}", "ratio",
            )
    return out


def stuck_session(ev: Evaluation) -> Readings:
    cfg = ev.settings.stuck_session
    out: Readings = {}
    if not cfg.active:
        return out
    fleet = ev.fleet
    for sids in fleet.active_by_agent.values():
        for sid in sids:
            session = fleet.sessions.get(sid)
            if session is None or session.status != "running":
                continue
            idle = ev.settings.minutes(max(0.0, ev.now - session.last_activity))
            severity, threshold = cfg.severity(idle)
            if severity and threshold is not None:
                out[sid] = Reading(
                    severity, round(idle, 3), threshold,
                    f"{_session_label(fleet, sid)} is running with no activity for"
                    f" {_how_long(idle)}",
                    "minutes",
                )
    return out


def sla_breached(ev: Evaluation) -> Readings:
    cfg = ev.settings.sla_breached
    out: Readings = {}
    for task_id, breach in ev.feeds.sla.items():
        late = ev.settings.minutes(max(0.0, ev.now - breach.deadline))
        severity, threshold = cfg.severity(late)
        if severity and threshold is not None:
            out[task_id] = Reading(
                severity, round(late, 3), threshold,
                f"task {breach.label} missed its SLA deadline by {_how_long(late)}",
                "minutes",
            )
    return out


def agent_sessions(ev: Evaluation) -> Readings:
    cfg = ev.settings.too_many_sessions.agent
    out: Readings = {}
    for agent_id, sids in ev.fleet.active_by_agent.items():
        severity, threshold = cfg.severity(len(sids))
        if severity and threshold is not None:
            out[agent_id] = Reading(
                severity, len(sids), threshold,
                f"{_agent_label(ev.fleet, agent_id)} has {len(sids)} active sessions", "count",
            )
    return out


def workspace_count(ev: Evaluation, cfg: Threshold, count: int, what: str) -> Readings:
    """A reading on the workspace when `count` of `what` passes the threshold."""
    severity, threshold = cfg.severity(count)
    if severity and threshold is not None:
        return {ev.workspace: Reading(
            severity, count, threshold, f"workspace {ev.workspace} has {count} {what}", "count",
        )}
    return {}


def workspace_sessions(ev: Evaluation) -> Readings:
    total = sum(len(s) for s in ev.fleet.active_by_agent.values())
    return workspace_count(ev, ev.settings.too_many_sessions.workspace, total, "active sessions")


def command_expired(ev: Evaluation) -> Readings:
    cfg = ev.settings.command_expired
    since = ev.now - ev.settings.seconds(cfg.window_minutes)
    out: Readings = {}
    for agent_id in list(ev.feeds.expired):
        times = ev.feeds.expired[agent_id]
        while times and times[0] < since:
            times.popleft()
        if not times:
            del ev.feeds.expired[agent_id]
            continue
        severity, threshold = cfg.severity(len(times))
        if severity and threshold is not None:
            out[agent_id] = Reading(
                severity, len(times), threshold,
                f"{_agent_label(ev.fleet, agent_id)} let {len(times)} command(s) expire"
                " without an answer", "count",
            )
    return out


@dataclass(frozen=True, slots=True)
class Check:
    rule: str
    subject_type: str
    read: Callable[[Evaluation], Readings]
    action: Callable[[AlertSettings], str]  # the configured action ("none" | "pause")


def _none(_: AlertSettings) -> str:
    return "none"


CHECKS: tuple[Check, ...] = (
    Check("runaway_cost", "session", runaway_session, lambda s: s.runaway_cost.session.action),
    Check("runaway_cost", "agent", runaway_agent, lambda s: s.runaway_cost.agent.action),
    Check("budget_exceeded", "task", task_budget, lambda s: s.budget.task.action),
    Check("budget_exceeded", "agent", agent_budget, lambda s: s.budget.agent.action),
    Check("budget_exceeded", "workspace", workspace_budget,
          lambda s: s.budget.workspace.action),
    Check("error_rate", "agent", error_rate, lambda s: s.error_rate.action),
    Check("success_rate", "agent", success_rate, _none),
    Check("stuck_session", "session", stuck_session, _none),
    Check("sla_breached", "task", sla_breached, _none),
    Check("too_many_sessions", "agent", agent_sessions,
          lambda s: s.too_many_sessions.agent.action),
    Check("too_many_sessions", "workspace", workspace_sessions, _none),
    Check("command_expired", "agent", command_expired, _none),
)

# Rules kept in a module of their own, which builds on the types above: imported last, and
# called through its module so either module may be imported first.
from agentops_tui.server.alerts import trend_rules  # noqa: E402

CHECKS += (
    Check("slow_runs", "agent", lambda ev: trend_rules.slow_runs(ev), _none),
    Check("api_latency", "agent", lambda ev: trend_rules.api_latency(ev), _none),
    Check("budget_tokens", "task", lambda ev: trend_rules.task_tokens(ev),
          lambda s: s.budget_tokens.task.action),
    Check("budget_tokens", "agent", lambda ev: trend_rules.agent_tokens(ev),
          lambda s: s.budget_tokens.agent.action),
    Check("budget_tokens", "workspace", lambda ev: trend_rules.workspace_tokens(ev),
          lambda s: s.budget_tokens.workspace.action),
    Check("too_many_agents", "workspace", lambda ev: trend_rules.too_many_agents(ev), _none),
)
RULES: tuple[str, ...] = tuple(dict.fromkeys(c.rule for c in CHECKS))
