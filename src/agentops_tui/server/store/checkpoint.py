"""The state checkpoint: current-state tables and rollups, folded from the log in batches.

The log is the truth. A group commit writes only its log rows (and the tables its jobs own,
such as audit and tasks), so an acknowledgement costs one small transaction. What the log
implies for the derived tables — the agents, sessions, approvals and commands rows, the
rollups, the messages — waits here and is written by a checkpoint transaction at most
`interval` seconds later (sooner when `max_pending` events wait), together with
`state_through`, the newest event it folded. On open the store folds the log after that
marker, so nothing acknowledged is lost and nothing is counted twice.

A group's dirty rows and rollup sums join the pending checkpoint only once that group has
committed; a group that rolls back drops every pending sum and the store recovers as it
does on open (see `Writer.recover`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import BEGIN_WRITE, SET_META
from agentops_tui.server.store.message_index import MessageIndex, copy_legacy
from agentops_tui.server.store.state_rows import StateRows

if TYPE_CHECKING:
    from agentops_tui.server.store.write_context import LoggedEvent, WriteContext

THROUGH_KEY = "state_through"
INTERVAL_SECONDS = 1.0
MAX_PENDING_EVENTS = 20_000
# Lets a test hold the checkpoint back (a crash between acknowledgement and checkpoint).
INTERVAL_ENV = "AGENTOPS_CHECKPOINT_SECONDS"

Handler = Callable[["WriteContext", "LoggedEvent"], None]


class Fold(Protocol):
    """A pure derivation of the log kept in tables (the rollups). Its handlers see every
    event, live and when the log is folded again on open; they keep the current group's
    sums apart until the group commits."""

    def handlers(self) -> dict[str, Handler]: ...

    def group_committed(self) -> None:
        """The group's sums join the pending checkpoint."""

    def write(self, conn: Connection) -> None:
        """Inside the checkpoint transaction: write the pending sums."""

    def written(self) -> None:
        """The checkpoint committed: the pending sums are in the tables."""

    def drop(self) -> None:
        """Forget the pending sums and the current group's (a rollback)."""


def default_interval() -> float:
    raw = os.environ.get(INTERVAL_ENV)
    return float(raw) if raw else INTERVAL_SECONDS


class Checkpoint:
    """What the committed log implies for the derived tables and they do not hold yet
    (writer thread only, but `messages`, which request threads read)."""

    def __init__(
        self, through: int, interval: float | None = None,
        max_pending: int = MAX_PENDING_EVENTS,
    ) -> None:
        self.through = through  # `state_through`: every event up to it is in the tables
        self.pending_through = through  # every committed event up to it is folded here
        self.interval = default_interval() if interval is None else interval
        self.max_pending = max_pending
        self.changes: dict[str, Changes] = {}
        self.messages = MessageIndex()
        self.state_rows = StateRows()
        self.folds: list[Fold] = [self.messages]
        self.pending_events = 0
        self._since: float | None = None  # when the oldest pending group committed
        self.written_at = time.monotonic()  # the last checkpoint (opening folds the log)

    @property
    def pending_since(self) -> float | None:
        """When (monotonic) the oldest group the tables lack committed; None: they lack none."""
        return self._since

    @property
    def pending(self) -> bool:
        return self.pending_through > self.through

    def wait_seconds(self, now: float) -> float | None:
        """How long until the pending checkpoint is due (None: nothing is pending)."""
        if self._since is None:
            return None
        if self.pending_events >= self.max_pending:
            return 0.0
        return max(0.0, self._since + self.interval - now)

    def due(self, now: float) -> bool:
        wait = self.wait_seconds(now)
        return wait is not None and wait <= 0.0

    def committed(
        self, touched: dict[str, Changes], events: int, through: int, now: float
    ) -> None:
        """A group (or a fold of the log) committed through `through`: its dirty rows and
        fold sums (message rows, rollups) join the pending checkpoint."""
        for ws, changes in touched.items():
            pending = self.changes.get(ws)
            if pending is None:
                self.changes[ws] = changes
            else:
                pending.merge(changes)
        for fold in self.folds:
            fold.group_committed()
        if through > self.pending_through:
            self.pending_through = through
            self.pending_events += events
            if self._since is None:
                self._since = now

    def write(self, conn: Connection, fleets: dict[str, Fleet]) -> None:
        """Inside the checkpoint transaction: every pending row and `state_through`."""
        self.state_rows.write(conn, fleets, self.changes)
        for fold in self.folds:
            fold.write(conn)
        conn.execute(SET_META, (THROUGH_KEY, str(self.pending_through)))

    def written(self) -> None:
        """The checkpoint transaction committed."""
        self._clear()
        for fold in self.folds:
            fold.written()
        self.through = self.pending_through
        self.written_at = time.monotonic()

    def adopt(self) -> None:
        """Another process's checkpoint holds exactly the events folded here: nothing
        pending needs writing."""
        through = self.pending_through
        self.drop()
        self.through = self.pending_through = through

    def failed(self, now: float) -> None:
        """The checkpoint transaction rolled back: all stays pending, tried again in one
        interval rather than at once."""
        self.state_rows.forget()
        if self._since is not None:
            self._since = now

    def drop(self) -> None:
        """A group rolled back: forget everything pending (the log still has it)."""
        self._clear()
        for fold in self.folds:
            fold.drop()
        self.state_rows.forget()
        self.pending_through = self.through

    def _clear(self) -> None:
        self.changes = {}
        self.pending_events = 0
        self._since = None


def read_marker(conn: Connection, newest: int) -> int:
    """`state_through` of an opened database. One without it had every table written in the
    commit of its events (and messages up to `messages_through`): it is current through the
    newest event once those messages are copied, and gets the marker now."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (THROUGH_KEY,)).fetchone()
    if row is not None:
        return int(row[0])
    conn.execute(BEGIN_WRITE)
    try:
        copy_legacy(conn, newest)
        conn.execute(SET_META, (THROUGH_KEY, str(newest)))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return newest
