"""What the performance rules read: how long each agent's runs take, and how long its model
calls take, over the recent past.

Run lengths come from `session.ended` (the session's start to its end); model-call latency from
the `latency_ms` of `session.usage` reports (SDK agents send it, OTLP model-call spans give
their duration). Like the other feeds this lives in the writer thread and is rebuilt from
committed data (`session_runs`, the log) whenever the writer reloads a workspace, so it never
counts an event that did not commit.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.server.store.rollup_fold import RollupFold
from agentops_tui.server.store.writer import LoggedEvent, WriteContext

# A killed run's length is the operator's decision, not the agent's pace.
TIMED_ENDINGS = frozenset({"completed", "failed"})


class SampleWindow:
    """Samples of the recent past (run lengths, call latencies) as per-second steps
    `[second, count, total]`, with running sums so a mean costs nothing."""

    __slots__ = ("count", "steps", "total")

    def __init__(self) -> None:
        self.steps: deque[list[float]] = deque()
        self.count = 0
        self.total = 0.0

    def add(self, ts: float, value: float, count: int = 1) -> None:
        second = float(int(ts))
        if self.steps and self.steps[-1][0] == second:
            self.steps[-1][1] += count
            self.steps[-1][2] += value
        else:
            self.steps.append([second, count, value])
        self.count += count
        self.total += value

    def trim(self, since: float) -> list[list[float]]:
        """Drop the steps older than `since`; returns them, oldest first."""
        dropped = []
        steps = self.steps
        while steps and steps[0][0] < since:
            step = steps.popleft()
            self.count -= int(step[1])
            self.total -= step[2]
            dropped.append(step)
        if not steps:  # no drift from adding and subtracting floats
            self.count, self.total = 0, 0.0
        return dropped

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


@dataclass
class AgentRuns:
    """Run lengths (seconds) of one agent: the rule's window, and the baseline before it."""

    recent: SampleWindow = field(default_factory=SampleWindow)
    baseline: SampleWindow = field(default_factory=SampleWindow)

    def shift(self, window_start: float, baseline_start: float) -> None:
        """Runs that left the window join the baseline; the oldest leave the baseline."""
        for second, count, total in self.recent.trim(window_start):
            self.baseline.add(second, total, int(count))
        self.baseline.trim(baseline_start)


@dataclass
class Performance:
    """One workspace's run lengths and model-call latencies, per agent."""

    fleet: Fleet
    runs: dict[str, AgentRuns] = field(default_factory=dict)
    latency: dict[str, SampleWindow] = field(default_factory=dict)  # ms


class PerformanceFeeds:
    def __init__(self, settings: AlertSettings,
                 rollups: Callable[[], RollupFold | None] = lambda: None) -> None:
        self.settings = settings
        self.by_workspace: dict[str, Performance] = {}
        self._rollups = rollups  # finished runs committed but not yet in `session_runs`
        # settings are frozen: decided once, as every usage report and ending asks
        self.timing_runs = settings.slow_runs.active
        self.timing_calls = settings.api_latency.active

    def handlers(self) -> dict[str, Callable[[WriteContext, LoggedEvent], None]]:
        return {"session.ended": self._ended, "session.usage": self._usage}

    def observe(self, ctx: WriteContext, event: LoggedEvent) -> None:
        handler = self.handlers().get(event.type)
        if handler is not None:
            handler(ctx, event)

    def of(self, ctx: WriteContext, workspace: str) -> Performance:
        fleet = ctx.fleet(workspace)
        found = self.by_workspace.get(workspace)
        if found is None or found.fleet is not fleet:
            found = self.by_workspace[workspace] = self._rebuild(ctx, workspace, fleet)
        return found

    # ---- observing ----------------------------------------------------------------------

    def _ended(self, ctx: WriteContext, event: LoggedEvent) -> None:
        if not self.timing_runs:
            return
        perf = self.of(ctx, event.workspace)
        session = perf.fleet.sessions.get(event.data["session_id"])
        if session is None or session.ended_at is None or session.status not in TIMED_ENDINGS:
            return
        runs = perf.runs.get(session.agent_id)
        if runs is None:
            runs = perf.runs[session.agent_id] = AgentRuns()
        runs.recent.add(session.ended_at, max(0.0, session.ended_at - session.started_at))

    def _usage(self, ctx: WriteContext, event: LoggedEvent) -> None:
        # Hot path (every usage report): most carry no latency, and the rule may be off.
        latency = event.data.get("latency_ms")
        if latency is None or not self.timing_calls:
            return
        perf = self.of(ctx, event.workspace)
        session = perf.fleet.sessions.get(event.data["session_id"])
        if session is None:
            return
        window = perf.latency.get(session.agent_id)
        if window is None:
            window = perf.latency[session.agent_id] = SampleWindow()
        window.add(event.ts, float(latency))

    # ---- rebuilding -----------------------------------------------------------------------

    def _rebuild(self, ctx: WriteContext, workspace: str, fleet: Fleet) -> Performance:
        s = self.settings
        now = s.clock()
        perf = Performance(fleet=fleet)
        if self.timing_runs:
            since = now - s.seconds(s.slow_runs.window_minutes + s.slow_runs.baseline_minutes)
            ends: dict[str, tuple[str, float, float]] = {  # session -> (agent, ended, length)
                sid: (agent_id, ended_at, duration)
                for sid, agent_id, ended_at, duration, status in ctx.conn.execute(
                    "SELECT session_id, agent_id, ended_at, duration, status FROM session_runs"
                    " WHERE workspace = ? AND ended_at >= ?", (workspace, since))
                if status in TIMED_ENDINGS
            }
            rollups = self._rollups()
            for run in rollups.pending_runs(workspace, since) if rollups else ():
                if run[4] in TIMED_ENDINGS:
                    ends[run[1]] = (run[2], run[6], run[7])  # newer than the table's row
            for agent_id, ended_at, duration in sorted(ends.values(), key=lambda e: e[1]):
                perf.runs.setdefault(agent_id, AgentRuns()).recent.add(ended_at, duration)
        if self.timing_calls:
            for ts, raw in ctx.conn.execute(
                "SELECT ts, data FROM events WHERE workspace = ? AND type = 'session.usage'"
                " AND ts >= ? ORDER BY id",
                (workspace, now - s.seconds(s.api_latency.window_minutes)),
            ):
                data = json.loads(raw)
                session = fleet.sessions.get(data.get("session_id", ""))
                latency = data.get("latency_ms")
                if session is not None and latency is not None:
                    perf.latency.setdefault(session.agent_id, SampleWindow()).add(
                        ts, float(latency))
        return perf
