"""Names an operator reads in place of ids: `task Review PR #325`, not `task wt_3784bac7d87f`.

Pure lookups in the fleet the console holds; an id the console does not know (a deleted
task, a token) is shown as it is. Details views keep the ids next to the names.
"""

from __future__ import annotations

from agentops_tui.core.fleet import Fleet


def session_name(fleet: Fleet, session_id: str) -> str:
    """A session by its title, with its agent's name when known (titles repeat)."""
    session = fleet.sessions.get(session_id)
    if session is None:
        return session_id
    agent = fleet.agents.get(session.agent_id)
    title = session.title or session_id
    return f"{title} ({agent.name})" if agent is not None else title


def task_name(fleet: Fleet, task_id: str) -> str:
    task = fleet.tasks.get(task_id)
    return task.name if task is not None and task.name else task_id


def subject(fleet: Fleet, kind: str, subject_id: str) -> str:
    """An alert's subject (`agent`, `session`, `task`, `workspace`) by name."""
    if kind == "agent" and subject_id in fleet.agents:
        return f"agent {fleet.agents[subject_id].name}"
    if kind == "session" and subject_id in fleet.sessions:
        return f"session {fleet.sessions[subject_id].title or subject_id}"
    if kind == "task":
        return f"task {task_name(fleet, subject_id)}"
    return f"{kind} {subject_id}"


def target(fleet: Fleet, target_id: str) -> str:
    """Whatever an audit entry acted on, by name when the console knows it."""
    if target_id in fleet.tasks:
        return f"task {task_name(fleet, target_id)}"
    if target_id in fleet.sessions:
        return f"session {session_name(fleet, target_id)}"
    if target_id in fleet.agents:
        return f"agent {fleet.agents[target_id].name}"
    queue = fleet.queues.get(target_id)
    if queue is not None:
        return f"queue {queue.name}"
    approval = fleet.approvals.get(target_id)
    if approval is not None:
        return f"approval {approval.summary}"
    alert = fleet.alerts.get(target_id)
    if alert is not None:
        return f"alert {alert.rule.replace('_', ' ')} on " \
               f"{subject(fleet, alert.subject_type, alert.subject_id)}"
    return target_id
