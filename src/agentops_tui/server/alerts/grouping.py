"""What makes alerts worth reading: which readings fold into one alert, when a per-session
rule speaks for the whole agent, and when an alert's subject has gone.

- **Identity.** An alert stands for one rule on one subject (`Key`). While it is open or
  acked, the rule firing again updates it; after it resolved because its condition cleared,
  firing again within `repeat_window_minutes` re-opens the same alert and counts the repeat.
- **Roll-up.** When a per-session rule fires on `rollup_sessions` or more sessions of one
  agent within `rollup_window_minutes`, one agent alert says how many sessions fired; the
  sessions' own alerts resolve into it and later sessions of that agent join it.
- **Ended subjects.** A session that completed, failed or was killed, an agent that went
  offline or is gone, a task that finished: nobody can act on an alert about them, so it
  resolves with the reason, and the rule is not heard again for that subject.

All state lives in the writer thread (the evaluator is a writer job), so no locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from agentops_tui.core.fleet import Fleet
from agentops_tui.models import Alert
from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.server.alerts.rules import Reading

SEVERITY_RANK = {"warning": 1, "critical": 2}
ENDED_SESSION = frozenset({"completed", "failed", "killed"})
ENDED_TASK = frozenset({"complete", "completed", "failed", "cancelled", "canceled"})
MAX_LISTED_SESSIONS = 50  # a rolled-up alert names this many; `count` keeps counting


class Key(NamedTuple):
    rule: str
    subject_type: str
    subject_id: str
    rollup: bool = False


def key_of(alert: Alert) -> Key:
    return Key(alert.rule, alert.subject_type, alert.subject_id, alert.rollup)


def ended(fleet: Fleet, subject_type: str, subject_id: str) -> str | None:
    """Why nobody can act on this subject any more, or None while they can."""
    if subject_type == "session":
        session = fleet.sessions.get(subject_id)
        if session is None:
            return "the session is gone"
        if session.status in ENDED_SESSION:
            return f"the session {session.status}"
    elif subject_type == "agent":
        agent = fleet.agents.get(subject_id)
        if agent is None:
            return "the agent is gone"
        if agent.status == "offline":
            return "the agent went offline"
    elif subject_type == "task":
        task = fleet.tasks.get(subject_id)
        if task is not None and task.status in ENDED_TASK:
            return f"the task is {task.status}"
    return None


@dataclass(frozen=True, slots=True)
class RollupReading:
    """A per-session rule firing on many sessions of one agent."""

    reading: Reading  # the most severe of the sessions firing now (its message is quoted)
    firing: tuple[str, ...]  # sessions firing now
    recent: tuple[str, ...]  # sessions that fired within the roll-up window (these too)


@dataclass
class _RuleMemory:
    """Per workspace and per-session rule: when each session of each agent last fired."""

    fired: dict[str, dict[str, float]] = field(default_factory=dict)  # agent → session → ts


class Grouper:
    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self._memory: dict[tuple[str, str], _RuleMemory] = {}
        # alerts that resolved because their condition cleared: firing again re-opens them
        self._cleared: dict[tuple[str, Key], Alert] = {}

    # ---- repeats ---------------------------------------------------------------------------

    def remember_cleared(self, workspace: str, alert: Alert) -> None:
        self._cleared[(workspace, key_of(alert))] = alert

    def forget(self, workspace: str, key: Key) -> None:
        self._cleared.pop((workspace, key), None)

    def cleared(self, workspace: str, key: Key, now: float) -> Alert | None:
        """The alert of `key` that cleared within the repeat window, taken out of memory."""
        alert = self._cleared.pop((workspace, key), None)
        window = self.settings.seconds(self.settings.grouping.repeat_window_minutes)
        if alert is None or alert.resolved_at is None or now - alert.resolved_at > window:
            return None
        return alert

    def trim(self, now: float) -> None:
        window = self.settings.seconds(self.settings.grouping.repeat_window_minutes)
        for k in [k for k, a in self._cleared.items() if now - (a.resolved_at or 0) > window]:
            del self._cleared[k]

    def recently_rolled_up(self, workspace: str, rule: str, agent_id: str) -> bool:
        return (workspace, Key(rule, "agent", agent_id, True)) in self._cleared

    # ---- roll-up ---------------------------------------------------------------------------

    def roll_up(self, workspace: str, rule: str, readings: dict[str, Reading], fleet: Fleet,
                now: float, rolled_agents: set[str], covered: dict[str, int]) -> Split:
        """Split a per-session rule's readings into the sessions alerted on their own, one
        roll-up per agent, and the sessions their agent's own alert already speaks for.

        `rolled_agents`: agents whose roll-up alert of this rule is open — their sessions join
        it whatever their number. `covered`: agent → severity rank of its open alert of the
        same rule; a session reading no more severe adds nothing to it."""
        cfg = self.settings.grouping
        memory = self._memory.setdefault((workspace, rule), _RuleMemory())
        since = now - self.settings.seconds(cfg.rollup_window_minutes)
        split = Split()
        by_agent: dict[str, dict[str, Reading]] = {}
        for session_id, reading in readings.items():
            session = fleet.sessions.get(session_id)
            if session is None:
                continue
            memory.fired.setdefault(session.agent_id, {})[session_id] = now
            if SEVERITY_RANK[reading.severity] <= covered.get(session.agent_id, 0):
                split.covered.add(session_id)
            else:
                by_agent.setdefault(session.agent_id, {})[session_id] = reading
        for agent_id in list(memory.fired):
            fired = memory.fired[agent_id]
            for sid in [s for s, ts in fired.items() if ts < since]:
                del fired[sid]
            if not fired:
                del memory.fired[agent_id]
        for agent_id, firing in by_agent.items():
            recent = tuple(sorted(memory.fired.get(agent_id, ())))
            sticky = agent_id in rolled_agents or self.recently_rolled_up(
                workspace, rule, agent_id)
            if cfg.rollup_sessions and (sticky or len(recent) >= cfg.rollup_sessions):
                worst = max(firing.values(), key=lambda r: (SEVERITY_RANK[r.severity], r.value))
                split.rolled[agent_id] = RollupReading(worst, tuple(sorted(firing)), recent)
            else:
                split.single.update(firing)
        return split


@dataclass
class Split:
    """A per-session rule's readings after grouping."""

    single: dict[str, Reading] = field(default_factory=dict)  # alerted on their own
    rolled: dict[str, RollupReading] = field(default_factory=dict)  # agent → its roll-up
    covered: set[str] = field(default_factory=set)  # said by their agent's own alert


@dataclass(frozen=True, slots=True)
class Firing:
    """What one pass found for one alert identity."""

    key: Key
    reading: Reading
    action: str
    rollup: RollupReading | None = None


def rollup_message(agent_label: str, rolled: RollupReading, window_minutes: float) -> str:
    """One line for a roll-up: how many sessions, and the worst one now (its own words)."""
    n = len(rolled.recent)
    span = f"{window_minutes:g} min" if window_minutes < 120 else f"{window_minutes / 60:g} h"
    return (f"{agent_label}: {n} session{'s' if n != 1 else ''} fired in the last {span};"
            f" worst now: {rolled.reading.message}")


def merged_sessions(alert: Alert | None, firing: tuple[str, ...]) -> tuple[list[str], int]:
    """The sessions a roll-up names after this pass, and how many are new to it."""
    listed = list(alert.sessions) if alert is not None else []
    known = set(listed)
    new = [s for s in firing if s not in known]
    listed = (listed + new)[-MAX_LISTED_SESSIONS:]
    return listed, len(new)
