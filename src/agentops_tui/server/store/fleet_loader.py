"""A workspace's working set, loaded from the checkpointed tables.

Only the part of the state the console shows is kept in memory: every agent, the live
sessions and those active in the last `RECENT_SECONDS`, pending approvals and open commands,
open alerts, queues, and open or recently finished tasks. Older rows stay in their tables
and are paged back in on use (`WriteContext.session`). The tables are read as the last
checkpoint left them; the store folds the log after it into what this returns.
"""

from __future__ import annotations

import time

from agentops_tui.core.fleet import Fleet
from agentops_tui.models import Agent, Alert, Approval, Command, Session, Task, WorkQueue
from agentops_tui.server.store.connection import Connection

# Ended sessions stay in memory (and in snapshots) this long after their last activity.
RECENT_SECONDS = 6 * 3600


def load_fleet(conn: Connection, workspace: str, last_event_id: int) -> Fleet:
    """Build a workspace's working set from the tables (writer thread, lock held)."""
    since = time.time() - RECENT_SECONDS
    agents = [
        Agent.model_validate_json(r[0])
        for r in conn.execute("SELECT data FROM agents WHERE workspace = ?", (workspace,))
    ]
    sessions = [
        Session.model_validate_json(r[0])
        for r in conn.execute(
            "SELECT data FROM sessions WHERE workspace = ? AND (status IN"
            " ('running','waiting','paused') OR last_activity >= ?)",
            (workspace, since),
        )
    ]
    approvals = [
        Approval.model_validate_json(r[0])
        for r in conn.execute(
            "SELECT data FROM approvals WHERE workspace = ? AND status = 'pending'",
            (workspace,),
        )
    ]
    commands = [
        Command.model_validate_json(r[0])
        for r in conn.execute(
            "SELECT data FROM commands WHERE workspace = ? AND status IN"
            " ('pending','delivered')",
            (workspace,),
        )
    ]
    alerts = [
        Alert.model_validate_json(r[0])
        for r in conn.execute(
            "SELECT data FROM alerts WHERE workspace = ? AND status IN ('open','acked')",
            (workspace,),
        )
    ]
    queues = [
        WorkQueue.model_validate_json(r[0])
        for r in conn.execute("SELECT data FROM work_queues WHERE workspace = ?", (workspace,))
    ]
    tasks = [
        Task.model_validate_json(r[0])
        for r in conn.execute(
            "SELECT data FROM tasks WHERE workspace = ? AND (status IN"
            " ('inbox','assigned','running') OR updated_at >= ?)",
            (workspace, since),
        )
    ]
    fleet = Fleet()
    fleet.load(agents, sessions, approvals, commands, last_event_id, alerts,
               queues, tasks)
    return fleet


def forget_old(fleet: Fleet, before: float) -> None:
    """Drop sessions ended and tasks finished before `before` from memory (their rows must
    be current: the caller has checkpointed)."""
    old = [
        s.id
        for s in fleet.sessions.values()
        if s.ended_at is not None and s.last_activity < before
    ]
    for sid in old:
        fleet.forget_session(sid)
    for task in [t for t in fleet.tasks.values() if t.finished_at and t.updated_at < before]:
        del fleet.tasks[task.id]
