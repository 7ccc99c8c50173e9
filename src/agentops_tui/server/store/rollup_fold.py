"""Rollups folded from the log: cost per minute, tool calls per minute, finished runs.

A fold of the state checkpoint (`checkpoint.Fold`): each event adds to the current group's
sums; those join the pending sums once the group commits, and the checkpoint writes them
with one `executemany` upsert per table. A rolled-back group leaves no trace, and the log
after `state_through` is folded again on open, so the rollups count every acknowledged event
exactly once.

Money is kept as integer units of 1e-10 USD (the precision prices are rounded to), so sums
over any window are exact and the API reports the same figures the price table gives.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from agentops_tui.server.store.checkpoint import Handler
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import larger, upsert
from agentops_tui.server.store.write_context import LoggedEvent, WriteContext

_SESSION_RUNS_REPLACE = upsert(
    "session_runs", ("workspace", "session_id", "agent_id", "task_id", "status", "started_at",
                     "ended_at", "duration"), ("workspace", "session_id"))
_COSTS_ADD = (
    "INSERT INTO cost_rollup (workspace, minute, agent_id, task_id, model, cost_e10,"
    " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
    " usage_events, unpriced_events) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (workspace, minute, agent_id, task_id, model) DO UPDATE SET"
    " cost_e10 = cost_rollup.cost_e10 + excluded.cost_e10,"
    " input_tokens = cost_rollup.input_tokens + excluded.input_tokens,"
    " output_tokens = cost_rollup.output_tokens + excluded.output_tokens,"
    " cache_read_tokens = cost_rollup.cache_read_tokens + excluded.cache_read_tokens,"
    " cache_write_tokens = cost_rollup.cache_write_tokens + excluded.cache_write_tokens,"
    " usage_events = cost_rollup.usage_events + excluded.usage_events,"
    " unpriced_events = cost_rollup.unpriced_events + excluded.unpriced_events")
_SESSIONS_SEEN = (
    "INSERT INTO cost_sessions (workspace, session_id, model, agent_id, task_id, last_ts)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT (workspace, session_id, model) DO UPDATE SET"
    " agent_id = excluded.agent_id, task_id = excluded.task_id,"
    f" last_ts = {larger('cost_sessions', 'last_ts')}")
_TOOLS_ADD = (
    "INSERT INTO tool_rollup (workspace, minute, tool, agent_id, calls, errors, timed_calls,"
    " duration_ms) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (workspace, minute, tool, agent_id)"
    " DO UPDATE SET calls = tool_rollup.calls + excluded.calls,"
    " errors = tool_rollup.errors + excluded.errors,"
    " timed_calls = tool_rollup.timed_calls + excluded.timed_calls,"
    " duration_ms = tool_rollup.duration_ms + excluded.duration_ms")

USD_UNITS = 10_000_000_000  # 1e-10 USD


def to_units(usd: float) -> int:
    return round(usd * USD_UNITS)


def to_usd(units: int | float | None) -> float:
    return round((units or 0) / USD_UNITS, 10)


# Sums are written as SQLite integers, which stop at 2^63 - 1: in-range reports can still
# add up past it (a thousand $1M reports is 10^19 units), and one value too large for SQLite
# would fail the checkpoint. Saturated instead; the tables' own additions then turn to
# floats, and every read sums with total(), which cannot overflow.
MAX_STORED = 2**63 - 1

# (workspace, minute, agent_id, task_id, model) -> [cost, in, out, cache_r, cache_w, n, unpriced]
CostKey = tuple[str, int, str, str, str]
# (workspace, session_id, model) -> (agent_id, task_id, last_ts)
SessionKey = tuple[str, str, str]
# (workspace, minute, tool, agent_id) -> [calls, errors, timed_calls, duration_ms]
ToolKey = tuple[str, int, str, str]
# (workspace, session_id, agent_id, task_id, status, started_at, ended_at, duration)
RunRow = tuple[str, str, str, str | None, str, float, float, float]


@dataclass
class Sums:
    """Sums of some events, in the shape of the tables' rows."""

    costs: dict[CostKey, list[int]] = field(default_factory=dict)
    sessions: dict[SessionKey, tuple[str, str, float]] = field(default_factory=dict)
    tools: dict[ToolKey, list[float]] = field(default_factory=dict)
    runs: dict[tuple[str, str], RunRow] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.costs or self.sessions or self.tools or self.runs)

    def add(self, other: Sums) -> None:
        for key, values in other.costs.items():
            mine = self.costs.get(key)
            if mine is None:
                self.costs[key] = list(values)  # a copy: `other` may be kept (a segment)
            else:
                for i, v in enumerate(values):
                    mine[i] += v
        for skey, seen in other.sessions.items():
            previous = self.sessions.get(skey)
            if previous is None or seen[2] >= previous[2]:
                self.sessions[skey] = seen
        for tkey, tool in other.tools.items():
            had = self.tools.get(tkey)
            if had is None:
                self.tools[tkey] = list(tool)
            else:
                for j, w in enumerate(tool):
                    had[j] += w
        self.runs.update(other.runs)


class RollupFold:
    """Keeps `cost_rollup`, `cost_sessions`, `tool_rollup` and `session_runs` (writer
    thread only, but `committed`).

    A checkpoint written on another thread commits before the writer thread learns it
    landed: in between, its sums are in the tables and still in flight here. That thread
    commits under `landing` and then says so (`committed`); a reader adding what the tables
    lack to what it read from them does both under `landing` too, and counts each sum once.
    """

    def __init__(self, landing: threading.Lock | None = None) -> None:
        self.group = Sums()  # the group being committed
        self.pending = Sums()  # committed, not yet in the tables
        # each committed group's own sums, oldest first, while pending (`release`)
        self.segments: list[Sums] = []
        self._flight_segments: list[Sums] = []
        self.flight = Sums()  # being written by the checkpoint in flight
        self.landing = landing or threading.Lock()
        self._flight_in_tables = False

    def handlers(self) -> dict[str, Handler]:
        return {
            "session.usage": self._usage,
            "session.tool_call": self._tool,
            "session.ended": self._ended,
        }

    # ---- the fold -----------------------------------------------------------------------

    def _usage(self, ctx: WriteContext, event: LoggedEvent) -> None:
        data = event.data
        ws = event.workspace
        session = ctx.fleet(ws).sessions.get(data["session_id"])
        if session is None:
            return
        group = self.group
        model = data.get("model") or session.model or ""
        task = session.task_id or ""
        key = (ws, int(event.ts // 60), session.agent_id, task, model)
        sums = group.costs.get(key)
        if sums is None:
            sums = group.costs[key] = [0, 0, 0, 0, 0, 0, 0]
        sums[0] += to_units(float(data.get("cost_usd") or 0.0))
        sums[1] += int(data.get("input_tokens") or 0)
        sums[2] += int(data.get("output_tokens") or 0)
        sums[3] += int(data.get("cache_read_tokens") or 0)
        sums[4] += int(data.get("cache_write_tokens") or 0)
        sums[5] += 1
        if data.get("priced") is False:
            sums[6] += 1
        skey = (ws, session.id, model)
        previous = group.sessions.get(skey)
        if previous is None or event.ts > previous[2]:
            group.sessions[skey] = (session.agent_id, task, event.ts)

    def _tool(self, ctx: WriteContext, event: LoggedEvent) -> None:
        data = event.data
        session = ctx.fleet(event.workspace).sessions.get(data["session_id"])
        if session is None:
            return
        key = (event.workspace, int(event.ts // 60), str(data["tool"]), session.agent_id)
        sums = self.group.tools.get(key)
        if sums is None:
            sums = self.group.tools[key] = [0, 0, 0, 0.0]
        sums[0] += 1
        if data.get("status") == "error":
            sums[1] += 1
        duration = data.get("duration_ms")
        if duration is not None:
            sums[2] += 1
            sums[3] += float(duration)

    def _ended(self, ctx: WriteContext, event: LoggedEvent) -> None:
        session = ctx.fleet(event.workspace).sessions.get(event.data["session_id"])
        if session is None or session.ended_at is None:
            return
        duration = max(0.0, session.ended_at - session.started_at)
        self.group.runs[(event.workspace, session.id)] = (
            event.workspace, session.id, session.agent_id, session.task_id, session.status,
            session.started_at, session.ended_at, duration,
        )

    # ---- the checkpoint -----------------------------------------------------------------

    def group_committed(self) -> None:
        group, self.group = self.group, Sums()
        self.segments.append(group)  # one per committed group, empty or not
        if group:
            self.pending.add(group)

    def release(self, segments: int) -> None:
        """Another replica's checkpoint holds the oldest `segments` committed groups: their
        sums leave the pending ones, which are added up again from the groups left (a
        session's last time is a maximum, which cannot be taken back out)."""
        assert not self.flight, "releasing sums while a checkpoint is in flight"
        kept = self.segments[segments:]
        pending = Sums()
        for group in kept:
            pending.add(group)
        self.segments, self.pending = kept, pending

    def take(self) -> Callable[[Connection], None] | None:
        """The pending sums go in flight; their rows are built now, on the writer thread."""
        sums, self.flight, self.pending = self.pending, self.pending, Sums()
        self._flight_segments, self.segments = self.segments, []
        if not sums:
            return None
        statements = [(sql, rows) for sql, rows in (
            (_COSTS_ADD, [(*k, *(min(x, MAX_STORED) for x in v)) for k, v in sums.costs.items()]),
            (_SESSIONS_SEEN, [(*k, *v) for k, v in sums.sessions.items()]),
            (_TOOLS_ADD, [(*k, *v) for k, v in sums.tools.items()]),
            (_SESSION_RUNS_REPLACE, list(sums.runs.values()))) if rows]

        def write(conn: Connection) -> None:
            for sql, rows in statements:
                conn.executemany(sql, rows)

        return write

    def committed(self) -> None:
        self._flight_in_tables = True

    def landed(self) -> None:
        self.flight = Sums()
        self._flight_segments = []
        self._flight_in_tables = False

    def restore(self) -> None:
        """The checkpoint failed: its sums are pending again, the newer added on top."""
        assert not self._flight_in_tables
        if self.flight:
            self.flight.add(self.pending)
            self.pending = self.flight
        self.flight = Sums()
        self.segments = self._flight_segments + self.segments
        self._flight_segments = []

    def drop(self) -> None:
        self.group = Sums()
        self.pending = Sums()
        self.segments = []

    # ---- what the tables lack (for the alert feeds, which read them in the writer) ------

    def unwritten(self) -> list[Sums]:
        """The sums committed in the log that the tables lack (under `landing`, with the
        read of the tables they are added to)."""
        return [self.pending] if self._flight_in_tables else [self.flight, self.pending]

    def unwritten_costs(self) -> Iterator[tuple[CostKey, list[int]]]:
        for sums in self.unwritten():
            yield from sums.costs.items()

    def pending_cost(self, workspace: str, match: Callable[[CostKey], bool]) -> int:
        """Units of committed spend matching `match` that the checkpoint has not written."""
        return sum(v[0] for k, v in self.unwritten_costs() if k[0] == workspace and match(k))

    def pending_runs(self, workspace: str, since: float) -> list[RunRow]:
        """Committed finished runs (ended at or after `since`) not yet in `session_runs`."""
        runs = {k: r for sums in self.unwritten() for k, r in sums.runs.items()}
        return [r for r in runs.values() if r[0] == workspace and r[6] >= since]
