"""Tasks across queues as the API shows them: each with the sessions that worked on it and
what they cost, as functions of a read connection (run by `Store.read`).

Sessions come from the sessions table (not memory), so a task that ran for days still adds
up every session, subagents included.
"""

from __future__ import annotations

from typing import Any

from agentops_tui.core import tasks as task_math
from agentops_tui.models import Session, Task, TaskSession, TaskView
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import placeholders


def _sessions(conn: Connection, workspace: str, task_id: str) -> list[Session]:
    """The task's sessions and all their subagents' sessions, in tree order."""
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
        if not level:  # an empty IN list is not SQL everywhere
            return []
        rows = conn.execute(
            f"SELECT data FROM sessions WHERE workspace = ? AND parent_session_id IN"
            f" ({placeholders(len(level))})", [workspace, *level]).fetchall()
        return load(rows)

    ids = task_math.descendants(sorted(roots), children_of)
    return task_math.tree_order(found[i] for i in ids)


def view(conn: Connection, workspace: str, task: Task, queue_names: dict[str, str],
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


def list_views(conn: Connection, workspace: str, *, statuses: list[str], queue: str | None,
               breached: bool | None, limit: int, queue_names: dict[str, str],
               now: float) -> list[TaskView]:
    """Tasks of every queue, most recently changed first."""
    sql = "SELECT data FROM tasks WHERE workspace = ?"
    params: list[Any] = [workspace]
    if statuses:
        sql += f" AND status IN ({placeholders(len(statuses))})"
        params.extend(statuses)
    if queue is not None:
        sql += " AND queue_id = ?"
        params.append(queue)
    if breached is not None:
        sql += " AND breached = ?"
        params.append(int(breached))
    sql += " ORDER BY updated_at DESC, id LIMIT ?"
    params.append(limit)
    rows = conn.execute(sql, params).fetchall()
    return [view(conn, workspace, Task.model_validate_json(r[0]), queue_names, now) for r in rows]


def one_view(conn: Connection, workspace: str, task_id: str, queue_names: dict[str, str],
             now: float) -> TaskView | None:
    row = conn.execute("SELECT data FROM tasks WHERE workspace = ? AND id = ?",
                       (workspace, task_id)).fetchone()
    if row is None:
        return None
    return view(conn, workspace, Task.model_validate_json(row[0]), queue_names, now)
