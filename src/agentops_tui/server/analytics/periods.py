"""Calendar buckets for cost trends: UTC weeks (starting Monday) and UTC calendar months.

Fixed-size buckets (a minute, an hour, a day) line up with multiples of their size since the
epoch, so SQL can group by `minute / size`. Weeks and months cannot: the epoch fell on a
Thursday and months differ in length. Their boundaries are computed here, in Python, and the
store is asked only for day sums (every week and month is a run of whole UTC days), so the
SQL stays the same on every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

DAY_MINUTES = 1440


def _utc(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def week_start(minute: int) -> int:
    """The minute Monday 00:00 UTC of the week holding `minute`."""
    day = minute // DAY_MINUTES * DAY_MINUTES
    return day - _utc(day).weekday() * DAY_MINUTES


def next_week(start: int) -> int:
    return start + 7 * DAY_MINUTES


def month_start(minute: int) -> int:
    """The minute the UTC calendar month holding `minute` began (the 1st, 00:00 UTC)."""
    moment = _utc(minute)
    return _minute(datetime(moment.year, moment.month, 1, tzinfo=UTC))


def next_month(start: int) -> int:
    moment = _utc(start)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return _minute(datetime(year, month, 1, tzinfo=UTC))


# bucket name -> (the start of the bucket holding a minute, the start of the next bucket)
CALENDAR: dict[str, tuple[Callable[[int], int], Callable[[int], int]]] = {
    "1w": (week_start, next_week),
    "1mo": (month_start, next_month),
}


def calendar_starts(bucket: str, first_minute: int, last_minute: int) -> list[int]:
    """Start minutes of every `bucket` (1w, 1mo) from the one holding `first_minute` to the
    one holding `last_minute`, in order."""
    align, following = CALENDAR[bucket]
    starts = [align(first_minute)]
    while (upcoming := following(starts[-1])) <= last_minute:
        starts.append(upcoming)
    return starts


def bucket_end(bucket: str, start: int, minutes: int) -> int:
    """The minute the bucket starting at `start` ends (exclusive)."""
    if bucket in CALENDAR:
        return CALENDAR[bucket][1](start)
    return start + minutes

