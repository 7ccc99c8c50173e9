"""What a critical alert does when its rule says `action = "pause"`: pause the sessions it is
about through the control plane, inside the evaluator's writer job, as the `system` actor."""

from __future__ import annotations

from typing import Any

from agentops_tui.models import Alert
from agentops_tui.server import audit
from agentops_tui.server.alerts.grouping import Firing
from agentops_tui.server.auth import SYSTEM
from agentops_tui.server.control import commands
from agentops_tui.server.store.writer import Rejected, WriteContext

PAUSABLE = frozenset({"running", "waiting"})


def targets(ctx: WriteContext, workspace: str, firing: Firing) -> list[str]:
    """The sessions a critical alert with `action = "pause"` pauses."""
    if firing.action != "pause" or firing.reading.severity != "critical":
        return []
    fleet = ctx.fleet(workspace)
    subject_type, subject_id = firing.key.subject_type, firing.key.subject_id
    if firing.rollup is not None:  # the sessions that fire now, not the whole agent
        candidates: set[str] = set(firing.rollup.firing)
    elif subject_type == "session":
        candidates = {subject_id}
    elif subject_type == "agent":
        candidates = set(fleet.active_by_agent.get(subject_id, ()))
    elif subject_type == "task":
        candidates = set(fleet.sessions_by_task.get(subject_id, ()))
    else:
        candidates = {s for ids in fleet.active_by_agent.values() for s in ids}
    found = []
    for sid in sorted(candidates):
        session = fleet.sessions.get(sid)
        if session is None or session.status not in PAUSABLE:
            continue
        pending = fleet.pending_command_by_session.get(sid)
        if pending is not None and fleet.commands[pending].action == "pause":
            continue
        found.append(sid)
    return found


def pause(ctx: WriteContext, workspace: str, alert: Alert, targets: list[str],
          expiry_seconds: float) -> None:
    """Issue the pauses; one refused (the session changed under us) is audited as such."""
    actor = audit.Actor(name=SYSTEM, workspace=workspace)
    payload: dict[str, Any] = {"reason": alert.message, "alert_id": alert.id}
    for sid in targets:
        try:
            commands.issue_command(ctx, workspace, sid, "pause", payload, actor,
                                  expiry_seconds=expiry_seconds)
        except Rejected as exc:  # changed under us; the audit log of the rule says why
            audit.record(ctx.conn, actor, "session.pause", sid, payload,
                         f"rejected: {exc.message}", ctx.now)
