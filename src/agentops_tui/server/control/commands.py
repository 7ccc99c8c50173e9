"""The control plane: operator commands to agents, their acknowledgement and expiry.

A command moves `pending → delivered → acked | failed | expired`. The session itself changes
only when its agent acknowledges, so the console never claims a pause that did not happen.
Everything here runs inside writer jobs: the command, its log events and the audit entry
commit together.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentops_tui.core import capabilities
from agentops_tui.core.fleet import FINAL_COMMAND_STATUSES, Fleet
from agentops_tui.models import ACTIVE_SESSION_STATUSES, Command, CommandAction, Session
from agentops_tui.server import audit
from agentops_tui.server.auth import SYSTEM
from agentops_tui.server.redact import redact, redact_json, redact_optional
from agentops_tui.server.store.writer import LoggedEvent, Rejected, WriteContext

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


def _update(ctx: WriteContext, workspace: str, command: Command, status: str,
            detail: str | None) -> Command:
    updated = command.model_copy(update={"status": status, "updated_at": ctx.now, "detail": detail})
    ctx.emit(workspace, "command.updated", updated.model_dump())
    if status in FINAL_COMMAND_STATUSES:
        _audit_outcome(ctx, workspace, updated)
    return updated


def _audit_outcome(ctx: WriteContext, workspace: str, command: Command) -> None:
    """How an audited command ended, as its own entry (the log is append-only): `acked` or
    `failed` by the agent that answered, `expired` by the system (no answer in time, or the
    session ended first). The payload names the command and who issued it."""
    actor = (audit.Actor(f"agent:{command.agent_id}", workspace) if command.status != "expired"
             else audit.Actor(SYSTEM, workspace))
    audit.record(ctx.conn, actor, f"command.{command.status}", command.session_id,
                 {"command_id": command.id, "action": command.action,
                  "issued_by": command.issued_by, "issued_at": command.issued_at},
                 f"{command.action} {command.status}"
                 + (f": {command.detail}" if command.detail else ""), ctx.now)


def _command(ctx: WriteContext, workspace: str, command_id: str) -> Command:
    fleet = ctx.fleet(workspace)
    command = fleet.commands.get(command_id)
    if command is None:
        row = ctx.conn.execute(
            "SELECT data FROM commands WHERE workspace = ? AND id = ?", (workspace, command_id)
        ).fetchone()
        if row is None:
            raise Rejected(404, "not_found", f"no command {command_id!r}")
        command = Command.model_validate_json(row[0])
    return command


def mark_delivered(ctx: WriteContext, workspace: str, command_ids: list[str]) -> None:
    for command_id in command_ids:
        command = ctx.fleet(workspace).commands.get(command_id)
        if command is not None and command.status == "pending":
            _update(ctx, workspace, command, "delivered", None)


def acknowledge(
    ctx: WriteContext, workspace: str, command_id: str, ok: bool, detail: str | None
) -> Command:
    """The agent's answer. On success the session changes as the command asked."""
    detail = redact_optional(detail)
    command = _command(ctx, workspace, command_id)
    if command.status in FINAL_COMMAND_STATUSES:
        raise Rejected(
            409, "conflict", f"command {command_id!r} is already {command.status}",
            {"status": command.status},
        )
    if not ok:
        return _update(ctx, workspace, command, "failed", detail or "the agent refused")
    updated = _update(ctx, workspace, command, "acked", detail)
    session = ctx.fleet(workspace).sessions.get(command.session_id)
    if session is None or session.status not in ACTIVE_SESSION_STATUSES:
        return updated
    sid = session.id
    if command.action == "pause":
        ctx.emit(workspace, "session.status",
                 {"type": "session.status", "session_id": sid, "status": "paused",
                  "detail": f"paused by {command.issued_by}"})
    elif command.action == "resume":
        ctx.emit(workspace, "session.status",
                 {"type": "session.status", "session_id": sid, "status": "running",
                  "detail": None})
    elif command.action == "kill":
        ctx.emit(workspace, "session.ended",
                 {"type": "session.ended", "session_id": sid, "status": "killed",
                  "error": f"killed by {command.issued_by}"})
    elif command.action in ("inject", "redirect"):
        # redacted when issued; again for commands stored by versions that did not
        message = redact(str(command.payload.get("message", "")))
        seq = session.messages + 1
        ctx.emit(workspace, "session.message",
                 {"type": "session.message", "session_id": sid, "role": "operator",
                  "content": message, "seq": seq})
    return updated


def waits_for_next_event(fleet: Fleet, command: Command) -> bool:
    """True for a command to a live hook-driven session: it is delivered at the session's next
    hook event, which may come hours later, so it does not expire on a clock."""
    agent = fleet.agents.get(command.agent_id)
    session = fleet.sessions.get(command.session_id)
    return (agent is not None and agent.framework in HOOK_DRIVEN_FRAMEWORKS
            and session is not None and session.status in ACTIVE_SESSION_STATUSES)


def _overdue(fleet: Fleet, command: Command, now: float) -> bool:
    return (command.status not in FINAL_COMMAND_STATUSES and command.expires_at <= now
            and not waits_for_next_event(fleet, command))


def expire_due(ctx: WriteContext) -> int:
    """Expire every command whose agent did not acknowledge in time."""
    count = 0
    for workspace, fleet in list(ctx.fleets().items()):
        for command in list(fleet.commands.values()):
            if _overdue(fleet, command, ctx.now):
                _update(ctx, workspace, command, "expired",
                        "the agent did not acknowledge in time")
                count += 1
    return count


def expire_with_session(ctx: WriteContext, event: LoggedEvent) -> None:
    """Observer: the open commands of a session that ended can no longer be obeyed."""
    if event.type != "session.ended":
        return
    fleet = ctx.fleet(event.workspace)
    session_id = event.data["session_id"]
    for command in [c for c in fleet.commands.values() if c.session_id == session_id
                    and c.status not in FINAL_COMMAND_STATUSES]:
        _update(ctx, event.workspace, command, "expired", "the session ended first")


def _any_due(fleets: dict[str, Fleet], now: float) -> bool:
    return any(_overdue(fleet, c, now) for fleet in fleets.values()
               for c in fleet.commands.values())


async def expire_commands_forever(server: Any, interval: float = 0.5) -> None:
    """Background loop: expire overdue commands (checked in memory first, cheaply)."""
    store = server.store
    while True:
        await asyncio.sleep(interval)
        with store.writer.lock:
            overdue = _any_due(store.writer.fleets, time.time())
        if overdue:
            try:
                await store.write(expire_due)
            except Exception:  # the store logs it; try again next tick
                log.warning("command expiry pass failed", exc_info=True)
