"""What the alert rules read besides the fleet: recent spend, spend totals, recent endings,
expired commands and SLA breaches, kept per workspace as events are written.

Everything here lives in the writer thread (an observer feeds it, the evaluator runs as a
writer job), so it needs no locks. It is derived state: when the writer reloads a workspace
(first use, or after a failed commit) the feeds are rebuilt from the tables, so they never
count an event that did not commit.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.server.alerts.performance_feeds import PerformanceFeeds
from agentops_tui.server.alerts.token_budgets import TokenFeeds
from agentops_tui.server.analytics.rollups import to_units
from agentops_tui.server.store.dialect import total
from agentops_tui.server.store.rollup_fold import CostKey, RollupFold
from agentops_tui.server.store.writer import LoggedEvent, WriteContext, Writer

DAY = 86400
TASK_FINAL = frozenset({"complete", "completed", "failed", "cancelled", "canceled"})
TASK_EVENT_PREFIXES = ("task.", "work_queue_task.", "queue_task.")


class SpendWindow:
    """Spend of the last `window` seconds as (second, units) steps with a running sum."""

    __slots__ = ("steps", "units")

    def __init__(self) -> None:
        self.steps: deque[tuple[int, int]] = deque()
        self.units = 0

    def add(self, ts: float, units: int) -> None:
        second = int(ts)
        if self.steps and self.steps[-1][0] == second:
            self.steps[-1] = (second, self.steps[-1][1] + units)
        else:
            self.steps.append((second, units))
        self.units += units

    def trim(self, since: float) -> int:
        """Drop spend older than `since`; the units that remain."""
        steps = self.steps
        while steps and steps[0][0] < since:
            self.units -= steps.popleft()[1]
        return self.units


@dataclass
class SlaBreach:
    task_id: str
    deadline: float
    breached_at: float
    label: str


@dataclass
class Feeds:
    """One workspace's inputs to the rules."""

    fleet: Fleet
    session_spend: dict[str, SpendWindow] = field(default_factory=dict)
    agent_spend: dict[str, SpendWindow] = field(default_factory=dict)
    task_total: dict[str, int] = field(default_factory=dict)  # units, lifetime
    agent_day: dict[tuple[str, int], int] = field(default_factory=dict)  # units per UTC day
    workspace_day: dict[int, int] = field(default_factory=dict)
    touched_tasks: set[str] = field(default_factory=set)  # since the last evaluation
    touched_agents: set[str] = field(default_factory=set)
    ended: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)  # agent -> ends
    expired: dict[str, deque[float]] = field(default_factory=dict)  # agent -> expiry times
    sla: dict[str, SlaBreach] = field(default_factory=dict)


class AlertFeeds:
    """The observer side of alerting."""

    def __init__(self, settings: AlertSettings) -> None:
        self.settings = settings
        self.by_workspace: dict[str, Feeds] = {}
        # The rollup tables lag the log by up to a checkpoint; spend and runs committed since
        # are added from here, so the lookups below count every committed event once.
        self.rollups: RollupFold | None = None
        # the feeds of `trend_rules`: run lengths, model-call latency, token totals
        self.performance = PerformanceFeeds(settings, lambda: self.rollups)
        self.tokens = TokenFeeds(settings, lambda: self.rollups)

    def _pending_units(self, workspace: str, match: Callable[[CostKey], bool]) -> int:
        return 0 if self.rollups is None else self.rollups.pending_cost(workspace, match)

    def _landing(self) -> AbstractContextManager[object]:
        """Held across a read of `cost_rollup` and the addition of what it lacks: a
        checkpoint committing in between would otherwise be counted twice."""
        return contextlib.nullcontext() if self.rollups is None else self.rollups.landing

    def install(self, writer: Writer) -> None:
        writer.observers += [self.observe, self.performance.observe, self.tokens.observe]

    def handlers(self) -> dict[str, Callable[[WriteContext, LoggedEvent], None]]:
        """Event type -> handler, for a shared dispatching observer."""
        return {
            "session.usage": self._usage,
            "session.ended": self._ended,
            "command.updated": self._command,
            "sla.breached": self._sla,
        }

    def prefix_handlers(self) -> dict[str, Callable[[WriteContext, LoggedEvent], None]]:
        return {prefix: self._task for prefix in TASK_EVENT_PREFIXES}

    # ---- lookups (writer thread) --------------------------------------------------------

    def feeds(self, ctx: WriteContext, workspace: str) -> Feeds:
        fleet = ctx.fleet(workspace)
        feeds = self.by_workspace.get(workspace)
        if feeds is None or feeds.fleet is not fleet:
            feeds = self._rebuild(ctx, workspace, fleet)
            self.by_workspace[workspace] = feeds
        return feeds

    def task_units(self, ctx: WriteContext, feeds: Feeds, workspace: str, task_id: str) -> int:
        units = feeds.task_total.get(task_id)
        if units is None:  # first use: what committed groups spent on it
            with self._landing():
                row = ctx.conn.execute(
                    f"SELECT {total('cost_e10')} FROM cost_rollup WHERE workspace = ?"
                    " AND task_id = ?",
                    (workspace, task_id),
                ).fetchone()
                units = int(row[0] or 0) + self._pending_units(workspace, lambda k: k[3] == task_id)
            feeds.task_total[task_id] = units
        return units

    def agent_day_units(
        self, ctx: WriteContext, feeds: Feeds, workspace: str, agent_id: str, day: int
    ) -> int:
        units = feeds.agent_day.get((agent_id, day))
        if units is None:
            with self._landing():
                row = ctx.conn.execute(
                    f"SELECT {total('cost_e10')} FROM cost_rollup WHERE workspace = ?"
                    " AND agent_id = ? AND minute >= ? AND minute < ?",
                    (workspace, agent_id, day * 1440, (day + 1) * 1440),
                ).fetchone()
                units = int(row[0] or 0) + self._pending_units(
                    workspace, lambda k: k[2] == agent_id and day * 1440 <= k[1] < (day + 1) * 1440)
            feeds.agent_day[(agent_id, day)] = units
        return units

    def workspace_day_units(
        self, ctx: WriteContext, feeds: Feeds, workspace: str, day: int
    ) -> int:
        units = feeds.workspace_day.get(day)
        if units is None:
            with self._landing():
                row = ctx.conn.execute(
                    f"SELECT {total('cost_e10')} FROM cost_rollup WHERE workspace = ?"
                    " AND minute >= ? AND minute < ?",
                    (workspace, day * 1440, (day + 1) * 1440),
                ).fetchone()
                units = int(row[0] or 0) + self._pending_units(
                    workspace, lambda k: day * 1440 <= k[1] < (day + 1) * 1440)
            feeds.workspace_day[day] = units
        return units

    # ---- observing ----------------------------------------------------------------------

    def observe(self, ctx: WriteContext, event: LoggedEvent) -> None:
        kind = event.type
        if kind == "session.usage":
            self._usage(ctx, event)
        elif kind == "session.ended":
            self._ended(ctx, event)
        elif kind == "command.updated":
            self._command(ctx, event)
        elif kind == "sla.breached":
            self._sla(ctx, event)
        elif kind.startswith(TASK_EVENT_PREFIXES):
            self._task(ctx, event)

    def _usage(self, ctx: WriteContext, event: LoggedEvent) -> None:
        # Hot path (every usage report): plain dict work, the lazy loads only on first use.
        data = event.data
        cost = data.get("cost_usd")
        if not cost:
            return
        units = to_units(float(cost))
        if units <= 0:
            return
        ws = event.workspace
        feeds = self.feeds(ctx, ws)
        session = feeds.fleet.sessions.get(data["session_id"])
        if session is None:
            return
        agent_id = session.agent_id
        ts = event.ts
        window = feeds.session_spend.get(session.id)
        if window is None:
            window = feeds.session_spend[session.id] = SpendWindow()
        window.add(ts, units)
        window = feeds.agent_spend.get(agent_id)
        if window is None:
            window = feeds.agent_spend[agent_id] = SpendWindow()
        window.add(ts, units)
        task_id = session.task_id
        if task_id:
            feeds.task_total[task_id] = self.task_units(ctx, feeds, ws, task_id) + units
            feeds.touched_tasks.add(task_id)
        day = int(ts // DAY)
        key = (agent_id, day)
        feeds.agent_day[key] = self.agent_day_units(ctx, feeds, ws, agent_id, day) + units
        feeds.workspace_day[day] = self.workspace_day_units(ctx, feeds, ws, day) + units
        feeds.touched_agents.add(agent_id)

    def _ended(self, ctx: WriteContext, event: LoggedEvent) -> None:
        feeds = self.feeds(ctx, event.workspace)
        session = feeds.fleet.sessions.get(event.data["session_id"])
        if session is not None:
            feeds.ended.setdefault(session.agent_id, deque()).append(
                (event.ts, session.status)
            )

    def _command(self, ctx: WriteContext, event: LoggedEvent) -> None:
        self._apply_command(self.feeds(ctx, event.workspace), event.ts, event.data)

    @staticmethod
    def _apply_command(feeds: Feeds, ts: float, data: dict[str, object]) -> None:
        agent_id = str(data.get("agent_id") or "")
        status = data.get("status")
        if status == "expired":
            feeds.expired.setdefault(agent_id, deque()).append(ts)
        elif status in ("acked", "failed"):
            feeds.expired.pop(agent_id, None)  # it answers again

    def _sla(self, ctx: WriteContext, event: LoggedEvent) -> None:
        data = event.data
        task_id = data.get("task_id") or data.get("id")
        if not task_id:
            return
        feeds = self.feeds(ctx, event.workspace)
        deadline = data.get("deadline")
        label = data.get("title") or data.get("name") or str(task_id)
        feeds.sla[str(task_id)] = SlaBreach(
            task_id=str(task_id),
            deadline=float(deadline) if isinstance(deadline, int | float) else event.ts,
            breached_at=event.ts,
            label=str(label),
        )

    def _task(self, ctx: WriteContext, event: LoggedEvent) -> None:
        data = event.data
        task_id = data.get("task_id") or data.get("id")
        status = data.get("status")
        if task_id and isinstance(status, str) and status in TASK_FINAL:
            self.feeds(ctx, event.workspace).sla.pop(str(task_id), None)

    # ---- rebuilding -----------------------------------------------------------------------

    def _rebuild(self, ctx: WriteContext, workspace: str, fleet: Fleet) -> Feeds:
        """Feeds from committed data: recent spend and endings, open SLA alerts."""
        s = self.settings
        now = s.clock()
        feeds = Feeds(fleet=fleet)
        spend_horizon = max(
            s.seconds(s.runaway_cost.session.window_minutes),
            s.seconds(s.runaway_cost.agent.window_minutes),
        )
        for ts, raw in ctx.conn.execute(
            "SELECT ts, data FROM events WHERE workspace = ? AND type = 'session.usage'"
            " AND ts >= ? ORDER BY id",
            (workspace, now - spend_horizon),
        ):
            data = json.loads(raw)
            session = fleet.sessions.get(data.get("session_id", ""))
            units = to_units(float(data.get("cost_usd") or 0.0))
            if session is not None and units > 0:
                feeds.session_spend.setdefault(session.id, SpendWindow()).add(ts, units)
                feeds.agent_spend.setdefault(session.agent_id, SpendWindow()).add(ts, units)
        ended_horizon = max(
            s.seconds(s.error_rate.window_minutes), s.seconds(s.success_rate.window_minutes)
        )
        since = now - ended_horizon
        ends: dict[str, tuple[str, float, str]] = {  # session -> (agent, ended_at, status)
            sid: (agent_id, ended_at, status)
            for sid, agent_id, ended_at, status in ctx.conn.execute(
                "SELECT session_id, agent_id, ended_at, status FROM session_runs"
                " WHERE workspace = ? AND ended_at >= ?", (workspace, since))
        }
        for run in self.rollups.pending_runs(workspace, since) if self.rollups else ():
            ends[run[1]] = (run[2], run[6], run[4])  # newer than the table's row
        for agent_id, ended_at, status in sorted(ends.values(), key=lambda e: e[1]):
            feeds.ended.setdefault(agent_id, deque()).append((ended_at, status))
        for ts, raw in ctx.conn.execute(
            "SELECT ts, data FROM events WHERE workspace = ? AND type = 'command.updated'"
            " AND ts >= ? ORDER BY id",
            (workspace, now - s.seconds(s.command_expired.window_minutes)),
        ):
            self._apply_command(feeds, ts, json.loads(raw))
        for alert in fleet.alerts.values():
            if alert.rule == "sla_breached":
                # its last value is how late the task was when it was last seen
                late = s.seconds(alert.last_value if alert.last_value is not None
                                 else alert.value)
                feeds.sla[alert.subject_id] = SlaBreach(
                    task_id=alert.subject_id, deadline=alert.last_seen - late,
                    breached_at=alert.raised_at, label=alert.subject_id,
                )
        return feeds
