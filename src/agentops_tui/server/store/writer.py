"""The single writer: group commit of jobs from many requests into one transaction.

The writer runs every queued job (`WriteContext`), writes the group's log rows in one go
(`executemany` on SQLite, COPY on PostgreSQL: the backend's `LogAppender`), commits once,
and only then answers each job's future and hands the events to the fan-out. One fsync
covers them all. The derived tables follow in checkpoint
transactions of their own (`checkpoint`): at most `Checkpoint.interval` behind, sooner when
many events wait, and whenever a reader asks for current tables (`request_checkpoint`);
`checkpoint_writer` writes them. A group that fails is rolled back and memory folded again
from the log, as on open (`recovery`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from agentops_tui.core.fleet import Fleet
from agentops_tui.server.store.checkpoint import Checkpoint, Handler
from agentops_tui.server.store.checkpoint_writer import CheckpointWriter, answer_checkpoint
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import DRIVER_ERRORS
from agentops_tui.server.store.failures import answer, is_outage
from agentops_tui.server.store.recovery import Recovery
from agentops_tui.server.store.write_context import (
    LoggedEvent,
    Rejected,
    StoreUnavailable,
    WriteContext,
)

if TYPE_CHECKING:
    from agentops_tui.server.store.backends import LogAppender
    from agentops_tui.server.store.background_checkpoint import BackgroundCheckpoint

__all__ = ["LoggedEvent", "Rejected", "StoreUnavailable", "WriteContext", "Writer"]

log = logging.getLogger("agentops.store")
T = TypeVar("T")

MAX_JOBS_PER_COMMIT = 256

Job = Callable[[WriteContext], Any]
Reaction = Callable[[WriteContext, LoggedEvent], None]
_STOP = object()
_WAKE = object()  # a checkpoint written in the background has an outcome


class Writer:
    """Owns the write connection, the in-memory fleets and the writer thread."""

    def __init__(
        self,
        conn: Connection,
        fleets: dict[str, Fleet],
        next_event_id: int,
        load_fleet: Callable[[str], Fleet],
        on_commit: Callable[[list[LoggedEvent]], None],
        checkpoint: Checkpoint,
        log_appender: LogAppender | None = None,
        reconnect: Callable[[], Connection] | None = None,
    ) -> None:
        if log_appender is None:
            from agentops_tui.server.store.backends import SqliteLog

            log_appender = SqliteLog()
        self.conn = conn
        self.log = log_appender
        self._reconnect = reconnect
        self.refuse_nul = False  # set by a backend that cannot store NUL in text
        self.checkpoint = checkpoint
        self.message_index = checkpoint.messages  # message rows reads merge until written
        self.fleets = fleets
        self.next_event_id = next_event_id
        self.committed_id = next_event_id - 1  # the newest id a reader may rely on
        self._load_fleet = load_fleet
        self.on_commit = on_commit
        self.lock = threading.RLock()  # held from BEGIN to COMMIT; readers of fleets take it
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="agentops-writer", daemon=True)
        self.commits = 0
        self.after_commit_hooks: list[Callable[[Writer], None]] = []
        # Reactions: called inside the open transaction, after the folds. A reaction may
        # write its own tables with ctx.conn and may emit further events; it never runs
        # again when the log is folded on open. `react` registers one for some types, so an
        # event nobody reacts to (most of them) costs one dict lookup; `observers` see every
        # event, after those.
        self.observers: list[Reaction] = []
        self._reactions: dict[str, list[Reaction]] = {}
        self._prefix_reactions: list[tuple[str, Reaction]] = []
        self.reaction_handlers: dict[str, tuple[Reaction, ...]] = {}
        # reactions that only keep derived state in memory (the alert feeds): they also see
        # the events other processes sharing the database appended (`follow`)
        self._derived: set[Reaction] = set()
        self.fold_handlers: dict[str, tuple[Handler, ...]] = {}
        # Replicas on one database: only the leader writes checkpoints on the timer; the
        # others write one when a reader asks or too much is pending (see checkpoint_writer).
        self.leading: Callable[[], bool] = lambda: True
        # PostgreSQL: checkpoints on the timer are written beside the group commits
        self.background: BackgroundCheckpoint | None = None
        self.checkpointing = CheckpointWriter(self)
        self.recovery = Recovery(self)

    def wake(self) -> None:
        """Have the writer thread look at a background checkpoint's outcome."""
        self._queue.put(_WAKE)

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._thread.is_alive():  # never started (a store opened only to be checked)
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=10)
        while not self._queue.empty():  # a reader that asked after the stop is answered
            item = self._queue.get_nowait()
            if isinstance(item, Future):
                answer_checkpoint(item, self.checkpoint_now())

    def fleet(self, workspace: str) -> Fleet:
        fleet = self.fleets.get(workspace)
        if fleet is None:
            self.ensure_connection()  # a reader may be first here after an outage
            fleet = self._load_fleet(workspace)
            self.fleets[workspace] = fleet
        return fleet

    def fold_if_rolled_back(self) -> None:
        """For a reader of the fleets (lock held): see `Recovery.fold_if_rolled_back`."""
        self.recovery.fold_if_rolled_back()

    def resolve_folds(self, kind: str) -> tuple[Handler, ...]:
        """The folds' handlers of one event type, looked up once per type."""
        found = tuple(h for fold in self.checkpoint.folds
                      if (h := fold.handlers().get(kind)) is not None)
        self.fold_handlers[kind] = found
        return found

    def react(self, reaction: Reaction, *types: str, prefixes: tuple[str, ...] = (),
              derived: bool = False) -> None:
        """Run `reaction` for events of `types` and of types starting with `prefixes`.
        `derived`: it writes nothing and emits nothing, so it also runs for events another
        process appended."""
        if derived:
            self._derived.add(reaction)
        for kind in types:
            self._reactions.setdefault(kind, []).append(reaction)
        self._prefix_reactions += [(prefix, reaction) for prefix in prefixes]
        self.reaction_handlers.clear()

    def follow(self, ctx: WriteContext, event: LoggedEvent) -> None:
        """An event another process appended, just folded: the derived reactions see it
        as they see this process's own."""
        if not self._derived:
            return
        reactions = self.reaction_handlers.get(event.type)
        if reactions is None:
            reactions = self.resolve_reactions(event.type)
        for reaction in reactions:
            if reaction in self._derived:
                reaction(ctx, event)

    def resolve_reactions(self, kind: str) -> tuple[Reaction, ...]:
        """The reactions registered for one event type, in registration order, looked up
        once per type."""
        found = (*self._reactions.get(kind, ()),
                 *(r for prefix, r in self._prefix_reactions if kind.startswith(prefix)))
        self.reaction_handlers[kind] = found
        return found

    # ---- submitting ---------------------------------------------------------------------

    def submit(self, job: Job) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((job, future))
        return future

    async def run(self, job: Callable[[WriteContext], T]) -> T:
        """Run `job` in the next group commit; returns once it is durable."""
        result: T = await asyncio.wrap_future(self.submit(job))
        return result

    def request_checkpoint(self) -> Future[None]:
        """A future answered once the tables hold every event committed before this call."""
        asked: Future[None] = Future()  # queued alone, where jobs are (job, future) pairs
        if self._thread.is_alive():
            self._queue.put(asked)
        else:
            answer_checkpoint(asked, self.checkpoint_now())
        return asked

    def checkpoint_now(self) -> bool:
        """Write the pending checkpoint now (`CheckpointWriter.write_now`); False when it
        failed."""
        return self.checkpointing.write_now()

    def recover(self) -> None:
        """Fold the log after the checkpoint into memory: on open, and after a rollback
        (`Recovery.recover`)."""
        self.recovery.recover()

    # ---- the thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if self.background is not None:
                self.background.poll(self)
            try:
                item = self._queue.get(timeout=self.checkpointing.wait(time.monotonic()))
            except queue.Empty:  # idle with a checkpoint pending: write it now
                self.checkpointing.timed()
                continue
            batch: list[tuple[Job, Future[Any]]] = []
            asked: list[Future[None]] = []
            stop = False
            while True:
                if item is _STOP:
                    stop = True
                elif item is _WAKE:
                    pass
                elif isinstance(item, Future):
                    asked.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= MAX_JOBS_PER_COMMIT:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit_group(batch)
            if stop or asked:
                ok = self.checkpoint_now()
                for future in asked:
                    answer_checkpoint(future, ok)
            elif self.checkpoint.due(time.monotonic()):
                self.checkpointing.timed()
            if stop:
                return

    def ensure_connection(self) -> None:
        """After an outage that took the connection with it: open another (raising the
        driver's error while the database is still out of reach)."""
        if self._reconnect is None or not getattr(self.conn, "broken", False):
            return
        old = self.conn
        self.conn = self._reconnect()
        log.warning("the database connection was lost; connected again")
        with contextlib.suppress(*DRIVER_ERRORS.database):
            old.close()

    # ---- group commit -------------------------------------------------------------------

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
        if len(batch) > 1 and not is_outage(failure):
            log.warning("commit of %d jobs failed (%s); committing them in halves",
                        len(batch), failure)
            middle = len(batch) // 2
            self._commit_or_split(batch[:middle])
            self._commit_or_split(batch[middle:])
            return
        if len(batch) == 1 and not is_outage(failure):
            log.warning("a request could not be stored; refused it alone", exc_info=failure)
        else:
            log.error("write failed; rolled back %d jobs", len(batch), exc_info=failure)
        refusal = answer(failure)
        for _, future in batch:
            future.set_exception(refusal)

    def _try_commit(self, batch: list[tuple[Job, Future[Any]]]) -> BaseException | None:
        """Run the jobs in one transaction and commit; answer them and hand on the events.
        On failure nothing of the group stays and the exception is returned."""
        results: list[tuple[Future[Any], bool, Any]] = []
        with self.lock:
            start_id = self.next_event_id
            try:
                self.recovery.fold_if_rolled_back()
                ctx = self._begin()
                for job, future in batch:
                    try:
                        results.append((future, True, job(ctx)))
                    except Rejected as exc:
                        results.append((future, False, exc))
                ctx.flush()
                self.log.end(self.conn, self.next_event_id - 1)
                self.conn.execute("COMMIT")
            except Exception as exc:  # disk full, I/O error, an unstorable value, a bug
                self.recovery.roll_back(start_id)
                return exc
            self.committed_id = self.next_event_id - 1
            self.checkpoint.committed(ctx.touched, len(ctx.events), self.committed_id,
                                      time.monotonic())
            self.commits += 1
        for future, ok, value in results:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        if ctx.events:
            self.on_commit(ctx.events)
        for hook in self.after_commit_hooks:
            try:
                hook(self)
            except Exception:  # a lost connection: the group is committed all the same
                log.exception("a step after the commit failed")
        return None

    def _begin(self) -> WriteContext:
        """Open the group's transaction. A connection the server dropped while it sat idle
        (a restart that is over now) fails at its first statement, before anything of the
        group was sent or folded: the group begins again, once, on a new connection."""
        self.ensure_connection()
        ctx = WriteContext(self)
        try:
            self.log.begin(self, ctx)
        except DRIVER_ERRORS.outages:
            if self._reconnect is None or not getattr(self.conn, "broken", False) or ctx.events:
                raise
            self.ensure_connection()
            ctx = WriteContext(self)
            self.log.begin(self, ctx)
        return ctx
