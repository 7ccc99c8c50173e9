"""Approvals: list, wait for a decision (agents long-poll here), approve, reject."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from agentops_tui.action_requests import ApproveRequest, RejectRequest
from agentops_tui.models import Approval, ApprovalStatus
from agentops_tui.server.audit import audited_as
from agentops_tui.server.auth import Principal
from agentops_tui.server.bus import PoolFull
from agentops_tui.server.context import ServerContext, get_ctx, operator, viewer
from agentops_tui.server.control import approvals
from agentops_tui.server.control.commands import audited
from agentops_tui.server.openapi import answers
from agentops_tui.server.routes.control import actor_of
from agentops_tui.server.routes.subscribed import long_poll, pool_full
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/v1", tags=["approvals"])

DECIDED = frozenset({"approval.decided"})


async def _read(ctx: ServerContext, workspace: str, approval_id: str) -> Approval | None:
    found = ctx.store.with_fleet(workspace, lambda f: f.approvals.get(approval_id))
    if found is not None:
        return found.model_copy()  # type: ignore[no-any-return]
    return await ctx.store.read(
        lambda conn: approvals.stored(conn, workspace, approval_id), current=True)


@router.get("/approvals")
async def list_approvals(
    status: ApprovalStatus | None = None,
    limit: int = Query(200, ge=1, le=5000),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Approvals, newest first."""
    found = await ctx.store.read(
        lambda conn: approvals.listed(conn, principal.workspace, status, limit), current=True)
    return {"approvals": [a.model_dump() for a in found]}


@router.get("/approvals/{approval_id}", response_model=Approval)
async def get_approval(
    approval_id: str,
    request: Request,
    wait: float | None = Query(None, ge=0, le=60, description="wait up to N s for a decision"),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> Any:
    ws = principal.workspace
    approval = await _read(ctx, ws, approval_id)
    if approval is None:
        raise Rejected(404, "not_found", f"no approval {approval_id!r}")
    if not wait or approval.status != "pending":
        return approval
    try:
        async with long_poll(request, ctx.bus, ws, DECIDED, wait) as poll:
            # decided before we listened?
            approval = await _read(ctx, ws, approval_id) or approval
            while approval.status == "pending" and (frames := await poll.next()) is not None:
                for frame in frames:
                    data = json.loads(frame.data.split(b"data: ", 1)[1])
                    if data.get("id") == approval_id:
                        data.pop("ts", None)
                        approval = Approval.model_validate(data)
    except PoolFull as exc:
        return pool_full(exc, "too_many_waiters")
    return approval


async def _decide(request: Request, principal: Principal, ctx: ServerContext,
                  approval_id: str, approve: bool, note: str | None) -> Approval:
    actor = actor_of(request, principal)
    action = "approval.approve" if approve else "approval.reject"
    job = audited(action, approval_id, {"note": note} if note else None, actor,
                  lambda wctx: approvals.decide(wctx, principal.workspace, approval_id,
                                                approve, note, actor))
    outcome = await ctx.store.write(job)
    decided: Approval = outcome.unwrap()
    return decided


@router.post("/approvals/{approval_id}/approve", response_model=Approval,
             responses=answers(409), openapi_extra=audited_as("approval.approve"))
async def approve(approval_id: str, request: Request, body: ApproveRequest | None = None,
                  principal: Principal = Depends(operator),
                  ctx: ServerContext = Depends(get_ctx)) -> Approval:
    """Approve; the waiting agent gets the decision. A decided approval → 409."""
    return await _decide(request, principal, ctx, approval_id, True,
                         body.note if body else None)


@router.post("/approvals/{approval_id}/reject", response_model=Approval,
             responses=answers(409), openapi_extra=audited_as("approval.reject"))
async def reject(approval_id: str, request: Request, body: RejectRequest | None = None,
                 principal: Principal = Depends(operator),
                 ctx: ServerContext = Depends(get_ctx)) -> Approval:
    return await _decide(request, principal, ctx, approval_id, False,
                         body.reason if body else None)
