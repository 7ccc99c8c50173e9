"""Tasks across queues, each with the sessions that worked on it and what they cost.

Sessions come from the sessions table (not memory), so a task that ran for days still adds
up every session, subagents included.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

from fastapi import APIRouter, Depends, Query

from agentops_tui.core import tasks as task_math
from agentops_tui.models import Session, Task, TaskSession, TaskView
from agentops_tui.server.auth import Principal
from agentops_tui.server.context import ServerContext, get_ctx, viewer
from agentops_tui.server.routes.params import TaskStatusFilter, split
from agentops_tui.server.store.writer import Rejected

router = APIRouter(prefix="/api/v1", tags=["work queues"])


def _sessions(conn: sqlite3.Connection, workspace: str, task_id: str) -> list[Session]:
    found: dict[str, Session] = {}

    def load(rows: list[Any]) -> list[str]:
        ids = []
        for (data,) in rows:
            session = Session.model_validate_json(data)
            found[session.id] = session
            ids.append(session.id)
        return ids

    roots = load(conn.execute(
        "SELECT data FROM sessions WHERE workspace = ? AND task_id = ?", (workspace, task_id)
    ).fetchall())

    def children_of(level: list[str]) -> list[str]:
        rows = conn.execute(
            f"SELECT data FROM sessions WHERE workspace = ? AND parent_session_id IN"
            f" ({','.join('?' * len(level))})", [workspace, *level]).fetchall()
        return load(rows)

    ids = task_math.descendants(sorted(roots), children_of)
    return task_math.tree_order(found[i] for i in ids)


def view(conn: sqlite3.Connection, workspace: str, task: Task, queue_names: dict[str, str],
         now: float) -> TaskView:
    sessions = _sessions(conn, workspace, task.id)
    totals = task_math.rollup(task, sessions, now)
    return TaskView(
        **task.model_dump(),
        queue_name=queue_names.get(task.queue_id),
        sessions=[TaskSession.model_validate(s.model_dump()) for s in sessions],
        session_count=totals.sessions,
        active_sessions=totals.active_sessions,
        input_tokens=totals.input_tokens,
        output_tokens=totals.output_tokens,
        cost_usd=round(totals.cost_usd, 6),
        elapsed_seconds=totals.elapsed_seconds,
    )


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
    sql = "SELECT data FROM tasks WHERE workspace = ?"
    params: list[Any] = [ws]
    if wanted:
        sql += f" AND status IN ({','.join('?' * len(wanted))})"
        params.extend(wanted)
    if queue is not None:
        sql += " AND queue_id = ?"
        params.append(queue)
    if breached is not None:
        sql += " AND breached = ?"
        params.append(int(breached))
    sql += " ORDER BY updated_at DESC, id LIMIT ?"
    params.append(limit)
    names = _queue_names(ctx, ws)

    def query() -> list[TaskView]:
        conn = ctx.store.reader()
        now = time.time()
        rows = conn.execute(sql, params).fetchall()
        return [view(conn, ws, Task.model_validate_json(r[0]), names, now) for r in rows]

    await ctx.store.caught_up()  # a task's sessions are read from their table
    return {"tasks": await asyncio.to_thread(query)}


@router.get("/tasks/{task_id}", response_model=TaskView)
async def get_task(task_id: str, principal: Principal = Depends(viewer),
                   ctx: ServerContext = Depends(get_ctx)) -> TaskView:
    ws = principal.workspace
    names = _queue_names(ctx, ws)

    def query() -> TaskView | None:
        conn = ctx.store.reader()
        row = conn.execute("SELECT data FROM tasks WHERE workspace = ? AND id = ?",
                           (ws, task_id)).fetchone()
        if row is None:
            return None
        return view(conn, ws, Task.model_validate_json(row[0]), names, time.time())

    await ctx.store.caught_up()
    found = await asyncio.to_thread(query)
    if found is None:
        raise Rejected(404, "not_found", f"no task {task_id!r}")
    return found
