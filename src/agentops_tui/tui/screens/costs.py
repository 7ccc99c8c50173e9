"""4 Costs: spend by agent, task and model for a window, the trend, and the budgets.

Figures come from the backend's rollups (`/api/v1/costs`, `/costs/timeline`) and refresh every
few seconds while the screen is shown; budgets are the alert rules' thresholds, so "how close"
here means "how close to an alert".
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Sparkline, Static

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.core.fleet import Changes
from agentops_tui.tui import render
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine

WINDOWS = (("1h", "1m"), ("24h", "1h"), ("7d", "1d"))  # window, timeline bucket
REFRESH_SECONDS = 5.0
TOP = 8


def share_bar(value: float, total: float, width: int = 12) -> str:
    filled = 0 if total <= 0 else round(width * min(1.0, value / total))
    return "█" * filled + "·" * (width - filled)


def table(title: str, rows: list[dict[str, Any]], total: float, label: str) -> str:
    lines = [f"[b]{title}[/b]"]
    if not rows:
        lines.append("[dim]no spend in this window[/dim]")
    for row in rows[:TOP]:
        name = row.get("name") or row.get("key") or f"(no {label})"
        lines.append(
            f"{escape(str(name))[:22]:<22} {render.money(row['cost_usd']):>9} "
            f"{share_bar(row['cost_usd'], total)} "
            f"{render.tokens(row['input_tokens'] + row['output_tokens']):>7} "
            f"{row['sessions']:>4} sess"
        )
    if len(rows) > TOP:
        rest = sum(r["cost_usd"] for r in rows[TOP:])
        lines.append(f"[dim]+{len(rows) - TOP} more: {render.money(rest)}[/dim]")
    return "\n".join(lines)


def budget_lines(settings: dict[str, Any], today: float,
                 agents_today: list[dict[str, Any]]) -> str:
    budget = settings.get("budget", {})
    lines = ["[b]Budgets (alert thresholds)[/b]"]

    def line(label: str, spent: float, rule: dict[str, Any]) -> str:
        critical = rule.get("critical") or rule.get("warning")
        if not critical:
            return f"{label:<22} {render.money(spent):>9}  no budget set"
        pct = spent / critical * 100
        state = "over" if pct >= 100 else ("near" if rule.get("warning") and
                                           spent >= rule["warning"] else "ok")
        return (f"{escape(label)[:22]:<22} {render.money(spent):>9} of "
                f"{render.money(critical):<8} {share_bar(spent, critical)} {pct:5.1f}% {state}")

    lines.append(line("workspace today", today, budget.get("workspace", {})))
    for row in agents_today[:5]:
        lines.append(line(f"agent {row.get('name') or row.get('key')}", row["cost_usd"],
                          budget.get("agent", {})))
    return "\n".join(lines)


class CostsScreen(Screen[Any]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "window", "Window", id="costs-window"),
        Binding("R", "reload", "Reload", id="costs-reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.window_index = 1
        self._loaded_at = 0.0

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Costs", id="costs-title")
        yield Sparkline([], id="costs-trend")
        with Horizontal(id="costs-body"):
            with Vertical():
                yield Static("", id="costs-agents")
                yield Static("", id="costs-models")
            with Vertical():
                yield Static("", id="costs-tasks")
                yield Static("", id="costs-budgets")
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def update_state(self, changes: Changes | None) -> None:
        if time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            self.action_reload()

    def action_window(self) -> None:
        self.window_index = (self.window_index + 1) % len(WINDOWS)
        self.action_reload()

    def action_reload(self) -> None:
        self._loaded_at = time.monotonic()
        self._load()

    @work(group="costs", exclusive=True)
    async def _load(self) -> None:
        api = self.app.connection.api  # type: ignore[attr-defined]
        window, bucket = WINDOWS[self.window_index]
        try:
            by_agent = await api.costs("agent", window)
            by_task = await api.costs("task", window)
            by_model = await api.costs("model", window)
            timeline = await api.costs_timeline(bucket, window)
            today = await api.costs("agent", "24h")
            engine = await api.alert_engine()
        except (ApiError, BackendUnreachable) as exc:
            self.query_one("#costs-title", PaneTitle).show(f"Costs — unavailable: {exc}")
            return
        total = by_agent["total_usd"]
        spend = [b["cost_usd"] for b in timeline["buckets"]]
        peak = max(spend, default=0.0)
        self.query_one("#costs-trend", Sparkline).data = spend or [0.0]
        unpriced = [m for m in by_model.get("unpriced_models", []) if m]
        note = f" — unpriced models counted as $0: {', '.join(unpriced)}" if unpriced else ""
        self.query_one("#costs-title", PaneTitle).show(
            f"Costs — last {window}: {render.money(total)} (trend per {bucket}, peak "
            f"{render.money(peak)}) — w window{note}")
        self.query_one("#costs-agents", Static).update(
            table("By agent", by_agent["rows"], total, "agent"))
        self.query_one("#costs-tasks", Static).update(
            table("By task", by_task["rows"], total, "task"))
        self.query_one("#costs-models", Static).update(
            table("By model", by_model["rows"], total, "model"))
        self.query_one("#costs-budgets", Static).update(
            budget_lines(engine.get("settings", {}), today["total_usd"], today["rows"]))
