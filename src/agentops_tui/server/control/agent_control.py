"""Operator actions addressed to an agent rather than to one of its sessions.

An agent obeys commands through its sessions, so an action on an agent is the same command
(commands.issue_command) sent to each of its active sessions that can take it, in one writer
job: all of them are issued and audited together, or, when none can take it, the whole
action is refused with 409 saying why for each session. Nothing here is a second control
path; the command, its delivery, acknowledgement, expiry and audit are the sessions' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentops_tui.models import Command, CommandAction
from agentops_tui.server import audit
from agentops_tui.server.control import commands
from agentops_tui.server.store.writer import Rejected, WriteContext


@dataclass
class AgentAction:
    """What an action on an agent did: the commands sent, and the sessions left out (why)."""

    agent_id: str
    action: str
    commands: list[Command] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        sent = len(self.commands)
        return (f"{self.action} sent to {sent} session{'s' if sent != 1 else ''} of agent"
                f" {self.agent_id}; each takes effect when the agent acknowledges it")


def _active_sessions(ctx: WriteContext, workspace: str, agent_id: str) -> list[str]:
    fleet = ctx.fleet(workspace)
    agent = fleet.agents.get(agent_id)
    if agent is None:
        raise Rejected(404, "not_found", f"no agent {agent_id!r}")
    active = sorted(fleet.active_by_agent.get(agent_id, ()))
    if not active:
        raise Rejected(409, "no_active_session",
                       f"agent {agent_id!r} has no active session to act on (it is"
                       f" {agent.status})", {"agent_id": agent_id, "agent_status": agent.status})
    return active


def act_on_agent(ctx: WriteContext, workspace: str, agent_id: str, action: CommandAction,
                 payload: dict[str, Any], actor: audit.Actor, *,
                 expiry_seconds: float) -> AgentAction:
    """Send `action` to every active session of the agent that can take it now."""
    result = AgentAction(agent_id, action)
    for session_id in _active_sessions(ctx, workspace, agent_id):
        try:  # issue_command refuses before it writes anything
            result.commands.append(commands.issue_command(
                ctx, workspace, session_id, action, payload, actor,
                expiry_seconds=expiry_seconds))
        except Rejected as exc:
            result.skipped.append(
                {"session_id": session_id, "code": exc.code, "reason": exc.message})
    if not result.commands:
        codes = {s["code"] for s in result.skipped}
        reasons = "; ".join(s["reason"] for s in result.skipped)
        raise Rejected(409, codes.pop() if len(codes) == 1 else "conflict",
                       f"no active session of agent {agent_id!r} can {action} now: {reasons}",
                       {"agent_id": agent_id, "skipped": result.skipped})
    audit.record(ctx.conn, actor, f"agent.{action}", agent_id,
                 {"sessions": [c.session_id for c in result.commands],
                  "skipped": [s["session_id"] for s in result.skipped]} | (
                     {"message": payload["message"]} if "message" in payload else {}),
                 "accepted", ctx.now)
    return result


def kill_all(ctx: WriteContext, workspace: str, actor: audit.Actor,
             expiry_seconds: float) -> dict[str, Any]:
    """The workspace killswitch (commands.killswitch), summed up as seed 002's kill-all."""
    done = commands.killswitch(ctx, workspace, actor, expiry_seconds)
    killed, failed = len(done.commands), len(done.skipped)
    return {
        "message": f"Kill all completed: {killed} killed, {failed} failed",
        "total": killed + failed,
        "killed": killed,
        "failed": failed,
        "errors": [f"{s['session_id']}: {s['reason']}" for s in done.skipped],
        "commands": [c.model_dump() for c in done.commands],
        "skipped": done.skipped,
    }
