"""The server's own counters for `GET /metrics`, in the Prometheus text format.

Two kinds of figures: the process's capacity (streams and long-polls against their limits,
writer commits) which names no workspace, and the caller's workspace (its events, its newest
event id, its commands and alerts). Another workspace's activity never shows: the log's
global head would, so each workspace's newest id is tracked on its own.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from agentops_tui import __version__
from agentops_tui.core.fleet import Fleet
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.writer import LoggedEvent


@dataclass
class WorkspaceHeads:
    """Each workspace's newest event id and events committed since the server started.

    `record` runs in the writer thread after each commit; a workspace not seen since start
    is looked up in the log once.
    """

    committed: Counter[str] = field(default_factory=Counter)
    newest: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, events: list[LoggedEvent]) -> None:
        with self._lock:
            for event in events:
                self.committed[event.workspace] += 1
                if event.id > self.newest.get(event.workspace, 0):
                    self.newest[event.workspace] = event.id

    def newest_id(self, conn: Connection, workspace: str) -> int:
        with self._lock:
            known = self.newest.get(workspace)
        if known is not None:
            return known
        row = conn.execute("SELECT max(id) FROM events WHERE workspace = ?", (workspace,))
        found = int(row.fetchone()[0] or 0)
        with self._lock:  # events committed during the lookup may already be newer
            self.newest[workspace] = max(found, self.newest.get(workspace, 0))
            return self.newest[workspace]

    def events_total(self, workspace: str) -> int:
        with self._lock:
            return self.committed[workspace]


@dataclass(frozen=True)
class Sample:
    name: str
    kind: str  # gauge or counter
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


def workspace_samples(fleet: Fleet, workspace: str) -> list[Sample]:
    """Figures read from the workspace's in-memory state (call under the writer lock)."""
    ws = (("workspace", workspace),)
    commands = Counter(c.status for c in fleet.commands.values())
    samples = [
        Sample("agentops_commands_open", "gauge", "Commands not yet acknowledged, by status.",
               commands[status], (*ws, ("status", status)))
        for status in ("pending", "delivered")
    ]
    alerts = Counter(a.status for a in fleet.alerts.values())
    samples += [
        Sample("agentops_alerts_open", "gauge", "Alerts raised and not resolved, by status.",
               alerts[status], (*ws, ("status", status)))
        for status in ("open", "acked")
    ]
    samples.append(Sample("agentops_sessions_active", "gauge",
                          "Sessions running, waiting or paused.",
                          sum(1 for s in fleet.sessions.values()
                              if s.status in ("running", "waiting", "paused")), ws))
    return samples


def render(samples: list[Sample]) -> str:
    """Text exposition format 0.0.4: HELP and TYPE once per name, then its samples."""
    lines: list[str] = []
    seen: set[str] = set()
    for s in samples:
        if s.name not in seen:
            seen.add(s.name)
            lines.append(f"# HELP {s.name} {s.help}")
            lines.append(f"# TYPE {s.name} {s.kind}")
        labels = ",".join(f'{k}="{_escape(v)}"' for k, v in s.labels)
        value = int(s.value) if float(s.value).is_integer() else s.value
        lines.append(f"{s.name}{{{labels}}} {value}" if labels else f"{s.name} {value}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def info_sample() -> Sample:
    return Sample("agentops_info", "gauge", "The running agentops version.", 1,
                  (("version", __version__),))
