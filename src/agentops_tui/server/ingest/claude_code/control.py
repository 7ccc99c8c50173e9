"""What a Claude Code session is told at each hook event: the console's commands, turned into
the JSON Claude Code reads from a hook's output.

Claude Code cannot be called; it calls us, once per hook event, and obeys what the hook
prints. So a command to one of its sessions waits for the session's next event and is
acknowledged in the writer job that records that event and gives the answer:

- kill: PreToolUse → deny + `continue: false` (the tool does not run); PermissionRequest →
  deny with `interrupt: true` (it ignores `continue`); any other event → `continue: false`.
  Every later event of a killed session gets `continue: false` again.
- pause: the event is held: the answer is a wait the hook script long-polls
  (`wait_reply`) until a resume, a kill or the session's end. The pause is acknowledged (the
  session reads `paused`) when the hold begins, the resume when it ends.
- inject: carried by the next event that can carry text to the model: UserPromptSubmit and
  PostToolUse as additional context, Stop as `decision: block` (the reason becomes a new
  turn; not when `stop_hook_active`, which would loop).
- redirect: PreToolUse / PermissionRequest deny the pending tool with the instruction, which
  is then given again at the next Stop; other carriers carry it like an inject.
- PermissionRequest with nothing to obey: an Approval, and a wait for its decision.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from agentops_tui.core.fleet import FINAL_COMMAND_STATUSES
from agentops_tui.models import ENDED_SESSION_STATUSES, Command, Session
from agentops_tui.server.control import approvals
from agentops_tui.server.control.command_outcomes import acknowledge
from agentops_tui.server.redact import redact
from agentops_tui.server.store.dialect import upsert
from agentops_tui.server.store.writer import LoggedEvent, Rejected, WriteContext

# Events a pause does not hold: nothing waits on them (the session is ending, or the hook
# only reports that Claude Code shows a notice), and `agentops hooks install` gives them a
# short timeout, after which Claude Code would kill the hook and carry on anyway.
NOT_HELD = frozenset({"SessionStart", "SubagentStart", "SessionEnd", "Notification"})
CAPABILITIES = ("pause", "resume", "inject", "redirect", "kill", "approve")
STALE_WAIT_SECONDS = 86_400  # a wait row whose hook never came back (killed with its CLI)


@dataclass(frozen=True)
class HeldEvent:
    """What answering one hook event needs, kept while the event is held."""

    event: str
    session_id: str  # the console session of the Claude Code session (its current run)
    target: str  # the session the event belongs to: that run, or a subagent's child session
    stop_hook_active: bool = False
    summary: str | None = None  # a permission's "Bash: rm -rf build/" (redacted)
    detail: str | None = None  # a permission's tool input (redacted)
    status: str | None = None  # what the event says the session is doing: running, waiting
    status_detail: str | None = None

    def scope(self) -> tuple[str, ...]:
        return (self.session_id,) if self.target == self.session_id else (
            self.session_id, self.target)


@dataclass(frozen=True)
class Reply:
    """The JSON Claude Code must print, or a wait the hook script must poll first."""

    answer: dict[str, Any]
    scope: tuple[str, ...] = ()
    wait_id: str | None = None
    kind: str | None = None  # "hold" (a pause) or "approval" (a permission to decide)
    approval_id: str | None = None

    def wait(self) -> dict[str, Any] | None:
        if self.wait_id is None:
            return None
        return {"id": self.wait_id, "kind": self.kind, "approval_id": self.approval_id}


def stop_answer(event: str, reason: str) -> dict[str, Any]:
    """The answer that stops the session at this event."""
    if event == "PermissionRequest":
        return _permission({"behavior": "deny", "message": reason, "interrupt": True})
    answer: dict[str, Any] = {"continue": False, "stopReason": reason}
    if event == "PreToolUse":  # alone, `continue: false` would still let the tool run first
        answer.update(_deny_tool(reason))
    return answer


def _deny_tool(reason: str) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                                   "permissionDecisionReason": reason}}


def _permission(decision: dict[str, Any]) -> dict[str, Any]:
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}


def _open_commands(ctx: WriteContext, workspace: str, scope: tuple[str, ...]) -> list[Command]:
    return sorted((c for c in ctx.fleet(workspace).commands.values()
                   if c.session_id in scope and c.status not in FINAL_COMMAND_STATUSES),
                  key=lambda c: c.issued_at)


def _sessions(ctx: WriteContext, workspace: str, held: HeldEvent) -> list[Session]:
    found = (ctx.session(workspace, sid) for sid in held.scope())
    return [s for s in found if s is not None]


def respond(ctx: WriteContext, workspace: str, held: HeldEvent,
            wait_id: str | None = None) -> Reply:
    """Decide the answer to a hook event (recorded already), acknowledging what it delivers."""
    sessions = _sessions(ctx, workspace, held)
    killed = next((s for s in sessions if s.status == "killed"), None)
    if killed is not None:
        return Reply(stop_answer(held.event, killed.error or "the session was killed"),
                     held.scope())
    if any(s.status in ENDED_SESSION_STATUSES for s in sessions):
        return Reply({}, held.scope())
    commands = _open_commands(ctx, workspace, held.scope())
    kill = next((c for c in commands if c.action == "kill"), None)
    if kill is not None:
        acknowledge(ctx, workspace, kill.id, True, f"stopped at its {held.event} hook")
        reason = f"killed by {kill.issued_by} from the agentops console"
        return Reply(stop_answer(held.event, reason), held.scope())
    if held.event in NOT_HELD:
        return Reply({}, held.scope())
    paused = {s.id for s in sessions if s.status == "paused"}
    if paused:
        resume = next((c for c in commands if c.action == "resume" and c.session_id in paused),
                      None)
        if resume is None:
            return _hold(ctx, workspace, held, wait_id)
        acknowledge(ctx, workspace, resume.id, True, "released its held hook")
        if held.status and held.status != "running" and resume.session_id == held.target:
            ctx.emit(workspace, "session.status", {
                "type": "session.status", "session_id": held.target, "status": held.status,
                "detail": held.status_detail})
    else:
        pause = next((c for c in commands if c.action == "pause"), None)
        if pause is not None:
            acknowledge(ctx, workspace, pause.id, True, f"held at its {held.event} hook")
            return _hold(ctx, workspace, held, wait_id)
    carried = [c for c in commands if c.session_id == held.target
               and c.action in ("inject", "redirect")]
    return _carry(ctx, workspace, held, carried, wait_id)


def _hold(ctx: WriteContext, workspace: str, held: HeldEvent, wait_id: str | None) -> Reply:
    wait_id = wait_id or _new_wait(ctx, workspace, held, "hold", None)
    return Reply({}, held.scope(), wait_id, "hold")


def _new_wait(ctx: WriteContext, workspace: str, held: HeldEvent, kind: str,
              approval_id: str | None) -> str:
    wait_id = "hold_" + secrets.token_hex(8)
    ctx.conn.execute(
        "INSERT INTO claude_waits (workspace, id, session_id, kind, held, approval_id,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (workspace, wait_id, held.session_id, kind, json.dumps(asdict(held)), approval_id,
         ctx.now))
    return wait_id


def _message(command: Command) -> str:
    return redact(str(command.payload.get("message", "")))


def _carry(ctx: WriteContext, workspace: str, held: HeldEvent, carried: list[Command],
           wait_id: str | None) -> Reply:
    event, scope = held.event, held.scope()
    redirects = [c for c in carried if c.action == "redirect"]
    if event in ("PreToolUse", "PermissionRequest") and redirects:
        text = "\n\n".join(_message(c) for c in redirects)
        for command in redirects:
            acknowledge(ctx, workspace, command.id, True, f"the {event} was denied with it")
        _set_followup(ctx, workspace, held.target, text)
        reason = f"The operator stopped this and says: {text}"
        if event == "PreToolUse":
            return Reply(_deny_tool(reason), scope)
        return Reply(_permission({"behavior": "deny", "message": reason}), scope)
    if event == "PermissionRequest":
        return _ask(ctx, workspace, held, wait_id)
    if event in ("PostToolUse", "UserPromptSubmit") and carried:
        for command in carried:
            acknowledge(ctx, workspace, command.id, True, f"given with its {event}")
        text = "\n\n".join(_message(c) for c in carried)
        return Reply({"hookSpecificOutput": {
            "hookEventName": event,
            "additionalContext": f"Message from the operator (agentops console): {text}"}},
            scope)
    if event in ("Stop", "SubagentStop") and not held.stop_hook_active:
        texts = [t for t in [_take_followup(ctx, workspace, held.target)] if t]
        for command in carried:
            acknowledge(ctx, workspace, command.id, True, "given when it tried to stop")
            texts.append(_message(command))
        if texts:
            return Reply({"decision": "block", "reason": "Message from the operator (agentops"
                          " console): " + "\n\n".join(texts)}, scope)
    return Reply({}, scope)


_SET_FOLLOWUP_SQL = upsert("claude_followups", ("workspace", "session_id", "message"),
                          ("workspace", "session_id"))


def _set_followup(ctx: WriteContext, workspace: str, session_id: str, text: str) -> None:
    ctx.conn.execute(_SET_FOLLOWUP_SQL, (workspace, session_id, text))


def _take_followup(ctx: WriteContext, workspace: str, session_id: str) -> str | None:
    row = ctx.conn.execute("DELETE FROM claude_followups WHERE workspace = ? AND session_id = ?"
                           " RETURNING message", (workspace, session_id)).fetchone()
    return str(row[0]) if row is not None else None


def _ask(ctx: WriteContext, workspace: str, held: HeldEvent, wait_id: str | None) -> Reply:
    """A permission prompt becomes an Approval in Review; the hook waits for its decision."""
    if wait_id is not None:  # it was held by a pause first: that wait becomes this one
        _end_wait(ctx, workspace, wait_id)
    approval_id = "apr_" + secrets.token_hex(8)
    ctx.emit(workspace, "approval.requested", {
        "type": "approval.requested", "approval_id": approval_id, "session_id": held.target,
        "summary": held.summary or "a tool", "detail": held.detail})
    wait_id = _new_wait(ctx, workspace, held, "approval", approval_id)
    return Reply({}, held.scope(), wait_id, "approval", approval_id)


def _end_wait(ctx: WriteContext, workspace: str, wait_id: str) -> None:
    ctx.conn.execute("DELETE FROM claude_waits WHERE workspace = ? AND id = ?",
                     (workspace, wait_id))


def wait_reply(ctx: WriteContext, workspace: str, wait_id: str, give_up: bool) -> Reply:
    """The answer to a held hook event, or the same wait while it must go on waiting.
    `give_up`: the hook stops waiting for an approval (its configured time is over)."""
    row = ctx.conn.execute(
        "SELECT kind, held, approval_id FROM claude_waits WHERE workspace = ? AND id = ?",
        (workspace, wait_id)).fetchone()
    if row is None:
        raise Rejected(404, "not_found", f"no held Claude Code hook {wait_id!r}")
    kind, held = row[0], HeldEvent(**json.loads(row[1]))
    if kind == "hold":
        reply = respond(ctx, workspace, held, wait_id)
        if reply.wait_id != wait_id:
            _end_wait(ctx, workspace, wait_id)
        return reply
    approval = approvals.find(ctx, workspace, row[2])
    if approval.status in ("pending", "expired"):  # expired: perhaps its session was killed
        stopped = respond_to_kill(ctx, workspace, held)
        if stopped is not None:
            _end_wait(ctx, workspace, wait_id)
            return stopped
    if approval.status == "pending":
        if not give_up:
            return Reply({}, held.scope(), wait_id, "approval", approval.id)
        approval = approvals.expire(ctx, workspace, approval,
                                    "no decision in time: Claude Code asked its own user")
        _back_from_approval(ctx, workspace, held, "the console's approval expired;"
                            " Claude Code asks its own user")
    _end_wait(ctx, workspace, wait_id)
    if approval.status == "approved":
        return Reply(_permission({"behavior": "allow"}), held.scope())
    if approval.status == "rejected":
        message = approval.note or f"rejected by {approval.decided_by} in the agentops console"
        return Reply(_permission({"behavior": "deny", "message": message}), held.scope())
    return Reply({}, held.scope())  # expired: Claude Code asks its own user, as without us


def respond_to_kill(ctx: WriteContext, workspace: str, held: HeldEvent) -> Reply | None:
    """The stop answer when the session was killed (or a kill waits for it), else None."""
    sessions = _sessions(ctx, workspace, held)
    commands = _open_commands(ctx, workspace, held.scope())
    if any(s.status == "killed" for s in sessions) or any(
            c.action == "kill" for c in commands):
        return respond(ctx, workspace, held)
    if any(s.status in ENDED_SESSION_STATUSES for s in sessions):
        return Reply({}, held.scope())
    return None


def _back_from_approval(ctx: WriteContext, workspace: str, held: HeldEvent,
                        detail: str) -> None:
    session = ctx.session(workspace, held.target)
    if session is not None and session.status == "waiting" and (
            session.detail or "").startswith(approvals.WAITING_PREFIX):
        ctx.emit(workspace, "session.status", {"type": "session.status",
                                               "session_id": held.target,
                                               "status": "waiting", "detail": detail})


def expire_asked(ctx: WriteContext, workspace: str, session_id: str) -> None:
    """A new turn of a session (Stop, a new prompt): its permission prompts are over, even
    those whose hook was cut off before it heard the decision."""
    for approval in list(ctx.fleet(workspace).approvals.values()):
        if approval.session_id == session_id and approval.status == "pending":
            approvals.expire(ctx, workspace, approval, "the session went on without it")


def forget_ended(ctx: WriteContext, event: LoggedEvent) -> None:
    """Observer: an ended session needs no redirect follow-up; waits of hooks that never came
    back are dropped after a day."""
    if event.type != "session.ended":
        return
    ctx.conn.execute("DELETE FROM claude_followups WHERE workspace = ? AND session_id = ?",
                     (event.workspace, event.data["session_id"]))
    ctx.conn.execute("DELETE FROM claude_waits WHERE created_at < ?",
                     (ctx.now - STALE_WAIT_SECONDS,))
