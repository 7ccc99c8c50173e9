"""Work queues: create, list, delete; add and list tasks; dequeue, steal, complete, fail.

Paths and bodies follow the work-queue API agents already speak (camelCase accepted), under
`/api/v1`, and at seed 003's own paths without it (routes/seed_work_queues.py). Changes
need role operator; every change but a dequeue or steal is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from agentops_tui.action_requests import (
    CompleteTaskRequest,
    CreateQueueRequest,
    CreateTaskRequest,
    FailTaskRequest,
    TakeTaskRequest,
)
from agentops_tui.models import Task, TaskStatus, WorkQueue
from agentops_tui.server.audit import audited_as
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, operator, viewer
from agentops_tui.server.control import queues
from agentops_tui.server.control.commands import audited
from agentops_tui.server.openapi import answers
from agentops_tui.server.routes.control import actor_of
from agentops_tui.server.store.writer import Rejected, WriteContext

router = APIRouter(prefix="/api/v1", tags=["work queues"])

TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)


def _with_counts(queue: WorkQueue, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    mine = counts.get(queue.id, {})
    return {**queue.model_dump(), "counts": {s: mine.get(s, 0) for s in TASK_STATUSES}}


async def _change(request: Request, principal: Principal, ctx: ServerContext, action: str,
                  target: str, payload: dict[str, Any] | None,
                  body: Callable[[WriteContext], Any]) -> Any:
    """Run one change in the writer; a refusal is audited too (a success audits itself)."""
    job = audited(action, target, payload, actor_of(request, principal), body)
    return (await ctx.store.write(job)).unwrap()


@router.post("/work-queues", status_code=201, response_model=WorkQueue,
             responses=answers(409), openapi_extra=audited_as("queue.create"))
async def create_queue(body: CreateQueueRequest, request: Request,
                       principal: Principal = Depends(operator),
                       ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    actor = actor_of(request, principal)
    queue: WorkQueue = await _change(
        request, principal, ctx, "queue.create", body.name, None,
        lambda w: queues.create_queue(w, principal.workspace, body, actor))
    return JSONResponse(queue.model_dump(), status_code=201)


@router.get("/work-queues")
async def list_queues(principal: Principal = Depends(viewer),
                      ctx: ServerContext = Depends(get_ctx)) -> dict[str, Any]:
    """Every queue with how many of its tasks are in each status."""
    ws = principal.workspace
    found: list[WorkQueue] = ctx.store.with_fleet(
        ws, lambda f: [q.model_copy() for q in f.queues.values()])
    counts = await ctx.store.read(lambda conn: queues.task_counts(conn, ws))
    found.sort(key=lambda q: (q.created_at, q.id))
    return {"queues": [_with_counts(q, counts) for q in found]}


def _queue(ctx: ServerContext, workspace: str, queue_id: str) -> WorkQueue:
    queue = ctx.store.with_fleet(workspace, lambda f: f.queues.get(queue_id))
    if queue is None:
        raise Rejected(404, "not_found", f"no work queue {queue_id!r}")
    return queue.model_copy()  # type: ignore[no-any-return]


@router.get("/work-queues/{queue_id}")
async def get_queue(queue_id: str, principal: Principal = Depends(viewer),
                    ctx: ServerContext = Depends(get_ctx)) -> dict[str, Any]:
    queue = _queue(ctx, principal.workspace, queue_id)
    counts = await ctx.store.read(lambda conn: queues.task_counts(conn, principal.workspace))
    return _with_counts(queue, counts)


@router.delete("/work-queues/{queue_id}", responses=answers(409),
                openapi_extra=audited_as("queue.delete"))
async def delete_queue(
    queue_id: str, request: Request,
    force: bool = Query(False, description="fail the queue's open tasks instead of refusing"),
    principal: Principal = Depends(operator), ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """Delete a queue. With open tasks it answers 409 unless `?force=true`."""
    actor = actor_of(request, principal)
    result: dict[str, Any] = await _change(
        request, principal, ctx, "queue.delete", queue_id, {"force": force} if force else None,
        lambda w: queues.delete_queue(w, principal.workspace, queue_id, force, actor))
    return result


@router.post("/work-queues/{queue_id}/tasks", status_code=201, response_model=Task,
             responses=answers(409), openapi_extra=audited_as("task.create"))
async def add_task(queue_id: str, body: CreateTaskRequest, request: Request,
                   principal: Principal = Depends(operator),
                   ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    actor = actor_of(request, principal)
    task: Task = await _change(
        request, principal, ctx, "task.create", queue_id, {"name": body.name},
        lambda w: queues.add_task(w, principal.workspace, queue_id, body, actor))
    return JSONResponse(task.model_dump(mode="json"), status_code=201)


@router.get("/work-queues/{queue_id}/tasks")
async def list_tasks(
    queue_id: str,
    status: TaskStatus | None = None,
    limit: int = Query(500, ge=1, le=5000),
    principal: Principal = Depends(viewer), ctx: ServerContext = Depends(get_ctx),
) -> dict[str, Any]:
    """The queue's tasks in the order they are handed out."""
    _queue(ctx, principal.workspace, queue_id)
    found = await ctx.store.read(
        lambda conn: queues.queue_tasks(conn, principal.workspace, queue_id, status, limit))
    return {"tasks": [t.model_dump(mode="json") for t in found]}


async def _take(verb: str, queue_id: str, body: TakeTaskRequest, principal: Principal,
                ctx: ServerContext) -> Response:
    take = queues.dequeue if verb == "dequeue" else queues.steal
    task: Task | None = await ctx.store.write(
        lambda w: take(w, principal.workspace, queue_id, body.agent_id))
    if task is None:
        return Response(status_code=204)
    return JSONResponse(task.model_dump(mode="json"))


@router.post("/work-queues/{queue_id}/dequeue", response_model=Task,
             responses={204: {"description": "no task waiting"}})
async def dequeue(queue_id: str, body: TakeTaskRequest, principal: Principal = Depends(operator),
                  ctx: ServerContext = Depends(get_ctx)) -> Response:
    """Assign the queue's most urgent task (priority, then deadline, then age) to the agent."""
    return await _take("dequeue", queue_id, body, principal, ctx)


@router.post("/work-queues/{queue_id}/steal", response_model=Task,
             responses={204: {"description": "no task waiting in the team's other queues"},
                        **answers(409)})
async def steal(queue_id: str, body: TakeTaskRequest, principal: Principal = Depends(operator),
                ctx: ServerContext = Depends(get_ctx)) -> Response:
    """An idle agent takes the best waiting task from another queue of the same team."""
    return await _take("steal", queue_id, body, principal, ctx)


@router.post("/work-queue-tasks/{task_id}/complete", response_model=Task,
             responses=answers(409), openapi_extra=audited_as("task.complete"))
async def complete(task_id: str, request: Request, body: CompleteTaskRequest | None = None,
                   principal: Principal = Depends(operator),
                   ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    actor = actor_of(request, principal)
    result = body.result if body else None
    task: Task = await _change(
        request, principal, ctx, "task.complete", task_id, None,
        lambda w: queues.finish(w, principal.workspace, task_id, True, result, actor))
    return JSONResponse(task.model_dump(mode="json"))


@router.post("/work-queue-tasks/{task_id}/fail", response_model=Task, responses=answers(409),
             openapi_extra=audited_as("task.fail"))
async def fail(task_id: str, request: Request, body: FailTaskRequest | None = None,
               principal: Principal = Depends(operator),
               ctx: ServerContext = Depends(get_ctx)) -> JSONResponse:
    actor = actor_of(request, principal)
    error = body.error if body else None
    task: Task = await _change(
        request, principal, ctx, "task.fail", task_id, {"error": error} if error else None,
        lambda w: queues.finish(w, principal.workspace, task_id, False, error, actor))
    return JSONResponse(task.model_dump(mode="json"))
