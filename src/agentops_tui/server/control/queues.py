"""Work queues and their tasks, as writer jobs.

Each change is one job in the single writer, so handing out a task is atomic by
construction: no two dequeues run at once, and a job writes its task row at once (not at the
group's flush) so the next job of the same group commit already sees the task as taken.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
import time
from typing import Any

from agentops_tui.action_requests import CreateQueueRequest, CreateTaskRequest
from agentops_tui.models import FINAL_TASK_STATUSES, Task, TaskStatus, WorkQueue
from agentops_tui.server import audit
from agentops_tui.server.redact import redact, redact_json, redact_optional
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import upsert
from agentops_tui.server.store.writer import LoggedEvent, Rejected, WriteContext

log = logging.getLogger("agentops.queues")

SLA_CHECK_SECONDS = 0.5
MAX_JSON_BYTES = 65_536  # a task's payload or result, serialised
DUE_SQL = ("SELECT workspace, data FROM tasks WHERE breached = 0 AND status IN"
           " ('inbox', 'assigned', 'running') AND deadline < ?")
PICK_ORDER_SQL = "ORDER BY t.priority DESC, t.deadline IS NULL, t.deadline, t.created_at, t.id"
SAVE_TASK_SQL = upsert(
    "tasks",
    ("workspace", "id", "queue_id", "status", "priority", "deadline", "created_at",
     "updated_at", "assignee", "breached", "data"),
    ("workspace", "id"),
)


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def _check_size(field: str, value: Any) -> None:
    size = len(json.dumps(value))
    if size > MAX_JSON_BYTES:
        raise Rejected(413, "too_large",
                       f"{field}: {size} bytes serialised; at most {MAX_JSON_BYTES}")


def save(ctx: WriteContext, workspace: str, task: Task, type_: str = "task.updated") -> Task:
    """Log the task's new state, apply it, and write its row in this transaction."""
    ctx.emit(workspace, type_, task.model_dump(mode="json"))
    ctx.conn.execute(
        SAVE_TASK_SQL,
        (workspace, task.id, task.queue_id, task.status, task.priority, task.deadline,
         task.created_at, task.updated_at, task.assignee, int(task.sla_breached),
         task.model_dump_json()),
    )
    return task


def find_queue(ctx: WriteContext, workspace: str, queue_id: str) -> WorkQueue:
    queue = ctx.fleet(workspace).queues.get(queue_id)
    if queue is None:
        raise Rejected(404, "not_found", f"no work queue {queue_id!r}")
    return queue


def find_task(ctx: WriteContext, workspace: str, task_id: str) -> Task:
    task = ctx.fleet(workspace).tasks.get(task_id)
    if task is None:
        row = ctx.conn.execute(
            "SELECT data FROM tasks WHERE workspace = ? AND id = ?", (workspace, task_id)
        ).fetchone()
        if row is None:
            raise Rejected(404, "not_found", f"no task {task_id!r}")
        task = Task.model_validate_json(row[0])
    return task


QUEUE_ID_USED_SQL = ("SELECT 1 FROM work_queues WHERE workspace = ? AND id = ? UNION ALL"
                     " SELECT 1 FROM tasks WHERE workspace = ? AND queue_id = ? LIMIT 1")
TASK_ID_USED_SQL = "SELECT 1 FROM tasks WHERE workspace = ? AND id = ?"


def _free_id(ctx: WriteContext, workspace: str, prefix: str, chosen: str | None) -> str:
    """A new id, or the one the client chose if no queue or task has used it yet (a deleted
    queue's id stays taken while its tasks are kept)."""
    if chosen is None:
        return new_id(prefix)
    used = (ctx.conn.execute(QUEUE_ID_USED_SQL, (workspace, chosen, workspace, chosen))
            if prefix == "wq" else ctx.conn.execute(TASK_ID_USED_SQL, (workspace, chosen)))
    if used.fetchone() is not None:
        raise Rejected(409, "conflict", f"id {chosen!r} is taken", {"id": chosen})
    return chosen


def create_queue(ctx: WriteContext, workspace: str, request: CreateQueueRequest,
                 actor: audit.Actor) -> WorkQueue:
    queue = WorkQueue(id=_free_id(ctx, workspace, "wq", request.id),
                      name=redact(request.name), team_id=request.team_id,
                      description=redact_optional(request.description), created_at=ctx.now,
                      created_by=actor.name)
    ctx.emit(workspace, "queue.created", queue.model_dump())
    ctx.conn.execute(
        "INSERT INTO work_queues (workspace, id, name, team_id, created_at, data)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (workspace, queue.id, queue.name, queue.team_id, queue.created_at,
         queue.model_dump_json()),
    )
    audit.record(ctx.conn, actor, "queue.create", queue.id,
                 {"name": queue.name, "team_id": queue.team_id}, "accepted", ctx.now)
    return queue


def delete_queue(ctx: WriteContext, workspace: str, queue_id: str, force: bool,
                 actor: audit.Actor) -> dict[str, Any]:
    """Delete a queue. Open tasks refuse it unless `force`, which fails them, saying why."""
    queue = find_queue(ctx, workspace, queue_id)
    rows = ctx.conn.execute(
        "SELECT data FROM tasks WHERE workspace = ? AND queue_id = ? AND status IN"
        " ('inbox', 'assigned', 'running')", (workspace, queue_id),
    ).fetchall()
    open_tasks = [Task.model_validate_json(r[0]) for r in rows]
    if open_tasks and not force:
        counts: dict[str, int] = {}
        for task in open_tasks:
            counts[task.status] = counts.get(task.status, 0) + 1
        listed = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        raise Rejected(409, "queue_not_empty",
                       f"work queue {queue_id!r} has open tasks ({listed}); finish them or"
                       " delete with ?force=true to fail them", counts)
    for task in open_tasks:
        _finish(ctx, workspace, task, ok=False, value=f"queue {queue.name!r} deleted by"
                f" {actor.name}")
    ctx.emit(workspace, "queue.deleted", {"id": queue_id, "name": queue.name})
    ctx.conn.execute("DELETE FROM work_queues WHERE workspace = ? AND id = ?",
                     (workspace, queue_id))
    audit.record(ctx.conn, actor, "queue.delete", queue_id,
                 {"failed_tasks": len(open_tasks)} if open_tasks else None, "accepted", ctx.now)
    return {"deleted": queue.model_dump(), "failed_tasks": [t.id for t in open_tasks]}


def add_task(ctx: WriteContext, workspace: str, queue_id: str, request: CreateTaskRequest,
             actor: audit.Actor) -> Task:
    find_queue(ctx, workspace, queue_id)
    payload = redact_json(request.payload)
    _check_size("payload", payload)
    task = Task(id=_free_id(ctx, workspace, "wt", request.id), queue_id=queue_id,
                name=redact(request.name), priority=request.priority, payload=payload,
                deadline=request.deadline,
                created_at=ctx.now, updated_at=ctx.now)
    save(ctx, workspace, task, "task.created")
    audit.record(ctx.conn, actor, "task.create", task.id,
                 {"queue_id": queue_id, "name": task.name, "priority": task.priority},
                 "accepted", ctx.now)
    return task


def _assign(ctx: WriteContext, workspace: str, row: Any, agent_id: str) -> Task | None:
    if row is None:
        return None
    task = Task.model_validate_json(row[0]).model_copy(update={
        "status": "assigned", "assignee": agent_id, "assigned_at": ctx.now,
        "updated_at": ctx.now})
    return save(ctx, workspace, task)


def dequeue(ctx: WriteContext, workspace: str, queue_id: str, agent_id: str) -> Task | None:
    """Assign the queue's next task (most urgent, earliest deadline, oldest) to the agent."""
    find_queue(ctx, workspace, queue_id)
    row = ctx.conn.execute(
        f"SELECT t.data FROM tasks t WHERE t.workspace = ? AND t.queue_id = ?"
        f" AND t.status = 'inbox' {PICK_ORDER_SQL} LIMIT 1", (workspace, queue_id),
    ).fetchone()
    return _assign(ctx, workspace, row, agent_id)


def steal(ctx: WriteContext, workspace: str, queue_id: str, agent_id: str) -> Task | None:
    """An idle agent of this queue takes the best waiting task of another queue of its team."""
    queue = find_queue(ctx, workspace, queue_id)
    busy = ctx.conn.execute(
        "SELECT id FROM tasks WHERE workspace = ? AND assignee = ? AND status IN"
        " ('assigned', 'running') LIMIT 1", (workspace, agent_id),
    ).fetchone()
    if busy is not None:
        raise Rejected(409, "agent_busy",
                       f"agent {agent_id!r} already works on task {busy[0]!r}; only an idle"
                       " agent steals", {"task_id": busy[0]})
    if queue.team_id is None:
        return None  # no team, no other queues to take from
    row = ctx.conn.execute(
        f"SELECT t.data FROM tasks t JOIN work_queues q ON q.workspace = t.workspace"
        f" AND q.id = t.queue_id WHERE t.workspace = ? AND q.team_id = ? AND q.id != ?"
        f" AND t.status = 'inbox' {PICK_ORDER_SQL} LIMIT 1",
        (workspace, queue.team_id, queue_id),
    ).fetchone()
    return _assign(ctx, workspace, row, agent_id)


def _finish(ctx: WriteContext, workspace: str, task: Task, ok: bool, value: Any) -> Task:
    update: dict[str, Any] = {"status": "complete" if ok else "failed",
                              "finished_at": ctx.now, "updated_at": ctx.now}
    update["result" if ok else "error"] = value
    return save(ctx, workspace, task.model_copy(update=update))


def finish(ctx: WriteContext, workspace: str, task_id: str, ok: bool, value: Any,
           actor: audit.Actor) -> Task:
    """Complete (ok) or fail a task; a task already finished refuses with 409."""
    task = find_task(ctx, workspace, task_id)
    if task.status in FINAL_TASK_STATUSES:
        raise Rejected(409, "conflict", f"task {task_id!r} is already {task.status}",
                       {"status": task.status})
    value = redact_json(value)  # the result (any JSON) or the error (text)
    if ok:
        _check_size("result", value)
    done = _finish(ctx, workspace, task, ok, value)
    audit.record(ctx.conn, actor, "task.complete" if ok else "task.fail", task_id,
                 {"error": value} if not ok and value else None, "accepted", ctx.now)
    return done


def link_session(ctx: WriteContext, event: LoggedEvent) -> None:
    """Observer: a session started on a waiting task means the task is now running."""
    if event.type != "session.started" or not event.data.get("task_id"):
        return
    task = ctx.fleet(event.workspace).tasks.get(event.data["task_id"])
    if task is None or task.status not in ("inbox", "assigned"):
        return
    session = ctx.fleet(event.workspace).sessions.get(event.data["session_id"])
    save(ctx, event.workspace, task.model_copy(update={
        "status": "running", "started_at": event.ts, "updated_at": event.ts,
        "assignee": task.assignee or (session.agent_id if session else None),
        "assigned_at": task.assigned_at or event.ts}))


def breach_due(ctx: WriteContext) -> int:
    """Mark every open task past its deadline as breached, once, raising `sla.breached`."""
    rows = ctx.conn.execute(DUE_SQL, (ctx.now,)).fetchall()
    for workspace, data in rows:
        task = Task.model_validate_json(data)
        deadline = task.deadline if task.deadline is not None else ctx.now
        save(ctx, workspace, task.model_copy(update={
            "sla_breached": True, "breached_at": ctx.now, "updated_at": ctx.now}))
        ctx.emit(workspace, "sla.breached", {
            "task_id": task.id, "title": task.name, "queue_id": task.queue_id,
            "priority": task.priority, "deadline": deadline, "status": task.status,
            "assignee": task.assignee, "late_seconds": round(ctx.now - deadline, 3)})
    return len(rows)


# ---- reads (functions of a read connection, run by `Store.read`) -------------------------


def any_due(conn: Connection, now: float) -> bool:
    """Whether some open task is past its deadline and not yet marked breached."""
    return conn.execute(DUE_SQL + " LIMIT 1", (now,)).fetchone() is not None


def task_counts(conn: Connection, workspace: str) -> dict[str, dict[str, int]]:
    """Per queue, how many of its tasks are in each status."""
    counts: dict[str, dict[str, int]] = {}
    for queue_id, status, n in conn.execute(
        "SELECT queue_id, status, count(*) FROM tasks WHERE workspace = ?"
        " GROUP BY queue_id, status", (workspace,),
    ):
        counts.setdefault(queue_id, {})[status] = n
    return counts


def queue_tasks(conn: Connection, workspace: str, queue_id: str, status: TaskStatus | None,
                limit: int) -> list[Task]:
    """The queue's tasks in the order they are handed out."""
    sql = "SELECT t.data FROM tasks t WHERE t.workspace = ? AND t.queue_id = ?"
    params: list[Any] = [workspace, queue_id]
    if status is not None:
        sql += " AND t.status = ?"
        params.append(status)
    sql += f" {PICK_ORDER_SQL} LIMIT ?"
    params.append(limit)
    return [Task.model_validate_json(r[0]) for r in conn.execute(sql, params)]


async def sla_forever(server: Any, interval: float = SLA_CHECK_SECONDS) -> None:
    """Background loop: breach overdue tasks; a partial index makes the check cheap."""
    store = server.store
    while True:
        await asyncio.sleep(interval)
        try:
            if await store.read(functools.partial(any_due, now=time.time())):
                await store.write(breach_due)
        except Exception:  # the store logs it; try again next tick
            log.warning("SLA pass failed", exc_info=True)
