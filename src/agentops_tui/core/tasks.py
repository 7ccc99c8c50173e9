"""What a task has cost and how long it has run, from the sessions that worked on it.

A session works on a task when it names it in `task_id`, or when an ancestor session does
(subagents rarely repeat their parent's task). Server and console both use these functions,
so a card on the board and `GET /api/v1/tasks/{id}` add up the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from agentops_tui.core.fleet import Fleet
from agentops_tui.models import ACTIVE_SESSION_STATUSES, Session, Task

# Most levels of subagents followed below a task's own sessions; a guard against cycles.
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class TaskRollup:
    sessions: int
    active_sessions: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    elapsed_seconds: float | None
    priced: bool = True  # False when a session's cost is partial


def pick_order(task: Task) -> tuple[int, bool, float, float, str]:
    """Sort key of the next task to hand out: most urgent, then earliest deadline, then oldest."""
    return (-task.priority, task.deadline is None, task.deadline or 0.0, task.created_at, task.id)


def elapsed(task: Task, now: float) -> float | None:
    """Seconds of work so far: from the first session (or assignment) to the end, or to now."""
    start = task.started_at or task.assigned_at
    if start is None:
        return None
    return max(0.0, (task.finished_at or now) - start)


def rollup(task: Task, sessions: Iterable[Session], now: float) -> TaskRollup:
    count = active = input_tokens = output_tokens = 0
    cost = 0.0
    priced = True
    for session in sessions:
        count += 1
        active += session.status in ACTIVE_SESSION_STATUSES
        input_tokens += session.input_tokens
        output_tokens += session.output_tokens
        cost += session.cost_usd
        priced = priced and session.priced
    return TaskRollup(count, active, input_tokens, output_tokens, cost, elapsed(task, now),
                      priced)


def descendants(
    roots: Iterable[str], children_of: Callable[[list[str]], Iterable[str]]
) -> list[str]:
    """`roots` and every session below them, breadth first; `children_of` takes a level."""
    seen: dict[str, None] = dict.fromkeys(roots)
    level = list(seen)
    for _ in range(MAX_DEPTH):
        nxt = [c for c in children_of(level) if c not in seen]
        if not nxt:
            break
        seen.update(dict.fromkeys(nxt))
        level = nxt
    return list(seen)


def tree_order(sessions: Iterable[Session]) -> list[Session]:
    """Parents before their children (depth first), siblings oldest first."""
    by_id = {s.id: s for s in sessions}
    kids: dict[str | None, list[Session]] = {}
    for s in by_id.values():
        parent = s.parent_session_id if s.parent_session_id in by_id else None
        kids.setdefault(parent, []).append(s)
    ordered: list[Session] = []
    stack = sorted(kids.get(None, []), key=lambda s: (s.started_at, s.id), reverse=True)
    while stack:
        session = stack.pop()
        ordered.append(session)
        stack.extend(sorted(kids.get(session.id, []), key=lambda s: (s.started_at, s.id),
                            reverse=True))
    return ordered


def task_sessions(fleet: Fleet, task_id: str) -> list[Session]:
    """The in-memory sessions working on `task_id`, subagents included."""
    ids = descendants(
        sorted(fleet.sessions_by_task.get(task_id, ())),
        lambda level: [c for s in level for c in sorted(fleet.children.get(s, ()))],
    )
    return tree_order(fleet.sessions[i] for i in ids if i in fleet.sessions)


def task_of_session(fleet: Fleet, session_id: str) -> str | None:
    """The task a session works on: its own `task_id` or the nearest ancestor's."""
    session = fleet.sessions.get(session_id)
    for _ in range(MAX_DEPTH):
        if session is None:
            return None
        if session.task_id:
            return session.task_id
        parent = session.parent_session_id
        session = fleet.sessions.get(parent) if parent else None
    return None
