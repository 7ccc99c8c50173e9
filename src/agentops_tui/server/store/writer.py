"""The single writer: group commit of jobs from many requests into one SQLite transaction.

A job is a function of a `WriteContext`. It must validate first (raising `Rejected`, with no
side effects) and only then change state through `ctx.emit`, which applies the event to the
in-memory `Fleet`, queues the log row and marks the touched rows dirty. The writer runs every
queued job, writes dirty rows and event rows with `executemany`, commits once, and only then
answers each job's future and hands the events to the fan-out. One fsync covers them all.
Message rows, derived from the log, are copied into their table at most once a second
(`message_index`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic_core import to_json

from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.models import Session
from agentops_tui.server.store.message_index import MessageIndex, MessageRow
from agentops_tui.server.store.state_rows import StateRows

log = logging.getLogger("agentops.store")
T = TypeVar("T")

MAX_JOBS_PER_COMMIT = 256


class Rejected(Exception):
    """A job refused its input; nothing it was given is written."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class StoreUnavailable(Exception):
    """The write failed for a reason that is not the client's (disk full, I/O error)."""


@dataclass(slots=True)
class LoggedEvent:
    """An event as the writer appended it, for observers, commit listeners and the fan-out.

    A plain slotted class rather than the wire model `Event`: building a pydantic model for
    every event cost about 2 us, a tenth of the ingest budget. `data_json` is `data` as the
    compact JSON stored in the log, so the stream frames it without encoding it again.
    """

    id: int
    type: str
    ts: float
    workspace: str
    data: dict[str, Any]
    data_json: str


class WriteContext:
    """What a job sees: the connection (inside the open transaction) and the fleets."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self.conn = writer.conn
        self.now = time.time()
        self.events: list[LoggedEvent] = []
        self._rows: list[tuple[int, str, str, float, str | None, str | None, str]] = []
        # what this group's events touched, per workspace: those rows are written at flush
        self._touched: dict[str, Changes] = {}
        # rows for the messages table; the writer copies them there later (`MessageIndex`)
        self.messages: list[MessageRow] = []
        # event keys logged by this group, per workspace: not in the table until the flush
        self._keys: dict[str, set[str]] = {}

    def fleet(self, workspace: str) -> Fleet:
        return self._writer.fleet(workspace)

    def fleets(self) -> dict[str, Fleet]:
        """Every workspace's state loaded so far."""
        return self._writer.fleets

    def session(self, workspace: str, session_id: str) -> Session | None:
        """A session from memory, or paged back in from its table (ended long ago)."""
        fleet = self.fleet(workspace)
        session = fleet.sessions.get(session_id)
        if session is None:
            row = self.conn.execute(
                "SELECT data FROM sessions WHERE workspace = ? AND id = ?", (workspace, session_id)
            ).fetchone()
            if row is not None:
                session = Session.model_validate_json(row[0])
                fleet.put_session(session)
        return session

    def logged_keys(self, workspace: str) -> set[str]:
        """Event keys this group has logged so far (a later job must treat them as taken)."""
        return self._keys.get(workspace) or set()

    def emit(
        self,
        workspace: str,
        type_: str,
        data: dict[str, Any],
        *,
        ts: float | None = None,
        session_id: str | None = None,
        event_key: str | None = None,
    ) -> LoggedEvent:
        """Append one event to the log and apply it to current state."""
        event_id = self._writer.next_event_id
        self._writer.next_event_id += 1
        when = ts if ts is not None else self.now
        touched = self._touched.get(workspace)
        if touched is None:
            touched = self._touched[workspace] = Changes()
        self.fleet(workspace).apply(event_id, type_, when, data, touched)
        # encoded once, in Rust (about 5x json.dumps), for the log row and the stream frame;
        # observers read `data` and never change it
        encoded = to_json(data).decode()
        event = LoggedEvent(event_id, type_, when, workspace, data, encoded)
        self.events.append(event)
        for observe in self._writer.observers:
            observe(self, event)
        sid = session_id if session_id is not None else data.get("session_id")
        if event_key is not None:
            self._keys.setdefault(workspace, set()).add(event_key)
        self._rows.append((event_id, workspace, type_, when, sid, event_key, encoded))
        return event

    def flush(self) -> None:
        """Write the log rows and every dirty current-state row."""
        conn = self.conn
        if self._rows:
            conn.executemany(
                "INSERT INTO events (id, workspace, type, ts, session_id, event_key, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                self._rows,
            )
        self._writer.state_rows.write(conn, self._writer.fleets, self._touched)


Job = Callable[[WriteContext], Any]
_STOP = object()


class Writer:
    """Owns the write connection, the in-memory fleets and the writer thread."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        fleets: dict[str, Fleet],
        next_event_id: int,
        load_fleet: Callable[[str], Fleet],
        on_commit: Callable[[list[LoggedEvent]], None],
        message_index: MessageIndex,
    ) -> None:
        self.conn = conn
        self.message_index = message_index
        self.state_rows = StateRows()
        self.fleets = fleets
        self.next_event_id = next_event_id
        self.committed_id = next_event_id - 1  # the newest id a reader may rely on
        self._load_fleet = load_fleet
        self._on_commit = on_commit
        self.lock = threading.RLock()  # held from BEGIN to COMMIT; readers of fleets take it
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="agentops-writer", daemon=True)
        self.commits = 0
        self.after_commit_hooks: list[Callable[[Writer], None]] = []
        # Called for every emitted event inside the open transaction (rollups, task links).
        # An observer may write its own tables with ctx.conn and may emit further events.
        self.observers: list[Callable[[WriteContext, LoggedEvent], None]] = []
        # Called once per group after `ctx.flush()`, still inside the transaction: observers
        # that aggregate per group write their rows here (one executemany per group). A hook
        # must not emit events: the group's log rows are already written.
        self.flush_hooks: list[Callable[[WriteContext], None]] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():  # never started (a store opened only to be checked)
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=10)

    def fleet(self, workspace: str) -> Fleet:
        fleet = self.fleets.get(workspace)
        if fleet is None:
            fleet = self._load_fleet(workspace)
            self.fleets[workspace] = fleet
        return fleet

    def submit(self, job: Job) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((job, future))
        return future

    async def run(self, job: Callable[[WriteContext], T]) -> T:
        """Run `job` in the next group commit; returns once it is durable."""
        result: T = await asyncio.wrap_future(self.submit(job))
        return result

    def _run(self) -> None:
        while True:
            wait = self.message_index.wait_seconds(time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:  # idle with message rows waiting: copy them now
                self.copy_messages()
                continue
            if item is _STOP:
                self.copy_messages()
                return
            batch = [item]
            stop_after = False
            while len(batch) < MAX_JOBS_PER_COMMIT:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop_after = True
                    break
                batch.append(nxt)
            self._commit_group(batch)
            if stop_after:
                self.copy_messages()
                return

    def copy_messages(self) -> None:
        """A transaction of its own that copies the waiting message rows to their table.

        The writer thread calls it when they are due; pruning, before it drops their events.
        """
        if self.message_index.wait_seconds(time.monotonic()) is None:
            return
        with self.lock:
            through = self.next_event_id - 1
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                self.message_index.write(self.conn, [], through)
                self.conn.execute("COMMIT")
            except sqlite3.Error:  # they stay waiting (and in the log); try again later
                log.exception("copying message rows failed")
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self.message_index.postpone(time.monotonic())
                return
            self.message_index.written(through)

    def _commit_group(self, batch: list[tuple[Job, Future[Any]]]) -> None:
        # A caller that gave up before its job ran (cancelled at shutdown) gets nothing
        # written; once running, the future can no longer be cancelled.
        running = [(job, future) for job, future in batch if future.set_running_or_notify_cancel()]
        if running:
            self._commit_or_split(running)

    def _commit_or_split(self, batch: list[tuple[Job, Future[Any]]]) -> None:
        """Commit the jobs together. When that fails because of what a job wrote (a value
        the store refuses, or a bug one request hit), commit each half on its own, down to
        the job at fault: it alone fails, and every other request is still written. An
        outage (disk full, I/O error) fails the whole group: halving would not help."""
        failure = self._try_commit(batch)
        if failure is None:
            return
        if len(batch) > 1 and not _is_outage(failure):
            log.warning("commit of %d jobs failed (%s); committing them in halves",
                        len(batch), failure)
            middle = len(batch) // 2
            self._commit_or_split(batch[:middle])
            self._commit_or_split(batch[middle:])
            return
        if len(batch) == 1 and not _is_outage(failure):
            log.warning("a request could not be stored; refused it alone", exc_info=failure)
        else:
            log.error("write failed; rolled back %d jobs", len(batch), exc_info=failure)
        answer = _answer(failure)
        for _, future in batch:
            future.set_exception(answer)

    def _try_commit(self, batch: list[tuple[Job, Future[Any]]]) -> BaseException | None:
        """Run the jobs in one transaction and commit; answer them and hand on the events.
        On failure nothing of the group stays and the exception is returned."""
        results: list[tuple[Future[Any], bool, Any]] = []
        with self.lock:
            ctx = WriteContext(self)
            start_id = self.next_event_id
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                for job, future in batch:
                    try:
                        results.append((future, True, job(ctx)))
                    except Rejected as exc:
                        results.append((future, False, exc))
                ctx.flush()
                for flush_hook in self.flush_hooks:
                    flush_hook(ctx)
                now = time.monotonic()
                copy_messages = self.message_index.due(now)
                if copy_messages:
                    self.message_index.write(self.conn, ctx.messages, self.next_event_id - 1)
                self.conn.execute("COMMIT")
                self.committed_id = self.next_event_id - 1
                if copy_messages:
                    self.message_index.written(self.committed_id)
                else:
                    self.message_index.committed(ctx.messages, now)
            except Exception as exc:  # disk full, I/O error, an unstorable value, a bug
                self._roll_back(start_id)
                return exc
            self.commits += 1
        for future, ok, value in results:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if ctx.events:
            self._on_commit(ctx.events)
        for hook in self.after_commit_hooks:
            hook(self)
        return None

    def _roll_back(self, start_id: int) -> None:
        """Undo a failed group: the transaction, and the state its jobs changed in memory."""
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self.next_event_id = start_id
        self.fleets.clear()  # reload from the database on next use
        self.state_rows.forget()


# Failures of the store itself rather than of what a job wrote: every job would fail alike.
_OUTAGES = (sqlite3.OperationalError, sqlite3.InternalError, MemoryError, OSError)
# Values the store or its JSON encoder refused: the request's fault, so a 422.
_UNSTORABLE = (sqlite3.IntegrityError, sqlite3.DataError, OverflowError, ValueError,
               RecursionError)


def _is_outage(exc: BaseException) -> bool:
    return isinstance(exc, _OUTAGES)


def _answer(exc: BaseException) -> Exception:
    """What the request whose job failed at commit is told."""
    if isinstance(exc, _UNSTORABLE):
        return Rejected(422, "unstorable",
                        f"the store refused a value of this request: {exc}",
                        {"reason": type(exc).__name__})
    return StoreUnavailable(f"the store could not commit: {exc}")
