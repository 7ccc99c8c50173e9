"""The work-queue stream in the vocabulary of the Agent Ops queue page (docs/compat.md).

Log events become the page's events: a task is an *item*, a session a *run*. Payloads are
camelCase and carry ids, statuses and times only: no task name, summary, message text or
operator name, so nothing a person wrote leaves through this stream. Every payload has
`type` (the event name) and `updatedAt` (ISO 8601, UTC); item events also `itemId`, `status`,
`severity` and `assigneeId`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from agentops_tui.models import FINAL_TASK_STATUSES

# The log's event types this stream is made of.
SOURCE_TYPES: frozenset[str] = frozenset({
    "task.created", "task.updated", "sla.breached", "approval.requested", "approval.decided",
    "session.started", "session.status", "session.ended", "session.message",
})
# The event names a client can receive (plus `reset`, as on the main stream).
EVENT_NAMES: tuple[str, ...] = (
    "item.created", "item.updated", "item.resolved", "approval.created", "approval.approved",
    "approval.rejected", "run.updated", "message.updated", "sla.breached",
)
SESSION_TYPES = frozenset({"session.started", "session.status", "session.ended",
                           "session.message", "approval.requested", "approval.decided"})
_MAX_KNOWN_RUNS = 10_000  # the per-stream memory of which run works on which item

# A run's agent and item (task), for the session ids asked about, as far as they are known.
RunLookup = Callable[[Iterable[str]], dict[str, tuple[str, str | None]]]


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC with milliseconds: `2025-01-06T10:00:00.000Z`."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def severity(priority: Any) -> str:
    """An item's severity, from its task's priority (5 is the most urgent)."""
    value = priority if isinstance(priority, int) else 3
    if value >= 5:
        return "critical"
    if value == 4:
        return "high"
    return "medium" if value == 3 else "low"


def _item(name: str, ts: float, task: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": name,
        "itemId": task.get("id"),
        "queueId": task.get("queue_id"),
        "status": task.get("status"),
        "severity": severity(task.get("priority")),
        "priority": task.get("priority"),
        "assigneeId": task.get("assignee"),
        "slaBreached": bool(task.get("sla_breached")),
        "updatedAt": iso(task.get("updated_at") or ts),
    }


class AgentOpsTranslator:
    """Renders batches of log events as this stream's frames, for one stream."""

    def __init__(self, lookup: RunLookup) -> None:
        self._lookup = lookup
        self._runs: dict[str, tuple[str, str | None]] = {}  # session -> (agent, task)

    def __call__(self, events: list[tuple[int, str, float, dict[str, Any]]]) -> bytes:
        self._learn(events)
        out: list[str] = []
        for event_id, type_, ts, data in events:
            payload = self._payload(type_, ts, data)
            if payload is not None:
                body = json.dumps(payload, separators=(",", ":"))
                out.append(f"id: {event_id}\nevent: {payload['type']}\ndata: {body}\n\n")
        return "".join(out).encode()

    def _learn(self, events: list[tuple[int, str, float, dict[str, Any]]]) -> None:
        """Which agent and item each run of the batch belongs to: from its start when the
        batch has it, else from the server's state, asked once for the whole batch."""
        unknown: set[str] = set()
        for _, type_, _, data in events:
            sid = data.get("session_id")
            if type_ == "session.started" and sid:
                self._remember(sid, (data.get("agent_id") or "", data.get("task_id")))
            elif type_ in SESSION_TYPES and sid and sid not in self._runs:
                unknown.add(sid)
        if unknown:
            for sid, run in self._lookup(unknown).items():
                self._remember(sid, run)

    def _remember(self, session_id: str, run: tuple[str, str | None]) -> None:
        if len(self._runs) >= _MAX_KNOWN_RUNS:
            self._runs.clear()  # forgotten runs are looked up again
        self._runs[session_id] = run

    def _run(self, name: str, ts: float, session_id: str) -> dict[str, Any]:
        agent_id, task_id = self._runs.get(session_id, (None, None))
        return {"type": name, "runId": session_id, "itemId": task_id,
                "agentId": agent_id or None, "updatedAt": iso(ts)}

    def _payload(self, type_: str, ts: float, data: dict[str, Any]) -> dict[str, Any] | None:
        if type_ == "task.created":
            return _item("item.created", ts, data)
        if type_ == "task.updated":
            final = data.get("status") in FINAL_TASK_STATUSES
            return _item("item.resolved" if final else "item.updated", ts, data)
        if type_ == "sla.breached":
            return {
                "type": "sla.breached", "itemId": data.get("task_id"),
                "queueId": data.get("queue_id"), "status": data.get("status"),
                "severity": severity(data.get("priority")), "priority": data.get("priority"),
                "assigneeId": data.get("assignee"), "deadline": iso(data.get("deadline")),
                "lateSeconds": data.get("late_seconds"), "updatedAt": iso(ts),
            }
        session_id = data.get("session_id")
        if not isinstance(session_id, str):
            return None
        if type_ == "approval.requested":
            return {**self._run("approval.created", ts, session_id),
                    "approvalId": data.get("approval_id"), "status": "pending"}
        if type_ == "approval.decided":
            status = data.get("status")
            # an approval that expired was not given: for the page it is refused, and
            # `status` says why
            name = "approval.approved" if status == "approved" else "approval.rejected"
            return {**self._run(name, ts, session_id), "approvalId": data.get("id"),
                    "status": status}
        if type_ == "session.message":
            return {**self._run("message.updated", ts, session_id), "seq": data.get("seq"),
                    "role": data.get("role")}
        status = "running" if type_ == "session.started" else data.get("status")
        run = self._run("run.updated", ts, session_id)
        if type_ == "session.status" and data.get("progress") is not None:
            run["progress"] = data["progress"]
        return {**run, "status": status}
