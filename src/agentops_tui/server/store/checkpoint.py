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

Writing a checkpoint is two steps: `take` moves what is pending into a `Batch` (its rows
built from memory on the writer thread), which any connection can then write; `landed` once
it committed, or `returned` when it failed, which puts its rows and sums back in front of
what joined since. In between the batch is *in flight*: reads that merge what the tables
lack see its message rows and sums as well, and no second batch is taken
(`background_checkpoint` writes one on a connection of its own while the writer goes on).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
# Writes rows taken from memory, inside the checkpoint's open transaction.
RowWriter = Callable[[Connection], None]


class Fold(Protocol):
    """A pure derivation of the log kept in tables (the rollups). Its handlers see every
    event, live and when the log is folded again on open; they keep the current group's
    sums apart until the group commits."""

    def handlers(self) -> dict[str, Handler]: ...

    def group_committed(self) -> None:
        """The group's sums join the pending checkpoint."""

    def take(self) -> RowWriter | None:
        """The pending sums move in flight; what writes them (None: there are none). The
        writer must touch nothing the fold goes on changing: it may run on another thread."""

    def committed(self) -> None:
        """The checkpoint in flight committed, on the thread that wrote it, under
        `Checkpoint.landing`: readers that add these sums to the tables' must stop."""

    def landed(self) -> None:
        """The checkpoint in flight committed (writer thread): its sums are in the tables."""

    def restore(self) -> None:
        """The checkpoint in flight failed: its sums are pending again, before the newer."""

    def drop(self) -> None:
        """Forget the pending sums and the current group's (a rollback; none in flight)."""

    def release(self, segments: int) -> None:
        """Forget the sums of the oldest `segments` committed groups still pending: another
        replica's checkpoint holds them (none in flight)."""


@dataclass
class Batch:
    """A checkpoint taken from memory: every row and sum pending when it was taken."""

    expected: int  # `state_through` the tables must hold for this batch to follow it
    through: int  # the `state_through` it writes
    events: int
    since: float | None
    changes: dict[str, Changes]
    writers: list[RowWriter] = field(default_factory=list)
    # its committed groups (through, events, when), as the folds keep their segments
    marks: list[tuple[int, int, float]] = field(default_factory=list)

    def write(self, conn: Connection) -> None:
        """Inside the checkpoint transaction: every row and `state_through`."""
        for write in self.writers:
            write(conn)
        conn.execute(SET_META, (THROUGH_KEY, str(self.through)))


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
        # each committed group still pending, oldest first, as the folds keep their
        # segments: (through, events, when); a follower releases a prefix (`release_through`)
        self._marks: list[tuple[int, int, float]] = []
        self.written_at = time.monotonic()  # the last checkpoint (opening folds the log)
        self.flight: Batch | None = None  # taken, being written, not yet landed
        # held while a batch written on another thread commits (see `RollupFold`)
        self.landing = threading.Lock()

    @property
    def pending_since(self) -> float | None:
        """When (monotonic) the oldest group the tables lack committed; None: they lack none."""
        if self.flight is not None and self.flight.since is not None:
            return self.flight.since
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
        counted = 0
        if through > self.pending_through:
            self.pending_through = through
            self.pending_events += events
            counted = events
            if self._since is None:
                self._since = now
        self._marks.append((self.pending_through, counted, now))

    @property
    def in_flight(self) -> bool:
        return self.flight is not None

    def take(self, fleets: dict[str, Fleet]) -> Batch:
        """Everything pending, in a batch to write (writer thread, lock held): its rows are
        built from the fleets now. Nothing else is taken until it `landed` or `returned`."""
        assert self.flight is None, "two checkpoints in flight"
        batch = Batch(self.through, self.pending_through, self.pending_events, self._since,
                      self.changes)
        rows = self.state_rows.take(fleets, self.changes)
        if rows is not None:
            batch.writers.append(rows)
        for fold in self.folds:
            sums = fold.take()
            if sums is not None:
                batch.writers.append(sums)
        batch.marks = self._marks
        self._clear()
        self.flight = batch
        return batch

    def landed(self, batch: Batch) -> None:
        """The batch committed: the tables hold every event through its `through`."""
        assert batch is self.flight
        self.flight = None
        for fold in self.folds:
            fold.landed()
        self.through = batch.through
        self.written_at = time.monotonic()

    def returned(self, batch: Batch, now: float) -> None:
        """The batch rolled back: its rows and sums are pending again, ahead of those that
        joined since, and tried again in one interval rather than at once."""
        assert batch is self.flight
        self.flight = None
        self.state_rows.forget()
        for fold in self.folds:
            fold.restore()
        for ws, changes in self.changes.items():
            earlier = batch.changes.get(ws)
            if earlier is None:
                batch.changes[ws] = changes
            else:
                earlier.merge(changes)
        self.changes = batch.changes
        self.pending_events += batch.events
        self._since = now
        self._marks = batch.marks + self._marks  # as the folds put their segments back

    def release_through(self, stored: int, *, exact: bool = True) -> bool:
        """Another replica's checkpoint holds every event through `stored`: the groups
        pending here that end by then leave the pending checkpoint (their sums and message
        rows; the dirty rows stay, as writing a current row again changes nothing), and
        `through` moves to the last of them. `exact`: only when `stored` ends one of them
        (a checkpoint written next must follow `stored` itself); otherwise a group that
        `stored` cuts in two stays pending whole, until a later checkpoint of theirs ends
        past it. False when nothing was released (or a batch is in flight)."""
        if self.flight is not None:
            return False
        count = 0
        for through, _, _ in self._marks:
            if through > stored:
                break
            count += 1
        if count == 0 or (exact and self._marks[count - 1][0] != stored):
            return False
        for fold in self.folds:
            fold.release(count)
        self.through = self._marks[count - 1][0]
        self._marks = self._marks[count:]
        self.pending_events = sum(events for _, events, _ in self._marks)
        self._since = self._marks[0][2] if self._marks else None
        return True

    def adopt(self) -> None:
        """Another process's checkpoint holds exactly the events folded here: nothing
        pending needs writing."""
        through = self.pending_through
        self.drop()
        self.through = self.pending_through = through

    def failed(self, now: float) -> None:
        """The checkpoint transaction failed before anything was taken: all stays pending,
        tried again in one interval rather than at once."""
        self.state_rows.forget()
        if self._since is not None:
            self._since = now

    def drop(self) -> None:
        """A group rolled back: forget everything pending (the log still has it). Nothing
        may be in flight: the caller waits for it first."""
        assert self.flight is None, "dropping what a checkpoint in flight writes"
        self._clear()
        for fold in self.folds:
            fold.drop()
        self.state_rows.forget()
        self.pending_through = self.through

    def _clear(self) -> None:
        self.changes = {}
        self.pending_events = 0
        self._since = None
        self._marks = []


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
