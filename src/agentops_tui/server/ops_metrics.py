"""The server's own figures for `GET /metrics`, exposed with prometheus-client.

Each app has its own `CollectorRegistry` (two apps in one process never share a figure)
holding one collector that reads the live values when scraped: the fan-out's pools, the
writer and its checkpoint, the store's replication state. Only what exists nowhere else is
counted here: events and batches accepted by ingest, commands issued and finished, and each
workspace's newest event id (`OpsMetrics.record` runs after each commit).

Two kinds of figures: the process's (capacity, lag, leadership), which name no workspace,
and the caller's workspace (its events, commands and alerts). Another workspace's activity
never shows: the log's global head would, so each workspace's newest id is tracked apart.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, get_args

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from agentops_tui import __version__
from agentops_tui.core.fleet import FINAL_COMMAND_STATUSES, Fleet
from agentops_tui.models import AlertSeverity, CommandAction
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.writer import LoggedEvent

if TYPE_CHECKING:
    from agentops_tui.server.bus import Bus
    from agentops_tui.server.store.sqlite import Store

# Prometheus text format 0.0.4: what every Prometheus version and agent scrapes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
INGEST_SOURCES = ("rest", "otlp", "claude_code")
ACTIONS: tuple[str, ...] = get_args(CommandAction)
SEVERITIES: tuple[str, ...] = get_args(AlertSeverity)
FINAL_STATUSES = tuple(sorted(FINAL_COMMAND_STATUSES))


class OpsMetrics:
    """One app's registry and the counts only it keeps."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        self.registry.register(ServerCollector(store, bus))
        self._lock = threading.Lock()
        self.committed: Counter[str] = Counter()  # workspace → events
        self.newest: dict[str, int] = {}
        self.ingest_events: Counter[tuple[str, str]] = Counter()  # (workspace, source)
        self.ingest_batches: Counter[tuple[str, str]] = Counter()
        self.issued: Counter[tuple[str, str]] = Counter()  # (workspace, action)
        self.finished: Counter[tuple[str, str, str]] = Counter()  # (workspace, action, status)

    def record(self, events: list[LoggedEvent]) -> None:
        """A committed group (writer thread): its events, newest ids and commands."""
        with self._lock:
            for event in events:
                ws = event.workspace
                self.committed[ws] += 1
                if event.id > self.newest.get(ws, 0):
                    self.newest[ws] = event.id
                if event.type == "command.created":
                    self.issued[ws, str(event.data.get("action"))] += 1
                elif event.type == "command.updated":
                    status = event.data.get("status")
                    if status in FINAL_COMMAND_STATUSES:
                        self.finished[ws, str(event.data.get("action")), str(status)] += 1

    def ingested(self, workspace: str, source: str, accepted: int) -> None:
        """An acknowledged ingest request (a batch) and the new events it logged."""
        with self._lock:
            self.ingest_batches[workspace, source] += 1
            self.ingest_events[workspace, source] += accepted

    def newest_id(self, conn: Connection, workspace: str) -> int:
        """The workspace's newest event id; one not seen since start is looked up once."""
        with self._lock:
            known = self.newest.get(workspace)
        if known is not None:
            return known
        row = conn.execute("SELECT max(id) FROM events WHERE workspace = ?", (workspace,))
        found = int(row.fetchone()[0] or 0)
        with self._lock:  # events committed during the lookup may already be newer
            self.newest[workspace] = max(found, self.newest.get(workspace, 0))
            return self.newest[workspace]

    def counts(self, ws: str) -> _Counts:
        """The workspace's counts, every label value present (0 when nothing happened)."""
        with self._lock:
            return _Counts(
                committed=self.committed[ws],
                ingest_events={s: self.ingest_events[ws, s] for s in INGEST_SOURCES},
                ingest_batches={s: self.ingest_batches[ws, s] for s in INGEST_SOURCES},
                issued={a: self.issued[ws, a] for a in ACTIONS},
                finished={(a, s): self.finished[ws, a, s]
                          for a in ACTIONS for s in FINAL_STATUSES},
            )

    def exposition(self, workspace: str, newest_id: int) -> bytes:
        """The text a scrape by a token of `workspace` gets."""
        return generate_latest(_Scrape(self.registry, WorkspaceCollector(self, workspace,
                                                                          newest_id)))


@dataclass(frozen=True)
class _Counts:
    committed: int
    ingest_events: dict[str, int]
    ingest_batches: dict[str, int]
    issued: dict[str, int]
    finished: dict[tuple[str, str], int]


class _Scrape:
    """The app's registry followed by the caller's workspace, as one collector."""

    def __init__(self, *parts: CollectorRegistry | WorkspaceCollector) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class ServerCollector:
    """The process's figures, read when scraped."""

    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.bus = bus

    def collect(self) -> Iterable[Metric]:
        bus, store = self.bus, self.store
        info = GaugeMetricFamily("agentops_info", "The running agentops version.",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        # a replicated backend sets these; a single SQLite backend always leads, never tails
        yield _gauge("agentops_leader", "1 on the replica running the background jobs.",
                     1 if getattr(store, "is_leader", True) else 0)
        yield _gauge("agentops_tailer_lag_events",
                     "Events other replicas committed that this one has not applied yet.",
                     getattr(store, "tailer_lag_events", 0))
        yield _gauge("agentops_tailer_lag_seconds",
                     "How long the oldest of those has been waiting to be applied.",
                     getattr(store, "tailer_lag_seconds", 0.0))
        yield _gauge("agentops_stream_clients", "Open event streams (all workspaces).",
                     len(bus.streams))
        yield _gauge("agentops_stream_clients_limit", "Most streams the server accepts.",
                     bus.max_clients)
        yield _gauge("agentops_stream_clients_per_token_limit",
                     "Most streams one token may hold.", bus.max_per_owner)
        yield _gauge("agentops_long_poll_waiters",
                     "Long-polls waiting for a command or a decision (all workspaces).",
                     len(bus.waiters))
        yield _gauge("agentops_long_poll_waiters_limit", "Most long-polls waiting at once.",
                     bus.max_waiters)
        yield CounterMetricFamily("agentops_stream_dropped",
                                  "Streams cut off for falling too far behind.",
                                  value=bus.dropped_total)
        yield from self._writer(store)

    @staticmethod
    def _writer(store: Store) -> Iterable[Metric]:
        writer = store.writer
        checkpoint = writer.checkpoint
        now = time.monotonic()
        yield CounterMetricFamily("agentops_writer_commits",
                                  "Group commits by the writer since the server started.",
                                  value=writer.commits)
        yield _gauge("agentops_writer_lag_events",
                     "Events acknowledged (in the log) but not yet in the state checkpoint.",
                     max(0, writer.committed_id - checkpoint.through))
        since = checkpoint.pending_since
        yield _gauge("agentops_writer_lag_seconds",
                     "How long the oldest of those has waited (0: the tables hold them all).",
                     0.0 if since is None else max(0.0, now - since))
        yield _gauge("agentops_writer_seconds_since_checkpoint",
                     "Seconds since the last state checkpoint was written.",
                     max(0.0, now - checkpoint.written_at))


class WorkspaceCollector:
    """The caller's workspace: its counts since start and its in-memory state."""

    def __init__(self, ops: OpsMetrics, workspace: str, newest_id: int) -> None:
        self.ops = ops
        self.workspace = workspace
        self.newest_id = newest_id

    def collect(self) -> Iterable[Metric]:
        ws = self.workspace
        counts = self.ops.counts(ws)
        family = CounterMetricFamily
        events = family("agentops_events", "Events committed in this workspace since the"
                        " server started.", labels=["workspace"])
        events.add_metric([ws], counts.committed)
        newest = GaugeMetricFamily("agentops_last_event_id", "Newest event id of this workspace.",
                                   labels=["workspace"])
        newest.add_metric([ws], self.newest_id)
        accepted = family("agentops_ingest_events", "Events accepted by ingest since the server"
                          " started (duplicates not counted), by endpoint.",
                          labels=["workspace", "source"])
        batches = family("agentops_ingest_batches", "Ingest requests acknowledged since the"
                         " server started, by endpoint.", labels=["workspace", "source"])
        for source in INGEST_SOURCES:
            accepted.add_metric([ws, source], counts.ingest_events[source])
            batches.add_metric([ws, source], counts.ingest_batches[source])
        created = family("agentops_commands_issued", "Commands issued since the server started,"
                         " by action.", labels=["workspace", "action"])
        for action, count in counts.issued.items():
            created.add_metric([ws, action], count)
        done = family("agentops_commands_finished", "Commands that reached a final status since"
                      " the server started, by action and status.",
                      labels=["workspace", "action", "status"])
        for (action, status), count in counts.finished.items():
            done.add_metric([ws, action, status], count)
        yield from (events, newest, accepted, batches, created, done)
        yield from self.ops.store.with_fleet(ws, self._state)

    def _state(self, fleet: Fleet) -> list[Metric]:
        """Figures of the workspace's in-memory state (under the writer lock)."""
        ws = self.workspace
        commands = Counter(c.status for c in fleet.commands.values())
        open_commands = GaugeMetricFamily(
            "agentops_commands_open", "Commands not yet acknowledged, by status (`pending`:"
            " not yet handed to the agent).", labels=["workspace", "status"])
        for status in ("pending", "delivered"):
            open_commands.add_metric([ws, status], commands[status])
        alerts: Counter[tuple[str, str]] = Counter(
            (a.status, a.severity) for a in fleet.alerts.values())
        open_alerts = GaugeMetricFamily(
            "agentops_alerts_open", "Alerts raised and not resolved, by status and severity.",
            labels=["workspace", "status", "severity"])
        for status in ("open", "acked"):
            for severity in SEVERITIES:
                open_alerts.add_metric([ws, status, severity], alerts[status, severity])
        active = GaugeMetricFamily("agentops_sessions_active",
                                   "Sessions running, waiting or paused.", labels=["workspace"])
        active.add_metric([ws], sum(1 for s in fleet.sessions.values()
                                    if s.status in ("running", "waiting", "paused")))
        return [open_commands, open_alerts, active]
