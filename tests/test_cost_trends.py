"""Cost trends by day, UTC week (from Monday) and UTC calendar month, against a real server
over a real SQLite file: exact sums, and spend one minute either side of each boundary
landing in the right bucket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import LiveServer, start_server
from factories import agent, started, usage

pytestmark = pytest.mark.integration  # real servers

DAY = 86400
MILLION_IN = 3.0  # USD for 1M input tokens of claude-sonnet-4 (data/prices.toml)


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _month_start(ts: float) -> float:
    moment = _utc(ts)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp()


def _previous_month_start(ts: float) -> float:
    return _month_start(_month_start(ts) - 1)


def _week_start(ts: float) -> float:
    day = _utc(ts).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day - timedelta(days=day.weekday())).timestamp()


@pytest.fixture
def pinned(tmp_path: Path) -> Iterator[tuple[LiveServer, float]]:
    """A server whose "now" stays put, so the windows' buckets cannot move under a test."""
    now = float(int(time.time()))
    srv = start_server(tmp_path / "trends.db", heartbeat_seconds=1.0, clock=lambda: now)
    try:
        yield srv, now
    finally:
        srv.server.stop()


def _spend(c: httpx.Client, at: list[tuple[float, int]]) -> None:
    """One usage report per (time, millions of input tokens): $3 per million."""
    events: list[dict[str, Any]] = [agent("ag-1"), agent("ag-2", model="gpt-4o"),
                                    started("se-1", "ag-1", ts=min(t for t, _ in at) - 60),
                                    started("se-2", "ag-2", ts=min(t for t, _ in at) - 60)]
    for ts, millions in at:
        events.append(usage("se-1", inp=millions * 1_000_000, out=0, ts=ts))
    r = c.post("/api/v1/ingest", json={"events": events})
    assert r.status_code == 202, r.text


def _timeline(c: httpx.Client, **params: str) -> dict[str, Any]:
    r = c.get("/api/v1/costs/timeline", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _by_start(body: dict[str, Any]) -> dict[float, float]:
    return {b["start"]: b["cost_usd"] for b in body["buckets"]}


def test_weeks_start_monday_utc_and_split_at_midnight(pinned: tuple[LiveServer, float]) -> None:
    srv, now = pinned
    this_week = _week_start(now)
    last_week = this_week - 7 * DAY
    with srv.client() as c:
        _spend(c, [
            (this_week - 60, 1),  # Sunday 23:59 UTC: last week
            (this_week, 2),  # Monday 00:00 UTC: this week
            (last_week, 4),  # the first minute of last week
            (last_week - 1, 8),  # the Sunday before: the week before that
            (now, 16),  # this minute
        ])
        body = _timeline(c, bucket="1w", window="14d")

    starts = [b["start"] for b in body["buckets"]]
    assert all(_utc(s).weekday() == 0 and s % DAY == 0 for s in starts)  # Mondays, 00:00 UTC
    assert [b["end"] - b["start"] for b in body["buckets"]] == [7 * DAY] * len(starts)
    assert starts[-1] == this_week and starts == sorted(starts)
    assert body["since"] == starts[0] and body["bucket_seconds"] == 7 * DAY
    assert starts[0] <= now - 14 * DAY < starts[0] + 7 * DAY  # the week holding the start
    spend = _by_start(body)
    assert spend[this_week] == (2 + 16) * MILLION_IN
    assert spend[last_week] == (1 + 4) * MILLION_IN
    assert spend[last_week - 7 * DAY] == 8 * MILLION_IN
    assert round(sum(spend.values()), 10) == 31 * MILLION_IN
    week = next(b for b in body["buckets"] if b["start"] == this_week)
    assert (week["input_tokens"], week["output_tokens"], week["groups"]) == (18_000_000, 0, None)


def test_months_are_calendar_months_utc(pinned: tuple[LiveServer, float]) -> None:
    srv, now = pinned
    this_month = _month_start(now)
    last_month = _previous_month_start(now)
    with srv.client() as c:
        _spend(c, [
            (this_month - 1, 1),  # the last second of last month
            (this_month, 2),  # the first second of this one
            (last_month, 4),  # the first minute of last month
            (now, 16),
        ])
        body = _timeline(c, bucket="1mo", window="60d")
        by_agent = _timeline(c, bucket="1mo", window="60d", group_by="agent")

    starts = [b["start"] for b in body["buckets"]]
    assert all(_utc(s).day == 1 and s % DAY == 0 for s in starts)
    assert starts[-2:] == [last_month, this_month]
    assert [b["end"] for b in body["buckets"]] == [*starts[1:], _month_start(this_month + 32 * DAY)]
    assert body["bucket_seconds"] is None and body["bucket"] == "1mo"
    spend = _by_start(body)
    assert spend[this_month] == (2 + 16) * MILLION_IN
    assert spend[last_month] == (1 + 4) * MILLION_IN
    assert round(sum(spend.values()), 10) == 23 * MILLION_IN
    groups = {b["start"]: b["groups"] for b in by_agent["buckets"]}
    assert groups[this_month] == [{"key": "ag-1", "cost_usd": 54.0, "input_tokens": 18_000_000,
                                   "output_tokens": 0}]


def test_days_split_at_utc_midnight(pinned: tuple[LiveServer, float]) -> None:
    srv, now = pinned
    today = now // DAY * DAY
    with srv.client() as c:
        _spend(c, [(today - 60, 1), (today, 2), (today - 3 * DAY, 4), (now, 8)])
        body = _timeline(c, bucket="1d", window="7d")

    starts = [b["start"] for b in body["buckets"]]
    assert starts == [starts[0] + DAY * i for i in range(len(starts))] and len(starts) == 8
    assert all(b["end"] == b["start"] + DAY for b in body["buckets"])
    spend = _by_start(body)
    assert spend[today] == (2 + 8) * MILLION_IN
    assert spend[today - DAY] == 1 * MILLION_IN
    assert spend[today - 3 * DAY] == 4 * MILLION_IN
    assert round(sum(spend.values()), 10) == 15 * MILLION_IN


def test_a_short_window_still_names_its_whole_calendar_bucket(
    pinned: tuple[LiveServer, float],
) -> None:
    srv, now = pinned
    with srv.client() as c:
        body = _timeline(c, bucket="1mo", window="1h")
    [only] = body["buckets"]
    assert only["start"] == _month_start(now - 3600) and only["cost_usd"] == 0.0


@pytest.mark.parametrize("bucket", ["2w", "1month", "1M", "week", ""])
def test_an_unknown_bucket_is_422_naming_it(
    pinned: tuple[LiveServer, float], bucket: str,
) -> None:
    srv, _ = pinned
    with srv.client() as c:
        r = c.get("/api/v1/costs/timeline", params={"bucket": bucket, "window": "30d"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("bucket:"), r.json()


async def test_the_client_returns_typed_reports(pinned: tuple[LiveServer, float]) -> None:
    from agentops_tui.client.api import ApiClient, ApiError
    from agentops_tui.reports import CostTable, CostTimeline

    srv, now = pinned
    month = _month_start(now)
    with srv.client() as c:
        _spend(c, [(month, 1), (now, 2)])
    api = ApiClient(srv.url, srv.token)
    try:
        table = await api.costs("agent", "60d")
        months = await api.costs_timeline("1mo", "60d", group_by="agent")
        with pytest.raises(ApiError) as err:
            await api.costs_timeline("1y", "60d")
    finally:
        await api.close()
    assert isinstance(table, CostTable) and table.total_usd == 9.0
    assert [(r.key, r.name, r.input_tokens) for r in table.rows] == [
        ("ag-1", "name-ag-1", 3_000_000)]
    assert isinstance(months, CostTimeline) and months.bucket_seconds is None
    current = months.buckets[-1]
    assert (current.start, current.cost_usd) == (month, 9.0)
    assert current.groups is not None and [g.key for g in current.groups] == ["ag-1"]
    assert err.value.status == 422 and err.value.message.startswith("bucket:")
