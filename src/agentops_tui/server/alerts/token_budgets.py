"""Budgets in tokens, beside the USD ones: a task's total, an agent's and the workspace's
tokens today (UTC). Which kinds count (input, output, cache reads, cache writes) is the
`[alerts.budget_tokens] count` setting.

Totals are loaded from the cost rollups on first use (plus what the checkpoint has not
written yet) and kept up to date from `session.usage` in the writer thread, as the USD
budgets are; a reloaded workspace starts again from the tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.alerts.config import AlertSettings
from agentops_tui.server.store.dialect import total
from agentops_tui.server.store.rollup_fold import CostKey, RollupFold
from agentops_tui.server.store.writer import LoggedEvent, WriteContext

DAY = 86400
# token kind -> (its rollup column, its usage field, its place in the pending sums)
KINDS: dict[str, tuple[str, str, int]] = {
    "input": ("input_tokens", "input_tokens", 1),
    "output": ("output_tokens", "output_tokens", 2),
    "cache_read": ("cache_read_tokens", "cache_read_tokens", 3),
    "cache_write": ("cache_write_tokens", "cache_write_tokens", 4),
}


@dataclass
class TokenTotals:
    """One workspace's token totals, loaded lazily."""

    fleet: Fleet
    workspace: str
    task: dict[str, int] = field(default_factory=dict)  # lifetime
    agent_day: dict[tuple[str, int], int] = field(default_factory=dict)  # per UTC day
    workspace_day: dict[int, int] = field(default_factory=dict)
    touched_tasks: set[str] = field(default_factory=set)  # since the last evaluation
    touched_agents: set[str] = field(default_factory=set)


class TokenFeeds:
    def __init__(self, settings: AlertSettings,
                 rollups: Callable[[], RollupFold | None] = lambda: None) -> None:
        self.settings = settings
        self.by_workspace: dict[str, TokenTotals] = {}
        self._rollups = rollups  # usage committed but not yet in `cost_rollup`
        budgets = settings.budget_tokens
        self._sum_sql = total(" + ".join(KINDS[k][0] for k in budgets.count))
        self._fields = tuple(KINDS[k][1] for k in budgets.count)
        self._pending_at = tuple(KINDS[k][2] for k in budgets.count)
        # settings are frozen: decided once, as every usage report asks
        self.active = budgets.task.active or budgets.agent.active or budgets.workspace.active

    def handlers(self) -> dict[str, Callable[[WriteContext, LoggedEvent], None]]:
        return {"session.usage": self._usage}

    def observe(self, ctx: WriteContext, event: LoggedEvent) -> None:
        if event.type == "session.usage":
            self._usage(ctx, event)

    def of(self, ctx: WriteContext, workspace: str) -> TokenTotals:
        fleet = ctx.fleet(workspace)
        found = self.by_workspace.get(workspace)
        if found is None or found.fleet is not fleet:
            found = self.by_workspace[workspace] = TokenTotals(fleet=fleet, workspace=workspace)
        return found

    # ---- totals (loaded from the rollups on first use) --------------------------------------

    def _load(self, ctx: WriteContext, workspace: str, where: str, args: tuple[object, ...],
              match: Callable[[CostKey], bool]) -> int:
        rollups = self._rollups()
        # one checkpoint committing between the read and the addition would count twice
        with contextlib.nullcontext() if rollups is None else rollups.landing:
            row = ctx.conn.execute(
                f"SELECT {self._sum_sql} FROM cost_rollup WHERE workspace = ?{where}",
                (workspace, *args),
            ).fetchone()
            tokens = int(row[0] or 0)
            if rollups is not None:
                tokens += sum(sum(int(values[i]) for i in self._pending_at)
                              for key, values in rollups.unwritten_costs()
                              if key[0] == workspace and match(key))
        return tokens

    def task_tokens(self, ctx: WriteContext, totals: TokenTotals, task_id: str) -> int:
        found = totals.task.get(task_id)
        if found is None:
            found = totals.task[task_id] = self._load(
                ctx, totals.workspace, " AND task_id = ?", (task_id,), lambda k: k[3] == task_id)
        return found

    def agent_day_tokens(self, ctx: WriteContext, totals: TokenTotals, agent_id: str,
                         day: int) -> int:
        found = totals.agent_day.get((agent_id, day))
        if found is None:
            first, end = day * 1440, (day + 1) * 1440
            found = totals.agent_day[(agent_id, day)] = self._load(
                ctx, totals.workspace, " AND agent_id = ? AND minute >= ? AND minute < ?",
                (agent_id, first, end), lambda k: k[2] == agent_id and first <= k[1] < end)
        return found

    def workspace_day_tokens(self, ctx: WriteContext, totals: TokenTotals, day: int) -> int:
        found = totals.workspace_day.get(day)
        if found is None:
            first, end = day * 1440, (day + 1) * 1440
            found = totals.workspace_day[day] = self._load(
                ctx, totals.workspace, " AND minute >= ? AND minute < ?", (first, end),
                lambda k: first <= k[1] < end)
        return found

    # ---- observing ----------------------------------------------------------------------

    def _usage(self, ctx: WriteContext, event: LoggedEvent) -> None:
        if not self.active:
            return
        data = event.data
        tokens = sum(int(data.get(name) or 0) for name in self._fields)
        if tokens <= 0:
            return
        totals = self.of(ctx, event.workspace)
        session = totals.fleet.sessions.get(data["session_id"])
        if session is None:
            return
        # each total is loaded before this event is added: the tables cannot hold it yet
        if session.task_id:
            totals.task[session.task_id] = self.task_tokens(ctx, totals, session.task_id) + tokens
            totals.touched_tasks.add(session.task_id)
        day = int(event.ts // DAY)
        key = (session.agent_id, day)
        totals.agent_day[key] = self.agent_day_tokens(ctx, totals, session.agent_id, day) + tokens
        totals.workspace_day[day] = self.workspace_day_tokens(ctx, totals, day) + tokens
        totals.touched_agents.add(session.agent_id)
