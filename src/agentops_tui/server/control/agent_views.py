"""An agent's conversation across its sessions, and the session tree, in seed 002's shapes.

Functions of a read connection (run by `Store.read`, current: the messages table then holds
every committed message) and pure shapers for what the routes answer. Field names are the
seed's (camelCase, times in ISO 8601 UTC) and each entry keeps our epoch `ts` beside them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentops_tui.models import Agent, Session
from agentops_tui.server.store.connection import Connection

# The messages of the agent's sessions (ordered by the caller: time across sessions, then
# each session's own order). Written as a subquery so that SQLite, which keeps no table
# statistics, takes the agent's sessions first (index `sessions_agent`) and looks up each
# one's messages, rather than reading every message of the workspace; PostgreSQL plans the
# join the same way either way.
_AGENT_MESSAGES = (
    " FROM messages m WHERE (m.workspace, m.session_id) IN"
    " (SELECT workspace, id FROM sessions WHERE workspace = ? AND agent_id = ?)"
)


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds, as the seed writes its times."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def message_entry(agent_id: str, session_id: str, seq: int, role: str, content: str,
                  ts: float) -> dict[str, Any]:
    return {"id": f"{session_id}:{seq}", "agentId": agent_id, "sessionId": session_id,
            "seq": seq, "role": role, "content": content, "timestamp": iso(ts), "ts": ts}


def message_page(conn: Connection, workspace: str, agent_id: str, skip: int,
                 limit: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the agent's messages, oldest first, and how many there are in all."""
    rows = conn.execute(
        "SELECT m.session_id, m.seq, m.role, m.content, m.ts" + _AGENT_MESSAGES
        + " ORDER BY m.ts, m.session_id, m.seq LIMIT ? OFFSET ?",
        (workspace, agent_id, limit, skip),
    ).fetchall()
    total = conn.execute("SELECT count(*)" + _AGENT_MESSAGES, (workspace, agent_id)).fetchone()
    return [message_entry(agent_id, *r) for r in rows], int(total[0])


def last_messages(conn: Connection, workspace: str, agent_id: str,
                  count: int) -> list[dict[str, Any]]:
    """The agent's `count` latest messages, oldest first (a stream's replay)."""
    rows = conn.execute(
        "SELECT m.session_id, m.seq, m.role, m.content, m.ts" + _AGENT_MESSAGES
        + " ORDER BY m.ts DESC, m.session_id DESC, m.seq DESC LIMIT ?",
        (workspace, agent_id, count),
    ).fetchall()
    return [message_entry(agent_id, *r) for r in reversed(rows)]


def session_ids(conn: Connection, workspace: str, agent_id: str) -> set[str]:
    """Every stored session of the agent (current ones are in memory too)."""
    rows = conn.execute("SELECT id FROM sessions WHERE workspace = ? AND agent_id = ?",
                        (workspace, agent_id)).fetchall()
    return {r[0] for r in rows}


def tree_entry(session: Session, agent: Agent | None,
               queue_of_task: dict[str, str]) -> dict[str, Any]:
    """A session as seed 002's tree lists it: who spawned it, what it is, where its work
    came from (`taskSource`: the work queue of its task, if any)."""
    return {
        "sessionId": session.id,
        "parentSessionId": session.parent_session_id,
        "agentId": session.agent_id,
        "agentName": agent.name if agent else None,
        "agentType": agent.kind if agent else None,
        "status": session.status,
        "taskId": session.task_id,
        "taskSource": queue_of_task.get(session.task_id) if session.task_id else None,
        "spawnedAt": iso(session.started_at),
        "completedAt": iso(session.ended_at),
    }
