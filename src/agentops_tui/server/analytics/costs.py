"""Cost queries over the minute rollups: totals per agent/task/model and timelines.

Windows end now and start at the beginning of the minute that holds `now - window` (the
rollups' resolution), so a 24h window covers between 24h and 24h + 59s of spend. Timeline
buckets are aligned to multiples of their size since the epoch (UTC midnight for `1d`), weeks
start on Monday 00:00 UTC and months on the 1st, 00:00 UTC (`periods`); every bucket from the
one holding the window's start to the current one is returned, empty ones as zeros, so charts
need no gap handling.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from agentops_tui.server.analytics import periods
from agentops_tui.server.analytics.rollups import to_usd
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import totals
from agentops_tui.server.store.writer import Rejected

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
MAX_WINDOW = 90 * 86400
# fixed sizes in seconds; `1w` (Monday 00:00 UTC) and `1mo` (UTC calendar months) are
# calendar buckets, `periods.CALENDAR`, and a month has no fixed size
BUCKETS: dict[str, int | None] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400,
                                  "1w": 604800, "1mo": None}
MAX_BUCKETS = 5000
GROUPS = {"agent": "agent_id", "task": "task_id", "model": "model"}
WINDOW_PATTERN = _SPAN.pattern  # published as the `window` parameters' schema
_COST_TOTALS = totals("cost_e10", "input_tokens", "output_tokens", "cache_read_tokens",
                      "cache_write_tokens", "usage_events", "unpriced_events")


def parse_window(raw: str, name: str = "window") -> float:
    """'90s', '15m', '24h', '7d', '2w' -> seconds (at most 90 days)."""
    match = _SPAN.match(raw or "")
    if match is None:
        raise Rejected(
            422, "invalid_request",
            f"{name}: {raw!r} is not a duration; use a number and a unit s, m, h, d or w"
            " (e.g. 15m, 24h, 7d)",
            [{"field": name, "message": "not a duration"}],
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 60 or seconds > MAX_WINDOW:
        raise Rejected(
            422, "invalid_request", f"{name}: must be between 1m and 90d, got {raw!r}",
            [{"field": name, "message": "out of range"}],
        )
    return seconds


def parse_bucket(raw: str) -> str:
    if raw not in BUCKETS:
        raise Rejected(
            422, "invalid_request",
            f"bucket: {raw!r} is not a bucket size; use one of {', '.join(BUCKETS)}",
            [{"field": "bucket", "message": "unknown bucket size", "allowed": list(BUCKETS)}],
        )
    return raw


def parse_group(raw: str | None, *, required: bool) -> str | None:
    if raw is None and not required:
        return None
    if raw not in GROUPS:
        raise Rejected(
            422, "invalid_request",
            f"group_by: {raw!r} is not a grouping; use agent, task or model",
            [{"field": "group_by", "message": "unknown grouping", "allowed": list(GROUPS)}],
        )
    return raw


def window_start_minute(now: float, window: float) -> int:
    return int((now - window) // 60)


def _key(value: str) -> str | None:
    # Rows without a task (or whose model nobody named) are stored under '' and shown as null.
    return value or None


@dataclass(frozen=True)
class CostQuery:
    workspace: str
    now: float
    window: float

    @property
    def start_minute(self) -> int:
        return window_start_minute(self.now, self.window)


def cost_rows(conn: Connection, q: CostQuery, group: str) -> dict[str, Any]:
    column = GROUPS[group]
    start = q.start_minute
    rows = conn.execute(
        f"SELECT {column}, {_COST_TOTALS} FROM cost_rollup WHERE workspace = ?"
        f" AND minute >= ? GROUP BY {column}",
        (q.workspace, start),
    ).fetchall()
    sessions = dict(
        conn.execute(
            f"SELECT {column}, count(DISTINCT session_id) FROM cost_sessions"
            f" WHERE workspace = ? AND last_ts >= ? GROUP BY {column}",
            (q.workspace, start * 60.0),
        ).fetchall()
    )
    unpriced = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT model FROM cost_rollup WHERE workspace = ? AND minute >= ?"
            " AND unpriced_events > 0 ORDER BY model",
            (q.workspace, start),
        )
    ]
    total = sum(int(r[1] or 0) for r in rows)
    out = [
        {
            "key": _key(r[0]),
            "cost_usd": to_usd(r[1]),
            "input_tokens": int(r[2] or 0),
            "output_tokens": int(r[3] or 0),
            "cache_read_tokens": int(r[4] or 0),
            "cache_write_tokens": int(r[5] or 0),
            "sessions": int(sessions.get(r[0], 0)),
            "usage_events": int(r[6] or 0),
            "unpriced_events": int(r[7] or 0),
        }
        for r in rows
    ]
    out.sort(key=lambda row: (-float(row["cost_usd"] or 0), str(row["key"] or "")))
    return {
        "rows": out,
        "total_usd": to_usd(total),
        "since": start * 60.0,
        "unpriced_models": [m or None for m in unpriced],
    }


def _bucket_starts(q: CostQuery, bucket: str) -> tuple[list[int], int]:
    """Start minutes of every bucket of the window, and the fixed size in minutes the SQL
    groups by (a day for calendar buckets, which are folded from days here)."""
    last_minute = int(q.now // 60)
    if bucket in periods.CALENDAR:
        return periods.calendar_starts(bucket, q.start_minute, last_minute), periods.DAY_MINUTES
    size = BUCKETS[bucket]
    assert size is not None  # only calendar months have no fixed size
    minutes = size // 60
    first = (q.start_minute // minutes) * minutes
    count = (last_minute // minutes * minutes - first) // minutes + 1
    if count > MAX_BUCKETS:
        raise Rejected(
            422, "invalid_request",
            f"bucket: {count} buckets of that size would cover the window; at most"
            f" {MAX_BUCKETS} (use a bigger bucket or a shorter window)",
            [{"field": "bucket", "message": "too many buckets for the window"}],
        )
    return [first + i * minutes for i in range(count)], minutes


def timeline(
    conn: Connection, q: CostQuery, bucket: str, group: str | None
) -> dict[str, Any]:
    starts, minutes = _bucket_starts(q, bucket)
    column = GROUPS[group] if group else "''"
    rows = conn.execute(
        f"SELECT (minute / ?) * ? AS b, {column},"
        f" {totals('cost_e10', 'input_tokens', 'output_tokens')} FROM cost_rollup"
        # grouped by the bucket alone without a group: PostgreSQL groups by no constant
        f" WHERE workspace = ? AND minute >= ? GROUP BY b{', ' + column if group else ''}",
        (minutes, minutes, q.workspace, starts[0]),
    ).fetchall()
    buckets: dict[int, dict[str, Any]] = {}
    for start in starts:
        entry: dict[str, Any] = {
            "start": start * 60.0,
            "end": periods.bucket_end(bucket, start, minutes) * 60.0,
            "cost_usd": 0.0, "input_tokens": 0, "output_tokens": 0, "_units": 0,
        }
        if group:
            entry["_groups"] = {}
        buckets[start] = entry
    for b, key, units, inp, out in rows:
        # the bucket holding this group of minutes: itself, or the week or month of its day
        at = bisect_right(starts, int(b)) - 1
        if at < 0 or int(b) >= periods.bucket_end(bucket, starts[at], minutes):
            continue  # spend stamped in the future
        found = buckets[starts[at]]
        found["_units"] += int(units or 0)
        found["input_tokens"] += int(inp or 0)
        found["output_tokens"] += int(out or 0)
        if group:
            sums = found["_groups"].setdefault(key, [0, 0, 0])
            sums[0] += int(units or 0)
            sums[1] += int(inp or 0)
            sums[2] += int(out or 0)
    result = []
    for start in starts:
        entry = buckets[start]
        entry["cost_usd"] = to_usd(entry.pop("_units"))
        if group:
            entry["groups"] = sorted(
                ({"key": _key(key), "cost_usd": to_usd(units), "input_tokens": inp,
                  "output_tokens": out}
                 for key, (units, inp, out) in entry.pop("_groups").items()),
                key=lambda g: (-g["cost_usd"], g["key"] or ""))
        result.append(entry)
    return {"buckets": result, "bucket_seconds": BUCKETS.get(bucket),
            "since": starts[0] * 60.0}
