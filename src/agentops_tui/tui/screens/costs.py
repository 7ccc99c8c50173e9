"""4 Costs: spend by agent, task and model for a window, the trend, and the budgets.

Figures come from the backend's rollups (`/api/v1/costs`, `/costs/timeline`) and refresh every
few seconds while the screen is shown; budgets are the alert rules' thresholds, so "how close"
here means "how close to an alert". `w` picks the window of the tables (and of the trend, per
minute, hour or day); `t` turns the trend into spend per UTC day, week (from Monday) or
calendar month instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Sparkline, Static

from agentops_tui.client.api import ApiError, BackendUnreachable
from agentops_tui.core.fleet import Changes
from agentops_tui.tui import render
from agentops_tui.tui.actions import bindings_of
from agentops_tui.tui.base import ConsoleScreen
from agentops_tui.tui.widgets.pane_title import PaneTitle
from agentops_tui.tui.widgets.status_line import StatusLine

WINDOWS = (("1h", "1m"), ("24h", "1h"), ("7d", "1d"))  # window, timeline bucket


@dataclass(frozen=True)
class Trend:
    """What the trend chart shows: spend per `bucket` over `window` (None: the tables')."""

    bucket: str | None
    window: str | None


# `t` steps through these; the calendar trends reach as far back as the rollups are kept
TRENDS = (
    Trend(None, None),
    Trend("1d", "30d"),
    Trend("1w", "90d"),
    Trend("1mo", "90d"),
)
# axis labels of calendar buckets, in UTC as the buckets are; finer ones in local time
CALENDAR_LABELS = {"1d": "%a %d", "1w": "%d %b", "1mo": "%b %Y"}
REFRESH_SECONDS = 5.0
TOP = 8


def share_bar(value: float, total: float, width: int = 12) -> str:
    filled = 0 if total <= 0 else round(width * min(1.0, value / total))
    return "█" * filled + "·" * (width - filled)


def fit(text: str, width: int) -> str:
    """Cut to `width` cells with an ellipsis, padded to it (before markup escaping adds
    backslashes)."""
    return render.fit(text, width)


WIDE = 56  # a pane this wide shows share bars and tokens; narrower ones show the essentials


def table(title: str, rows: list[dict[str, Any]], total: float, label: str,
          width: int = WIDE, top: int = TOP) -> str:
    lines = [f"[b]{title}[/b]"]
    if not rows:
        lines.append("[dim]no spend in this window[/dim]")
    wide = width >= WIDE
    name_width = max(8, width - (38 if wide else 19))
    for row in rows[:top]:
        name = str(row.get("name") or row.get("key") or f"(no {label})")
        cost = render.money(row["cost_usd"], _partial(row))
        line = f"{escape(fit(name, name_width))} {cost:>9} "
        if wide:
            line += (f"{share_bar(row['cost_usd'], total, 10)} "
                     f"{render.tokens(row['input_tokens'] + row['output_tokens']):>7} ")
        lines.append(line + f"{row['sessions']:>3} sess")
    if len(rows) > top:
        rest = sum(r["cost_usd"] for r in rows[top:])
        partial = any(_partial(r) for r in rows[top:])
        lines.append(f"[dim]+{len(rows) - top} more: {render.money(rest, partial)}[/dim]")
    return "\n".join(lines)


def time_axis(starts: list[float], width: int, bucket: str) -> str:
    """A line under the trend: the first bucket's start at the left, the middle one's in the
    middle, the last one's at the right. Days, weeks and months are UTC calendar buckets and
    are labelled in UTC (a date, "06 Oct" for the week starting then, "Oct 2025"); finer
    buckets by the local time of day."""
    if not starts or width < 12:
        return ""
    form = CALENDAR_LABELS.get(bucket, "%H:%M")
    clock = time.gmtime if bucket in CALENDAR_LABELS else time.localtime

    def label(ts: float) -> str:
        return time.strftime(form, clock(ts))

    left, middle, right = label(starts[0]), label(starts[len(starts) // 2]), label(starts[-1])
    line = [" "] * width
    for text, at in ((left, 0), (right, width - len(right)),
                     (middle, width // 2 - len(middle) // 2)):
        if at < 0 or any(c != " " for c in line[max(0, at - 1):at + len(text) + 1]):
            continue  # no room without touching another label
        line[at:at + len(text)] = text
    return "".join(line)


def trend_words(bucket: str) -> str:
    """How the title names the trend's buckets."""
    return {"1d": "UTC day", "1w": "week (Mon, UTC)", "1mo": "month (UTC)"}.get(bucket, bucket)


def _partial(row: dict[str, Any]) -> bool:
    """Some of the row's usage had no price: its figure is a lower bound."""
    return bool(row.get("unpriced_events"))


def budget_lines(settings: dict[str, Any], today: float,
                 agents_today: list[dict[str, Any]], width: int = WIDE, top: int = 5) -> str:
    budget = settings.get("budget", {})
    lines = ["[b]Budgets today, UTC: workspace, agents[/b]",
             "[dim]% of critical; near = past warning[/dim]"]
    wide = width >= WIDE
    label_width = max(8, width - (45 if wide else 22))

    def line(label: str, spent: float, rule: dict[str, Any], partial: bool = False) -> str:
        head = f"{escape(fit(label, label_width))} {render.money(spent, partial):>9}"
        critical = rule.get("critical") or rule.get("warning")
        if not critical:
            return f"{head}  no budget"
        pct = spent / critical * 100
        state = "over" if pct >= 100 else ("near" if rule.get("warning") and
                                           spent >= rule["warning"] else "ok")
        if not wide:
            return f"{head} {pct:5.0f}% {state}"
        return (f"{head} of {render.money(critical):<8} {share_bar(spent, critical, 10)} "
                f"{pct:5.1f}% {state}")

    lines.append(line("workspace", today, budget.get("workspace", {}),
                      any(_partial(r) for r in agents_today)))
    for row in agents_today[:top]:
        lines.append(line(str(row.get("name") or row.get("key")), row["cost_usd"],
                          budget.get("agent", {}), _partial(row)))
    return "\n".join(lines)


def minutes_into_utc_day(now: float) -> int:
    """The window the daily budget rules count: from 00:00 UTC until now."""
    # whole minutes: the server's window starts at the minute `now - window` falls in, which
    # is then today's first minute (one more would reach back into yesterday)
    return max(1, int(now % 86400) // 60)


class CostsScreen(ConsoleScreen):
    PLACE = "costs"
    BINDINGS: ClassVar[list[BindingType]] = [*bindings_of(PLACE)]

    def __init__(self) -> None:
        super().__init__()
        self.window_index = 1
        self.trend_index = 0
        self._loaded_at = 0.0
        self._figures: tuple[dict[str, Any], ...] | None = None
        self._starts: list[float] = []
        self._bucket = "1h"

    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield PaneTitle("Costs", id="costs-title")
        yield Sparkline([], id="costs-trend")
        yield Static("", id="costs-axis")
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

    def action_trend(self) -> None:
        """The trend per the window's own bucket, per UTC day, week, month, and round."""
        self.trend_index = (self.trend_index + 1) % len(TRENDS)
        self.action_reload()

    def action_reload(self) -> None:
        self._loaded_at = time.monotonic()
        self._load()

    @work(group="costs", exclusive=True)
    async def _load(self) -> None:
        api = self.console.connection.api
        window, bucket = WINDOWS[self.window_index]
        trend = TRENDS[self.trend_index]
        trend_bucket, trend_window = trend.bucket or bucket, trend.window or window
        try:
            by_agent = await api.costs("agent", window)
            by_task = await api.costs("task", window)
            by_model = await api.costs("model", window)
            timeline = await api.costs_timeline(trend_bucket, trend_window)
            today = await api.costs(
                "agent", f"{minutes_into_utc_day(self.console.clock())}m")
            engine = (await api.alert_engine()).model_dump()
        except (ApiError, BackendUnreachable) as exc:
            if self.is_attached:
                self.query_one("#costs-title", PaneTitle).show(f"Costs — unavailable: {exc}")
            return
        if not self.is_attached:  # the console closed while the answer was on its way
            return
        total = by_agent.total_usd
        spend = [b.cost_usd for b in timeline.buckets]
        peak = max(spend, default=0.0)
        self.query_one("#costs-trend", Sparkline).data = spend or [0.0]
        self._starts = [b.start for b in timeline.buckets]
        self._bucket = trend_bucket
        unpriced = [m or "(no model)" for m in by_model.unpriced_models]
        note = f" — no price for {', '.join(unpriced)}: counted as $0" if unpriced else ""
        over = "" if trend.window is None else f" over {trend_window}"
        self.query_one("#costs-title", PaneTitle).show(
            f"Costs — last {window}: {render.money(total, bool(unpriced))} (trend per"
            f" {trend_words(trend_bucket)}{over}, peak {render.money(peak)}) — w window,"
            f" t trend{note}")
        # the tables lay out plain rows (as the pure helpers above take them)
        self._figures = (by_agent.model_dump(), by_task.model_dump(), by_model.model_dump(),
                         engine, today.model_dump())
        self._fill()

    def on_resize(self) -> None:
        self.call_after_refresh(self._fill)  # once the panes have their new width

    def _named_tasks(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows keyed by task id, named after the task where the console knows it."""
        tasks = self.console.fleet.tasks
        return [{**row, "name": tasks[row["key"]].name} if not row.get("name")
                and row.get("key") in tasks else row for row in rows]

    def _fill(self) -> None:
        """Lay the figures out for the panes' current width."""
        if self._figures is None:
            return
        by_agent, by_task, by_model, engine, today = self._figures
        total = by_agent["total_usd"]
        # two columns short of the pane, so the left and right panes never touch
        width = (self.query_one("#costs-agents", Static).content_region.width or WIDE + 2) - 2
        axis = self.query_one("#costs-axis", Static)
        axis.update(time_axis(self._starts, axis.content_region.width, self._bucket))
        # each column holds two tables: the rows its height has room for (less each one's
        # title, its "+N more" line and the gap between them), never fewer than three
        body = self.query_one("#costs-body").content_region.height
        top = max(3, (body - 6) // 2) if body else TOP
        self.query_one("#costs-agents", Static).update(
            table("By agent", by_agent["rows"], total, "agent", width, top))
        self.query_one("#costs-tasks", Static).update(
            table("By task", self._named_tasks(by_task["rows"]), total, "task", width, top))
        self.query_one("#costs-models", Static).update(
            table("By model", by_model["rows"], total, "model", width, top))
        self.query_one("#costs-budgets", Static).update(
            budget_lines(engine.get("settings", {}), today["total_usd"], today["rows"], width,
                         max(1, top - 1)))
