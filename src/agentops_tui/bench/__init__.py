"""The performance suite behind `agentops bench` (DESIGN.md, "Budgets").

Every benchmark runs real parts: a uvicorn server in its own process on 127.0.0.1:0 over a
SQLite file, load generators in their own processes, real SSE clients, the console under
Pilot or on a pseudo-terminal. Each figure comes with a baseline measured in the same run,
because the machines it runs on are small and shared.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Result:
    """One figure. `ok` is None when it has no budget or could not be measured here."""

    name: str
    value: float | None
    unit: str
    budget: str  # ">= 50000", "<= 50", "" when only informative
    ok: bool | None
    baseline: float | None
    note: str = ""  # what the baseline is, or why there is no value

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check(
    name: str,
    value: float,
    unit: str,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    baseline: float | None = None,
    note: str = "",
) -> Result:
    """A result judged against its budget (one bound, or none for an informative figure)."""
    if at_least is not None:
        return Result(name, value, unit, f">= {at_least:g}", value >= at_least, baseline, note)
    if at_most is not None:
        return Result(name, value, unit, f"<= {at_most:g}", value <= at_most, baseline, note)
    return Result(name, value, unit, "", None, baseline, note)


def unavailable(name: str, unit: str, budget: str, why: str) -> Result:
    return Result(name, None, unit, budget, None, None, f"not available: {why}")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
