"""The console's copy of fleet state, kept by applying the backend's own event log.

`FleetState` wraps the same `core.fleet.Fleet` the server runs, so the console shows what
the backend stored. It never does I/O; the stream feeds it, the UI reads it.
"""

from __future__ import annotations

from typing import Any

from agentops_tui.core.fleet import Changes, Fleet
from agentops_tui.models import Snapshot


class FleetState:
    def __init__(self) -> None:
        self.fleet = Fleet()
        self.version = 0  # bumped once per applied batch: the UI repaints when it moves
        self.pending = Changes()
        self.snapshots = 0
        self.events_applied = 0

    @property
    def last_event_id(self) -> int:
        return self.fleet.last_event_id

    def load(self, snapshot: Snapshot) -> None:
        """Replace everything with a snapshot (first connect, or after a reset)."""
        self.fleet.load(snapshot.agents, snapshot.sessions, snapshot.approvals,
                        snapshot.commands, snapshot.last_event_id, alerts=snapshot.alerts,
                        queues=snapshot.queues, tasks=snapshot.tasks)
        self.snapshots += 1
        everything = Changes(agents=set(self.fleet.agents), sessions=set(self.fleet.sessions),
                             approvals=set(self.fleet.approvals),
                             commands=set(self.fleet.commands), alerts=set(self.fleet.alerts),
                             tasks=set(self.fleet.tasks), queues=set(self.fleet.queues))
        self.pending.merge(everything)
        self.version += 1

    def apply(self, events: list[tuple[int, str, float, dict[str, Any]]]) -> int:
        """Apply `(id, type, ts, data)` events in order; ids already seen are skipped."""
        applied = 0
        fleet = self.fleet
        pending = self.pending
        for event_id, type_, ts, data in events:
            if event_id <= fleet.last_event_id:
                continue
            fleet.apply(event_id, type_, ts, data, pending)
            applied += 1
        if applied:
            self.events_applied += applied
            self.version += 1
        return applied

    def take_changes(self) -> Changes:
        """What changed since the last call (the UI asks once per repaint tick)."""
        changes, self.pending = self.pending, Changes()
        return changes
