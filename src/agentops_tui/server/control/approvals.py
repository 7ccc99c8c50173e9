"""Approvals: an agent asks (`approval.requested` at ingest), an operator decides.

A decision is one writer job: the `approval.decided` event (the whole Approval), the audit
entry, and the session's way back from `waiting` commit together. While an approval is
pending, its session reads `waiting` — that is what puts it in front of an operator.
"""

from __future__ import annotations

from typing import Any

from agentops_tui.models import Approval, ApprovalStatus
from agentops_tui.server import audit
from agentops_tui.server.redact import redact_optional
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.writer import LoggedEvent, Rejected, WriteContext

WAITING_PREFIX = "approval: "


def stored(conn: Connection, workspace: str, approval_id: str) -> Approval | None:
    """The approval as its table holds it (decided ones leave memory)."""
    row = conn.execute(
        "SELECT data FROM approvals WHERE workspace = ? AND id = ?", (workspace, approval_id)
    ).fetchone()
    return None if row is None else Approval.model_validate_json(row[0])


def listed(conn: Connection, workspace: str, status: ApprovalStatus | None,
           limit: int) -> list[Approval]:
    """Approvals from their table, newest request first."""
    sql = "SELECT data FROM approvals WHERE workspace = ?"
    params: list[Any] = [workspace]
    if status:
        sql += " AND status = ?"
        params.append(status)
    found = [Approval.model_validate_json(r[0]) for r in conn.execute(sql, params)]
    found.sort(key=lambda a: a.requested_at, reverse=True)
    return found[:limit]


def find(ctx: WriteContext, workspace: str, approval_id: str) -> Approval:
    approval = ctx.fleet(workspace).approvals.get(approval_id) or stored(
        ctx.conn, workspace, approval_id)
    if approval is None:
        raise Rejected(404, "not_found", f"no approval {approval_id!r}")
    return approval


def decide(ctx: WriteContext, workspace: str, approval_id: str, approve: bool,
           note: str | None, actor: audit.Actor) -> Approval:
    note = redact_optional(note)  # an approval's note or a rejection's reason
    approval = find(ctx, workspace, approval_id)
    if approval.status != "pending":
        raise Rejected(409, "conflict",
                       f"approval {approval_id!r} was already {approval.status}"
                       + (f" by {approval.decided_by}" if approval.decided_by else ""),
                       {"status": approval.status})
    decided = approval.model_copy(update={
        "status": "approved" if approve else "rejected",
        "decided_at": ctx.now, "decided_by": actor.name, "note": note,
    })
    ctx.emit(workspace, "approval.decided", decided.model_dump())
    action = "approval.approve" if approve else "approval.reject"
    audit.record(ctx.conn, actor, action, approval_id,
                 {"session_id": approval.session_id, "note": note}, "accepted", ctx.now)
    session = ctx.fleet(workspace).sessions.get(approval.session_id)
    if session is not None and session.status == "waiting" and (
            session.detail or "").startswith(WAITING_PREFIX):
        ctx.emit(workspace, "session.status", {
            "type": "session.status", "session_id": session.id, "status": "running",
            "detail": f"approval {decided.status} by {actor.name}"})
    return decided


def mark_waiting(ctx: WriteContext, event: LoggedEvent) -> None:
    """Observer: a running session that asks for approval now waits for a human."""
    if event.type != "approval.requested":
        return
    session = ctx.fleet(event.workspace).sessions.get(event.data["session_id"])
    if session is not None and session.status == "running":
        ctx.emit(event.workspace, "session.status", {
            "type": "session.status", "session_id": session.id, "status": "waiting",
            "detail": WAITING_PREFIX + str(event.data.get("summary", ""))})


def expire(ctx: WriteContext, workspace: str, approval: Approval, why: str) -> Approval:
    """A pending approval no one can act on any more (its session ended, or the agent stopped
    waiting): it shows `expired` and leaves Review."""
    expired = approval.model_copy(update={"status": "expired", "decided_at": ctx.now,
                                          "note": why})
    ctx.emit(workspace, "approval.decided", expired.model_dump())
    return expired


ENDED = frozenset({"completed", "failed", "killed"})


def _ended_first(status: str | None) -> str:
    return f"the session {status} before a decision" if status else "the session ended first"


def expire_with_session(ctx: WriteContext, event: LoggedEvent) -> None:
    """Observer: an approval whose session ended expires."""
    if event.type != "session.ended":
        return
    session_id = event.data["session_id"]
    session = ctx.fleet(event.workspace).sessions.get(session_id)
    why = _ended_first(session.status if session is not None else None)
    for approval in list(ctx.fleet(event.workspace).approvals.values()):
        if approval.session_id == session_id and approval.status == "pending":
            expire(ctx, event.workspace, approval, why)


def expire_orphans(ctx: WriteContext, workspace: str) -> int:
    """Pending approvals whose session ended (or is gone) while nothing was watching — a
    store written before approvals expired, a crash between the two — expire now, so
    Review shows only what someone can still decide. Returns how many."""
    rows = ctx.conn.execute(
        "SELECT a.data, s.status FROM approvals a LEFT JOIN sessions s"
        " ON s.workspace = a.workspace AND s.id = a.session_id"
        " WHERE a.workspace = ? AND a.status = 'pending'", (workspace,)).fetchall()
    fleet = ctx.fleet(workspace)
    expired = 0
    for raw, stored_status in rows:
        approval = Approval.model_validate_json(raw)
        current = fleet.approvals.get(approval.id, approval)
        if current.status != "pending":
            continue
        session = fleet.sessions.get(approval.session_id)
        status = session.status if session is not None else stored_status
        if status is None or status in ENDED:
            expire(ctx, workspace, current,
                   _ended_first(status) if status else "its session is unknown")
            expired += 1
    return expired
