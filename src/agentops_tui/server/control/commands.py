"""The control plane: issuing operator commands to agents (`command_outcomes` ends them).

A command moves `pending → delivered → acked | failed | expired`. The session itself changes
only when its agent acknowledges, so the console never claims a pause that did not happen.
Everything here runs inside writer jobs: the command, its log events and the audit entry
commit together.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentops_tui.core import capabilities
from agentops_tui.models import (
    ACTIVE_SESSION_STATUSES,
    FINAL_TASK_STATUSES,
    Command,
    CommandAction,
    Session,
)
from agentops_tui.server import audit
from agentops_tui.server.control.queues import find_task
from agentops_tui.server.redact import redact, redact_json
from agentops_tui.server.store.writer import Rejected, WriteContext

log = logging.getLogger("agentops.control")

# Which session statuses each action makes sense for.
_ALLOWED: dict[str, frozenset[str]] = {
    "pause": frozenset({"running", "waiting"}),
    "resume": frozenset({"paused"}),
    "kill": ACTIVE_SESSION_STATUSES,
    "inject": ACTIVE_SESSION_STATUSES,
    "redirect": ACTIVE_SESSION_STATUSES,
}

# Agents that take commands only when their session next calls in (Claude Code's hooks): a
# command to such a session waits for that call however long the session sits idle, and
# expires only when the session ends.
HOOK_DRIVEN_FRAMEWORKS = frozenset({"claude-code"})


def _session_for(ctx: WriteContext, workspace: str, session_id: str) -> Session:
    session = ctx.session(workspace, session_id)
    if session is None:
        raise Rejected(404, "not_found", f"no session {session_id!r}")
    return session


def not_capable(ctx: WriteContext, workspace: str, session: Session, action: str) -> str | None:
    """Why the session's agent cannot take `action`, or None when it can."""
    agent = ctx.fleet(workspace).agents.get(session.agent_id)
    if agent is None or capabilities.can(agent, action):
        return None
    return capabilities.refusal(agent, action)


def _check_capable(ctx: WriteContext, workspace: str, session: Session, action: str) -> None:
    reason = not_capable(ctx, workspace, session, action)
    if reason is not None:
        agent = ctx.fleet(workspace).agents[session.agent_id]
        raise Rejected(409, "not_capable", reason,
                       {"agent_id": agent.id, "action": action,
                        "capabilities": list(agent.capabilities)})


def issue_command(
    ctx: WriteContext,
    workspace: str,
    session_id: str,
    action: CommandAction,
    payload: dict[str, Any],
    actor: audit.Actor,
    *,
    expiry_seconds: float = 30.0,
) -> Command:
    """Create a command for a session's agent (raises `Rejected` 404/409 before any write)."""
    session = _session_for(ctx, workspace, session_id)
    _check_capable(ctx, workspace, session, action)
    if session.status not in _ALLOWED[action]:
        raise Rejected(
            409, "conflict", f"cannot {action} session {session_id!r}: it is {session.status}",
            {"session_status": session.status},
        )
    fleet = ctx.fleet(workspace)
    pending_id = fleet.pending_command_by_session.get(session_id)
    if pending_id is not None and action != "inject":
        pending = fleet.commands[pending_id]
        if pending.action == action:
            raise Rejected(
                409, "conflict",
                f"a {action} for session {session_id!r} is already waiting for its agent",
                {"command_id": pending_id},
            )
    now = ctx.now
    payload = redact_json(payload)  # an inject's message: in the command, its audit and log
    command = Command(
        id="cmd_" + secrets.token_hex(8),
        session_id=session_id,
        agent_id=session.agent_id,
        action=action,
        payload=payload,
        issued_by=actor.name,
        issued_at=now,
        updated_at=now,
        expires_at=now + expiry_seconds,
    )
    ctx.emit(workspace, "command.created", command.model_dump())
    audit.record(ctx.conn, actor, f"session.{action}", session_id, payload or None, "accepted", now)
    return command


def issue_spawn(
    ctx: WriteContext,
    workspace: str,
    agent_id: str,
    prompt: str,
    task_id: str | None,
    actor: audit.Actor,
    *,
    expiry_seconds: float = 30.0,
) -> Command:
    """Ask an agent to start a new session with `prompt` (raises `Rejected` 404/409 before
    any write). The command has no session until the agent acknowledges it with the one it
    started; that session reaches the fleet the way the agent reports all its sessions."""
    fleet = ctx.fleet(workspace)
    agent = fleet.agents.get(agent_id)
    if agent is None:
        raise Rejected(404, "not_found", f"no agent {agent_id!r}")
    if not capabilities.can(agent, "spawn"):
        raise Rejected(409, "not_capable", capabilities.refusal(agent, "spawn"),
                       {"agent_id": agent.id, "action": "spawn",
                        "capabilities": list(agent.capabilities)})
    if task_id is not None:
        task = find_task(ctx, workspace, task_id)
        if task.status in FINAL_TASK_STATUSES:
            raise Rejected(409, "conflict",
                           f"task {task_id!r} is already {task.status}: nothing to spawn for",
                           {"task_status": task.status})
    now = ctx.now
    payload: dict[str, Any] = {"prompt": redact(prompt)}
    if task_id is not None:
        payload["task_id"] = task_id
    command = Command(
        id="cmd_" + secrets.token_hex(8), session_id=None, agent_id=agent_id, action="spawn",
        payload=payload, issued_by=actor.name, issued_at=now, updated_at=now,
        expires_at=now + expiry_seconds,
    )
    ctx.emit(workspace, "command.created", command.model_dump())
    audit.record(ctx.conn, actor, "agent.spawn", agent_id, payload, "accepted", now)
    return command


@dataclass
class Outcome:
    """A job's answer when a refusal must still be audited (so the job cannot raise)."""

    value: Any = None
    error: Rejected | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def audited(
    action: str, target: str | None, payload: dict[str, Any] | None, actor: audit.Actor,
    body: Callable[[WriteContext], Any],
) -> Callable[[WriteContext], Outcome]:
    """Wrap a job so that a refusal is written to the audit log and still answered."""

    def job(ctx: WriteContext) -> Outcome:
        try:
            return Outcome(value=body(ctx))
        except Rejected as exc:
            audit.record(ctx.conn, actor, action, target, payload, f"rejected: {exc.message}",
                         ctx.now)
            return Outcome(error=exc)

    return job


@dataclass
class Killswitch:
    """What a killswitch did: kills sent, and the sessions whose agent cannot be killed."""

    commands: list[Command]
    skipped: list[dict[str, str]]


def killswitch(
    ctx: WriteContext, workspace: str, actor: audit.Actor, expiry_seconds: float
) -> Killswitch:
    fleet = ctx.fleet(workspace)
    result = Killswitch([], [])
    active = [s for s in fleet.sessions.values() if s.status in ACTIVE_SESSION_STATUSES]
    for session in sorted(active, key=lambda s: s.id):
        pending_id = fleet.pending_command_by_session.get(session.id)
        if pending_id is not None and fleet.commands[pending_id].action == "kill":
            continue
        reason = not_capable(ctx, workspace, session, "kill")
        if reason is not None:  # a kill it would never obey would only expire
            result.skipped.append(
                {"session_id": session.id, "agent_id": session.agent_id, "reason": reason})
            continue
        result.commands.append(
            issue_command(ctx, workspace, session.id, "kill", {}, actor,
                          expiry_seconds=expiry_seconds)
        )
    audit.record(ctx.conn, actor, "killswitch", workspace,
                 {"sessions": len(result.commands), "skipped": len(result.skipped)},
                 "accepted", ctx.now)
    return result
