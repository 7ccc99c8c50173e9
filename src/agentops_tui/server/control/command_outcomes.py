"""How a command ends: delivered to its agent, acknowledged (acked or failed) by it, or expired
because no answer came in time or its session ended first. Each final status is audited as
its own entry. Everything here runs inside writer jobs, like issuing (`commands`)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from agentops_tui.core.fleet import FINAL_COMMAND_STATUSES, Fleet
from agentops_tui.models import ACTIVE_SESSION_STATUSES, Command
from agentops_tui.server import audit
from agentops_tui.server.auth import SYSTEM
from agentops_tui.server.control.commands import HOOK_DRIVEN_FRAMEWORKS
from agentops_tui.server.redact import redact, redact_optional
from agentops_tui.server.store.writer import LoggedEvent, Rejected, WriteContext

log = logging.getLogger("agentops.control")


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
    ctx: WriteContext, workspace: str, command_id: str, ok: bool, detail: str | None,
    session_id: str | None = None,
) -> Command:
    """The agent's answer. On success the session changes as the command asked; a spawn's
    answer names the session it started (`session_id`)."""
    detail = redact_optional(detail)
    command = _command(ctx, workspace, command_id)
    if command.status in FINAL_COMMAND_STATUSES:
        raise Rejected(
            409, "conflict", f"command {command_id!r} is already {command.status}",
            {"status": command.status},
        )
    if session_id is not None and command.action != "spawn":
        raise Rejected(409, "conflict", f"command {command_id!r} is a {command.action}: only "
                       "a spawn's answer names a session", {"action": command.action})
    if not ok:
        return _update(ctx, workspace, command, "failed", detail or "the agent refused")
    if command.action == "spawn":
        if session_id is not None:
            command = command.model_copy(update={"session_id": session_id})
        return _update(ctx, workspace, command, "acked", detail)
    updated = _update(ctx, workspace, command, "acked", detail)
    session = ctx.fleet(workspace).sessions.get(command.session_id or "")
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
    session = fleet.sessions.get(command.session_id or "")
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
