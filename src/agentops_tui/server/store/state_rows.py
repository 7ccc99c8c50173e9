"""Current-state rows: the agents, sessions, approvals and commands the events folded since
the last checkpoint touched, written by the next checkpoint (`checkpoint`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.models import Session
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import upsert

# Most events only move a session's counters; its other columns, two of them indexed, stay.
_SESSION_REPLACE = upsert(
    "sessions", ("workspace", "id", "agent_id", "parent_session_id", "task_id", "status", "model",
                 "started_at", "last_activity", "data"), ("workspace", "id"))
_AGENT_REPLACE = upsert(
    "agents", ("workspace", "id", "name", "status", "last_seen", "data"), ("workspace", "id"))
_APPROVAL_REPLACE = upsert(
    "approvals", ("workspace", "id", "session_id", "status", "data"), ("workspace", "id"))
_COMMAND_REPLACE = upsert(
    "commands", ("workspace", "id", "session_id", "agent_id", "status", "data"),
    ("workspace", "id"))
_SESSION_UPDATE = "UPDATE sessions SET last_activity = ?, data = ? WHERE workspace = ? AND id = ?"

SessionColumns = tuple[str, str | None, str | None, str, str | None, float]


def _columns(s: Session) -> SessionColumns:
    return (s.agent_id, s.parent_session_id, s.task_id, s.status, s.model, s.started_at)


class StateRows:
    """Writes the dirty current-state rows of a checkpoint (writer thread only).

    A session row is replaced whole only when a column other than `last_activity` and `data`
    changed since this writer last wrote it; otherwise an UPDATE of those two leaves the
    row's index entries alone, which takes half the time of a replace.
    """

    MAX_REMEMBERED = 100_000  # sessions whose written columns are remembered, at most

    def __init__(self) -> None:
        self._written: dict[tuple[str, str], SessionColumns] = {}

    def forget(self) -> None:
        """A checkpoint rolled back: what it wrote is no longer in the table."""
        self._written.clear()

    def take(
        self, fleets: dict[str, Fleet], touched: dict[str, Changes]
    ) -> Callable[[Connection], None] | None:
        """The dirty rows as they are now, and what writes them (None: there are none).
        Built here, on the writer thread; the writing may happen on another."""
        agents: list[tuple[Any, ...]] = []
        replaced: list[tuple[Any, ...]] = []
        updated: list[tuple[Any, ...]] = []
        approvals: list[tuple[Any, ...]] = []
        commands: list[tuple[Any, ...]] = []
        if len(self._written) > self.MAX_REMEMBERED:
            self._written.clear()  # those rows are simply replaced next time
        written = self._written
        for ws, changes in touched.items():
            fleet = fleets.get(ws)
            if fleet is None:
                continue
            for i in changes.agents:
                a = fleet.agents.get(i)
                if a is not None:
                    agents.append((ws, a.id, a.name, a.status, a.last_seen, a.model_dump_json()))
            for i in changes.sessions:
                s = fleet.sessions.get(i)
                if s is None:
                    continue
                columns = _columns(s)
                if written.get((ws, s.id)) == columns:
                    updated.append((s.last_activity, s.model_dump_json(), ws, s.id))
                else:
                    written[(ws, s.id)] = columns
                    replaced.append((ws, s.id, *columns, s.last_activity, s.model_dump_json()))
            for i in changes.approvals:
                ap = fleet.approvals.get(i)
                if ap is not None:
                    approvals.append((ws, ap.id, ap.session_id, ap.status, ap.model_dump_json()))
            for i in changes.commands:
                c = fleet.commands.get(i)
                if c is not None:
                    commands.append(
                        (ws, c.id, c.session_id or "", c.agent_id, c.status,
                         c.model_dump_json())
                    )
        statements = [(sql, rows) for sql, rows in (
            (_AGENT_REPLACE, agents), (_SESSION_REPLACE, replaced), (_SESSION_UPDATE, updated),
            (_APPROVAL_REPLACE, approvals), (_COMMAND_REPLACE, commands)) if rows]
        if not statements:
            return None

        def write(conn: Connection) -> None:
            for sql, rows in statements:
                conn.executemany(sql, rows)

        return write
