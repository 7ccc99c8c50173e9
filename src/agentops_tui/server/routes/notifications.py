"""GET /api/v1/notifications: the delivery log of the notification rules, newest first."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from agentops_tui.reports import NotificationPage
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, viewer
from agentops_tui.server.notify import log

router = APIRouter(prefix="/api/v1", tags=["notifications"])




@router.get("/notifications", response_model=NotificationPage)
async def list_notifications(
    before: int | None = Query(None, ge=1, description="only deliveries with a smaller id"),
    rule: str | None = Query(None, max_length=100),
    status: Literal["sent", "failed"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Messages sent to the channels (or given up on after retries): which rule, how many
    notices each carried, attempts and the error. Channel URLs are always masked."""
    found = await ctx.store.read(lambda conn: log.query(
        conn, principal.workspace, before=before, rule=rule, status=status, limit=limit))
    rules = [r.shown() for r in ctx.settings.notify
             if not r.workspaces or principal.workspace in r.workspaces]
    return {
        "notifications": found,
        "next_before": found[-1].id if len(found) == limit else None,
        "rules": rules,
    }
