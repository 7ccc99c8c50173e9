"""The store: one database (a SQLite file, or PostgreSQL) holding the event log and current
state. The backend (`backends`) is chosen by the database URL; everything here is the same
for both.

Writes go through the single `Writer` (group commit); the derived tables follow in state
checkpoints (`checkpoint`), at most a second behind the log. Reads of current state come from
the in-memory fleets under the writer's lock (so a snapshot and its `last_event_id` always
agree); every read of the tables goes through `read`, which runs a function of a read-only
connection on one of the store's read threads (`ReadPool`), after a checkpoint when it asks
for `current` tables. Message reads add the rows not checkpointed yet instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from agentops_tui.core.fleet import FINAL_COMMAND_STATUSES, Fleet
from agentops_tui.models import Message, Session, Snapshot
from agentops_tui.server.store import history
from agentops_tui.server.store.backends import open_backend
from agentops_tui.server.store.background_checkpoint import BackgroundCheckpoint
from agentops_tui.server.store.checkpoint import Checkpoint, read_marker
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.database_url import DatabaseUrl
from agentops_tui.server.store.fleet_loader import load_fleet
from agentops_tui.server.store.message_index import MessageRow
from agentops_tui.server.store.migrations import DatabaseUnusable
from agentops_tui.server.store.read_pool import ReadPool, StoreClosed
from agentops_tui.server.store.retention import Retention, prune_log
from agentops_tui.server.store.rollup_fold import RollupFold
from agentops_tui.server.store.writer import LoggedEvent, WriteContext, Writer

if TYPE_CHECKING:
    from agentops_tui.server.store.postgres_replica import Tailer

__all__ = ["Retention", "Store"]

log = logging.getLogger("agentops.store")
T = TypeVar("T")


class Store:
    def __init__(
        self,
        db: DatabaseUrl | Path | str,
        *,
        retention: Retention | None = None,
        synchronous: str = "FULL",
        checkpoint_seconds: float | None = None,
    ) -> None:
        self.backend = open_backend(db, synchronous=synchronous)
        self.url = self.backend.url
        self.retention = retention or Retention()
        # before anything is read: SQLite's file lock keeps one backend per database;
        # PostgreSQL's says which replica runs the background jobs
        self.lock = self.backend.lock
        self.lock.acquire()
        try:
            conn = self.backend.open_writer()
            if self._meta(conn, "copy_progress") is not None:
                conn.close()
                raise DatabaseUnusable(
                    f"{self.url.shown()} holds an unfinished `agentops db copy`; run that"
                    " copy again to finish it before serving from this database")
            row = conn.execute("SELECT max(id) FROM events").fetchone()
            self.pruned_through = int(self._meta(conn, "pruned_through") or 0)
            next_id = max(int(row[0] or 0), self.pruned_through, self._log_head(conn)) + 1
            self._listeners: list[Callable[[list[LoggedEvent]], None]] = []
            checkpoint = Checkpoint(read_marker(conn, next_id - 1), checkpoint_seconds)
            self.rollups = RollupFold(checkpoint.landing)
            checkpoint.folds.append(self.rollups)
            self.writer = Writer(conn, {}, next_id, self._load_fleet, self._committed,
                                 checkpoint, self.backend.log, self.backend.reconnect)
            self.writer.refuse_nul = self.backend.refuse_nul
            # what a crash left unfolded: into memory and the tables, before anything reads
            self.writer.recover()
        except BaseException:
            self.lock.release()
            raise
        if self.url.is_postgres and self.backend.reconnect is not None:
            # the timer's checkpoints on a connection of their own, beside the group commits
            self.writer.background = BackgroundCheckpoint(
                self.backend.reconnect, self.backend.log, self.writer.wake)
        self.writer.after_commit_hooks.append(self._maybe_prune)
        self.writer.leading = lambda: self.is_leader
        self.tailer: Tailer | None = None
        if self.url.is_postgres:
            from agentops_tui.server.store import postgres_replica

            assert self.url.dsn is not None
            self.tailer = postgres_replica.Tailer(self.url.dsn, self.writer, self._pruned_elsewhere)
        self._reads = ReadPool(self.backend.open_reader)
        self.closed = False

    @property
    def is_leader(self) -> bool:
        """This process runs the background jobs (always, on SQLite)."""
        return bool(getattr(self.lock, "held", True))

    @property
    def tailer_lag_events(self) -> int:
        return 0 if self.tailer is None else self.tailer.lag_events

    @property
    def tailer_lag_seconds(self) -> float:
        return 0.0 if self.tailer is None else self.tailer.lag_seconds

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.writer.start()
        if self.tailer is not None:
            self.tailer.start()

    def close(self) -> None:
        self.closed = True
        if self.tailer is not None:
            self.tailer.stop()
        self._reads.close()
        self.writer.stop()  # writes the pending checkpoint
        self.writer.checkpoint_now()  # (a writer never started has none, but a test's)
        if self.writer.background is not None:
            self.writer.background.close()
        self.writer.conn.close()
        self.lock.release()

    def subscribe(self, listener: Callable[[list[LoggedEvent]], None]) -> None:
        """`listener` is called (in the writer thread) with each committed group's events."""
        self._listeners.append(listener)

    def _committed(self, events: list[LoggedEvent]) -> None:
        for listener in self._listeners:
            listener(events)

    async def write(self, job: Callable[[WriteContext], Any]) -> Any:
        """Run `job` in the next group commit; returns once it is durable."""
        if self.closed:  # the writer thread is gone: the job would wait forever
            raise StoreClosed("the store is closed")
        return await self.writer.run(job)

    # ---- reading ---------------------------------------------------------------------------

    async def read(self, fn: Callable[[Connection], T], *, current: bool = False) -> T:
        """`fn(connection)` on a read thread, with that thread's own read-only connection.

        `current=True` for reads of the current-state tables (sessions, agents, approvals,
        commands, messages, the cost and tool rollups, session runs) that must reflect every
        committed event; reads of the log, the audit log, alerts or tasks need not ask."""
        if current:
            await self.caught_up()
        return await self._reads.run(fn)

    async def caught_up(self) -> None:
        """Returns once the current-state tables hold every event committed when this was
        called: at once when the checkpoint has them, else after the writer wrote one."""
        if self.writer.checkpoint.through >= self.writer.committed_id:
            return
        await asyncio.wrap_future(self.writer.request_checkpoint())

    def checkpoint_now(self) -> bool:
        """Write the pending checkpoint now (writer thread, or while it is not running)."""
        return self.writer.checkpoint_now()

    def _log_head(self, conn: Connection) -> int:
        if not self.url.is_postgres:
            return 0
        from agentops_tui.server.store.postgres_log import log_head

        return log_head(conn)

    @staticmethod
    def _meta(conn: Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _load_fleet(self, workspace: str) -> Fleet:
        """Build a workspace's working set from the tables (writer thread, lock held)."""
        return load_fleet(self.writer.conn, workspace, self.writer.next_event_id - 1)

    # ---- current state -------------------------------------------------------------------

    def snapshot(self, workspace: str) -> Snapshot:
        with self.writer.lock:
            self.writer.fold_if_rolled_back()
            fleet = self.writer.fleet(workspace)
            return Snapshot(
                last_event_id=self.writer.committed_id,
                workspace=workspace,
                server_time=time.time(),
                agents=[a.model_copy() for a in fleet.agents.values()],
                sessions=[s.model_copy(deep=True) for s in fleet.sessions.values()],
                approvals=[
                    a.model_copy() for a in fleet.approvals.values() if a.status == "pending"
                ],
                commands=[
                    c.model_copy()
                    for c in fleet.commands.values()
                    if c.status not in FINAL_COMMAND_STATUSES
                ],
                alerts=[a.model_copy() for a in fleet.alerts.values()],
                queues=[q.model_copy() for q in fleet.queues.values()],
                tasks=[t.model_copy() for t in fleet.tasks.values()],
            )

    def with_fleet(self, workspace: str, fn: Callable[[Fleet], Any]) -> Any:
        """Run a read of the in-memory state under the writer lock."""
        with self.writer.lock:
            self.writer.fold_if_rolled_back()
            return fn(self.writer.fleet(workspace))

    @property
    def last_event_id(self) -> int:
        """The newest committed event id."""
        return self.writer.committed_id

    # ---- history -------------------------------------------------------------------------

    async def events_after(
        self,
        workspace: str,
        after: int,
        limit: int,
        *,
        types: frozenset[str] | None = None,
        session: str | None = None,
    ) -> list[LoggedEvent]:
        return await self.read(lambda conn: history.events_after(
            conn, workspace, after, limit, types=types, session=session))

    async def messages(
        self, workspace: str, session_id: str, after: int, limit: int
    ) -> list[Message]:
        def page(conn: Connection) -> list[Message]:
            # the rows still waiting are read first: copied since, they are in the table
            waiting = [r for r in self.writer.message_index.pending_for(workspace, session_id)
                       if r[2] > after]
            rows = history.message_rows_after(conn, workspace, session_id, after, limit)
            return _merged(session_id, rows, waiting)[:limit]

        return await self.read(page)  # current without a checkpoint: the waiting rows merge

    async def messages_before(
        self, workspace: str, session_id: str, before: int, limit: int
    ) -> list[Message]:
        """The `limit` messages just before `before`, oldest first (for scrolling back)."""
        def page(conn: Connection) -> list[Message]:
            waiting = [r for r in self.writer.message_index.pending_for(workspace, session_id)
                       if r[2] < before]
            rows = history.message_rows_before(conn, workspace, session_id, before, limit)
            return _merged(session_id, rows, waiting)[-limit:] if limit > 0 else []

        return await self.read(page)

    async def session(self, workspace: str, session_id: str) -> Session | None:
        """A session from memory, or from its table (ended long ago: a session leaves memory
        only once its row is checkpointed, so no checkpoint is needed)."""
        def find(conn: Connection) -> Session | None:
            found = self.with_fleet(workspace, lambda f: f.sessions.get(session_id))
            if found is not None:
                return found.model_copy(deep=True)  # type: ignore[no-any-return]
            return history.stored_session(conn, workspace, session_id)

        return await self.read(find)

    async def sessions_page(
        self,
        workspace: str,
        *,
        status: list[str] | None,
        agent_id: str | None,
        task_id: str | None,
        parent_session_id: str | None,
        cursor: tuple[float, str] | None,
        limit: int,
    ) -> list[Session]:
        """Sessions newest first, keyset-paged by (started_at, id)."""
        return await self.read(lambda conn: history.sessions_page(
            conn, workspace, status=status, agent_id=agent_id, task_id=task_id,
            parent_session_id=parent_session_id, cursor=cursor, limit=limit), current=True)

    # ---- retention -------------------------------------------------------------------------

    def _maybe_prune(self, writer: Writer) -> None:
        if self.is_leader and writer.commits % self.retention.every_commits == 0:
            self.prune()

    def _pruned_elsewhere(self, through: int) -> None:
        """The leading replica pruned the log through `through`."""
        if through > self.pruned_through:
            self.pruned_through = through

    def prune(self) -> int:
        """Drop log entries past the retention limits; remember how far, for `reset`."""
        pruned, self.pruned_through = prune_log(self.writer, self.retention, self.pruned_through)
        return pruned


def _merged(
    session_id: str, rows: list[history.MessageTableRow], waiting: list[MessageRow]
) -> list[Message]:
    """Table rows (seq, role, content, ts) and waiting rows as messages in seq order, once each."""
    by_seq = {r[0]: (r[1], r[2], r[3]) for r in rows}
    for _, _, seq, role, content, ts in waiting:
        by_seq[seq] = (role, content, ts)
    return [
        Message(session_id=session_id, seq=seq, role=role, content=content, ts=ts)
        for seq, (role, content, ts) in sorted(by_seq.items())
    ]
