"""Tasks across queues, each with the sessions that worked on it and what they cost."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Query

from agentops_tui.models import TaskView
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, viewer
from agentops_tui.server.control import task_views
from agentops_tui.server.routes.params import TaskStatusFilter, split
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/v1", tags=["work queues"])


def _queue_names(ctx: ServerContext, workspace: str) -> dict[str, str]:
    names: dict[str, str] = ctx.store.with_fleet(
        workspace, lambda f: {q.id: q.name for q in f.queues.values()})
    return names


@router.get("/tasks")
async def list_tasks(
    status: list[TaskStatusFilter] | None = Query(None, description="repeat or comma-separate"),
    queue: str | None = Query(None, description="only this queue's tasks"),
    breached: bool | None = Query(None, description="only tasks past (or within) deadline"),
    limit: int = Query(200, ge=1, le=2000),
    principal: Principal = Depends(viewer),
    ctx: ServerContext = Depends(get_ctx),
) -> dict[str, list[TaskView]]:
    """Tasks of every queue, most recently changed first, with sessions, tokens and cost."""
    ws = principal.workspace
    wanted = split(status)
    names = _queue_names(ctx, ws)
    found = await ctx.store.read(lambda conn: task_views.list_views(
        conn, ws, statuses=wanted, queue=queue, breached=breached, limit=limit,
        queue_names=names, now=time.time()), current=True)
    return {"tasks": found}


@router.get("/tasks/{task_id}", response_model=TaskView)
async def get_task(task_id: str, principal: Principal = Depends(viewer),
                   ctx: ServerContext = Depends(get_ctx)) -> TaskView:
    ws = principal.workspace
    names = _queue_names(ctx, ws)
    found = await ctx.store.read(
        lambda conn: task_views.one_view(conn, ws, task_id, names, time.time()), current=True)
    if found is None:
        raise Rejected(404, "not_found", f"no task {task_id!r}")
    return found
