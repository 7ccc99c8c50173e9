"""The Costs screen's trend under Pilot against a live server: `t` switches it between the
window's own buckets and spend per UTC day, week and month, and the axis under the chart
names the buckets' dates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Sparkline, Static

from agentops_tui.client.connection import Connection
from agentops_tui.tui.app import AgentOpsApp, create_app
from agentops_tui.tui.screens.costs import time_axis

from conftest import LiveServer, start_server
from factories import agent, started, usage
from tui_support import until

pytestmark = pytest.mark.integration


@pytest.fixture
def pinned(tmp_path: Path) -> Iterator[tuple[LiveServer, float]]:
    now = float(int(time.time()))
    srv = start_server(tmp_path / "costs.db", heartbeat_seconds=1.0, clock=lambda: now)
    try:
        yield srv, now
    finally:
        srv.server.stop()


def _week_start(ts: float) -> float:
    day = datetime.fromtimestamp(ts, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day - timedelta(days=day.weekday())).timestamp()


def _month_start(ts: float) -> float:
    moment = datetime.fromtimestamp(ts, UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp()


def _text(app: AgentOpsApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def _title_says(pilot: Any, app: AgentOpsApp, words: str) -> None:
    await until(pilot, lambda: words in _text(app, "#costs-title"), what=f"title: {words}")


async def test_the_trend_switches_between_day_week_and_month(
    pinned: tuple[LiveServer, float],
) -> None:
    srv, now = pinned
    week, month = _week_start(now), _month_start(now)
    spend = [(week - 60, 1), (week, 2), (month - 60, 4), (now, 8)]  # millions of tokens, $3 each
    with srv.client() as c:
        c.post("/api/v1/ingest", json={"events": [
            agent("ag-1"), started("se-1", "ag-1", ts=min(t for t, _ in spend) - 60),
            *(usage("se-1", inp=m * 1_000_000, out=0, ts=t) for t, m in spend),
        ]}).raise_for_status()
        expected: dict[str, Any] = {
            bucket: c.get("/api/v1/costs/timeline",
                          params={"bucket": bucket, "window": window}).json()
            for bucket, window in (("1d", "30d"), ("1w", "90d"), ("1mo", "90d"), ("1h", "24h"))
        }
    app = create_app(Connection(srv.url, srv.token), clock=lambda: now)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "ag-1" in app.fleet.agents, what="the snapshot")
        await pilot.press("4")
        trend = app.screen.query_one("#costs-trend", Sparkline)
        await _title_says(pilot, app, "trend per 1h,")

        for bucket, words in (("1d", "trend per UTC day over 30d"),
                              ("1w", "trend per week (Mon, UTC) over 90d"),
                              ("1mo", "trend per month (UTC) over 90d"),
                              ("1h", "trend per 1h,")):
            await pilot.press("t")
            await _title_says(pilot, app, words)
            buckets = expected[bucket]["buckets"]
            assert list(trend.data or []) == [b["cost_usd"] for b in buckets]
            axis = app.screen.query_one("#costs-axis", Static)
            width = axis.content_region.width
            assert width > 100 and str(axis.render()).strip()
            assert str(axis.render()) == time_axis([b["start"] for b in buckets], width, bucket)

        # the week and month buckets hold the spend either side of their boundaries
        weekly = {b["start"]: b["cost_usd"] for b in expected["1w"]["buckets"]}
        assert weekly[week] == 3.0 * (2 + 8 + (4 if month - 60 >= week else 0))
        monthly = {b["start"]: b["cost_usd"] for b in expected["1mo"]["buckets"]}
        assert monthly[month] == 3.0 * (8 + sum(m for t, m in spend[:2] if t >= month))
        assert "t trend" in _text(app, "#costs-title")


def test_calendar_buckets_are_labelled_in_utc() -> None:
    monday = datetime(2025, 10, 6, tzinfo=UTC).timestamp()
    weeks = [monday + 7 * 86400 * i for i in range(13)]
    axis = time_axis(weeks, 60, "1w")
    assert axis.startswith("06 Oct") and axis.endswith("29 Dec") and len(axis) == 60
    months = [datetime(2025, m, 1, tzinfo=UTC).timestamp() for m in (9, 10, 11, 12)]
    axis = time_axis(months, 40, "1mo")
    assert axis.startswith("Sep 2025") and axis.endswith("Dec 2025")
    assert "Nov 2025" in axis  # the middle one
    days = [datetime(2025, 10, d, tzinfo=UTC).timestamp() for d in range(1, 31)]
    assert time_axis(days, 40, "1d").startswith("Wed 01")
