"""Sending: one thread per rule, fed by the writer's commit listener through a queue.

Nothing here runs on the writer thread or the event loop but `Notifier.on_commit`, which only
routes committed events and puts notices on queues. Each rule has its own thread, so a
channel that hangs or fails (and is retried with backoff) delays no other channel and never
ingest. Within a rule, the first notice of a workspace goes out at once; those that follow
within `cooldown_seconds` are held and sent as one message that says how many there are.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from agentops_tui.server.notify import channel
from agentops_tui.server.notify.log import Outcome
from agentops_tui.server.notify.masking import mask_text
from agentops_tui.server.notify.routing import Notice, notice_for
from agentops_tui.server.notify.rules import NotifyRule
from agentops_tui.server.store.sqlite import Store
from agentops_tui.server.store.write_context import LoggedEvent

log = logging.getLogger("agentops.notify")
_STOP = object()


class RuleWorker:
    """The thread that sends one rule's messages."""

    def __init__(self, rule: NotifyRule, record: Callable[[Outcome], None], *,
                 attempts: int, backoff_seconds: float) -> None:
        self.rule = rule
        self._record = record
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._pending: dict[str, list[Notice]] = {}  # per workspace, held by the cooldown
        self._last_sent: dict[str, float] = {}
        self._thread = threading.Thread(target=self._run, name=f"notify-{rule.name}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, notice: Notice) -> None:
        self._queue.put(notice)

    def stop(self) -> None:
        """Stop soon: held notices are dropped, a retry's wait is cut short."""
        self._stopping.set()
        self._queue.put(_STOP)

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                item = self._queue.get(timeout=self._next_due())
            except queue.Empty:
                item = None
            while item is not None:
                if item is _STOP:
                    return
                self._accept(item)
                try:
                    item = self._queue.get_nowait()  # take the whole burst before sending
                except queue.Empty:
                    item = None
            self._send_due()

    def _next_due(self) -> float | None:
        if not self._pending:
            return None
        due = min(self._last_sent[ws] + self.rule.cooldown_seconds for ws in self._pending)
        return max(0.0, due - time.monotonic())

    def _quiet(self, workspace: str, now: float) -> bool:
        last = self._last_sent.get(workspace)
        return last is None or now >= last + self.rule.cooldown_seconds

    def _accept(self, notice: Notice) -> None:
        """A notice that finds the rule quiet goes out at once; one that finds it cooling
        down joins the held batch."""
        workspace, now = notice.workspace, time.monotonic()
        if workspace not in self._pending and self._quiet(workspace, now):
            self._last_sent[workspace] = now
            self._deliver(workspace, [notice])
        else:
            self._pending.setdefault(workspace, []).append(notice)

    def _send_due(self) -> None:
        """Each held batch whose cooldown is over, as one message."""
        now = time.monotonic()
        for workspace in [ws for ws in self._pending if self._quiet(ws, now)]:
            notices = self._pending.pop(workspace)
            self._last_sent[workspace] = time.monotonic()
            self._deliver(workspace, notices)

    def _deliver(self, workspace: str, notices: Sequence[Notice]) -> None:
        try:
            self._deliver_once(workspace, notices)
        except Exception:  # a bug here must not end the rule's thread: later notices still go
            log.exception("notification %r could not be delivered", self.rule.name)

    def _deliver_once(self, workspace: str, notices: Sequence[Notice]) -> None:
        title, body = channel.compose(notices)
        error: str | None = None
        attempt = 0
        for attempt in range(1, self._attempts + 1):
            error = channel.send(self.rule.url, title, body)
            if error is None or attempt == self._attempts:
                break
            if self._stopping.wait(self._backoff * 2 ** (attempt - 1)):
                break  # the server is stopping: give up now
        status = "sent" if error is None else "failed"
        if error is not None:
            log.warning("notification %r to %s failed after %d attempt(s): %s",
                        self.rule.name, self.rule.masked_url, attempt, error)
        self._record(Outcome(
            workspace=workspace, rule=self.rule.name, channel=self.rule.masked_url,
            kinds=tuple(dict.fromkeys(n.kind for n in notices)), count=len(notices),
            title=title, status=status, attempts=attempt,
            error=None if error is None else mask_text(error, [self.rule.url]),
            first_event_id=notices[0].event_id, last_event_id=notices[-1].event_id,
        ))


class Notifier:
    """Routes committed events to the rules' workers; `store.subscribe(notifier.on_commit)`."""

    def __init__(self, rules: Sequence[NotifyRule], store: Store, *, attempts: int = 4,
                 backoff_seconds: float = 1.0) -> None:
        self._store = store
        self.workers = [RuleWorker(rule, self._record, attempts=attempts,
                                   backoff_seconds=backoff_seconds) for rule in rules]
        channel.quiet_apprise([rule.url for rule in rules])

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every worker; a send under way gets up to `timeout` seconds in all."""
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    def on_commit(self, events: list[LoggedEvent]) -> None:
        """In the writer thread, after each commit: route, queue, return."""
        for event in events:
            notice = notice_for(event, self._store.writer.fleet)
            if notice is None:
                continue
            for worker in self.workers:
                if notice.matches(worker.rule):
                    worker.put(notice)

    def _record(self, outcome: Outcome) -> None:
        if self._store.closed:
            return
        self._store.writer.submit(outcome.record)  # not awaited: the log is best effort
