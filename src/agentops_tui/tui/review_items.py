"""What needs a human, as one ordered queue: pure, so it is tested without an app.

Keys are `kind:id`. Kinds, most urgent first: pending approvals, sessions waiting for input,
open alerts, tasks past their deadline, failed tasks. The queue keeps arrival order within a
kind, so the item an operator is reading never moves under them.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentops_tui.core.fleet import Fleet

KIND_ORDER = {"approval": 0, "waiting": 1, "alert": 2, "sla": 3, "failed": 4}
WAITING_FOR_APPROVAL = "approval: "


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    kind: str
    id: str
    title: str
    session_id: str | None


def current_items(fleet: Fleet) -> dict[str, Item]:
    """Everything that needs a decision right now."""
    items: dict[str, Item] = {}
    for a in fleet.approvals.values():
        if a.status == "pending":
            items[f"approval:{a.id}"] = Item(f"approval:{a.id}", "approval", a.id, a.summary,
                                             a.session_id)
    for s in fleet.sessions.values():
        if s.status == "waiting" and not (s.detail or "").startswith(WAITING_FOR_APPROVAL):
            items[f"waiting:{s.id}"] = Item(f"waiting:{s.id}", "waiting", s.id,
                                            s.detail or "waiting for input", s.id)
    alerted_tasks = set()
    for alert in fleet.alerts.values():
        if alert.status == "open":
            sid = alert.subject_id if alert.subject_type == "session" else None
            items[f"alert:{alert.id}"] = Item(f"alert:{alert.id}", "alert", alert.id,
                                              alert.message, sid)
            if alert.subject_type == "task":
                alerted_tasks.add(alert.subject_id)
    for task in fleet.tasks.values():
        if task.status == "failed":
            items[f"failed:{task.id}"] = Item(f"failed:{task.id}", "failed", task.id,
                                              f"task failed: {task.name}", None)
        elif task.sla_breached and task.status != "complete" and task.id not in alerted_tasks:
            # an open SLA alert already puts this task in front of the operator
            items[f"sla:{task.id}"] = Item(f"sla:{task.id}", "sla", task.id,
                                           f"past its deadline: {task.name}", None)
    return items


class ReviewQueue:
    """Arrival-ordered keys; the current one is pinned until the operator moves on."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.current: str | None = None
        self.handled: set[str] = set()  # decided or skipped this visit
        self.new_since_current = 0

    def sync(self, live: dict[str, Item]) -> None:
        known = set(self.order)
        fresh = [k for k in live if k not in known]
        fresh.sort(key=lambda k: KIND_ORDER.get(k.split(":", 1)[0], 9))
        if fresh and self.current is not None:
            self.new_since_current += len([k for k in fresh if k not in self.handled])
        self.order.extend(fresh)
        # what resolved elsewhere leaves, except the item being read
        self.order = [k for k in self.order if k in live or k == self.current]
        if self.current is None:
            self.advance(live)

    def pending(self, live: dict[str, Item]) -> list[str]:
        return [k for k in self.order if k in live and k not in self.handled]

    def advance(self, live: dict[str, Item]) -> str | None:
        waiting = [k for k in self.pending(live) if k != self.current]
        waiting.sort(key=lambda k: KIND_ORDER.get(k.split(":", 1)[0], 9))
        self.current = waiting[0] if waiting else None
        self.new_since_current = 0
        return self.current

    def handle(self, key: str, live: dict[str, Item]) -> None:
        self.handled.add(key)
        self.advance(live)

    def skip(self, live: dict[str, Item]) -> None:
        if self.current is None:
            return
        key = self.current
        self.order.remove(key)
        self.order.append(key)  # back of the line, still to do
        nxt = [k for k in self.pending(live) if k != key]
        nxt.sort(key=lambda k: KIND_ORDER.get(k.split(":", 1)[0], 9))
        self.current = nxt[0] if nxt else key
        self.new_since_current = 0

    def restore(self, key: str) -> None:
        """Undo: the item comes back in front."""
        self.handled.discard(key)
        if key in self.order:
            self.order.remove(key)
        self.order.insert(0, key)
        self.current = key
        self.new_since_current = 0
