"""Reads of the log and of the tables kept from it, as functions of a read connection.

The store runs them on its read threads (`Store.read`); each returns plain rows or models,
never a cursor, so nothing of the connection leaves its thread.
"""

from __future__ import annotations

import json
from typing import Any

from agentops_tui.models import Session
from agentops_tui.server.store.connection import Connection
from agentops_tui.server.store.dialect import placeholders
from agentops_tui.server.store.writer import LoggedEvent

MessageTableRow = tuple[int, str, str, float]  # seq, role, content, ts


def events_after(
    conn: Connection,
    workspace: str,
    after: int,
    limit: int,
    *,
    types: frozenset[str] | None = None,
    session: str | None = None,
) -> list[LoggedEvent]:
    """The workspace's events with id > `after`, oldest first, at most `limit`."""
    sql = "SELECT id, type, ts, data FROM events WHERE id > ? AND workspace = ?"
    params: list[Any] = [after, workspace]
    if types:
        sql += f" AND type IN ({placeholders(len(types))})"
        params.extend(sorted(types))
    if session:
        sql += " AND session_id = ?"
        params.append(session)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    return [
        LoggedEvent(r[0], r[1], r[2], workspace, json.loads(r[3]), r[3])
        for r in conn.execute(sql, params)
    ]


def message_rows_after(
    conn: Connection, workspace: str, session_id: str, after: int, limit: int
) -> list[MessageTableRow]:
    rows: list[MessageTableRow] = conn.execute(
        "SELECT seq, role, content, ts FROM messages WHERE workspace = ? AND session_id = ?"
        " AND seq > ? ORDER BY seq LIMIT ?",
        (workspace, session_id, after, limit),
    ).fetchall()
    return rows


def message_rows_before(
    conn: Connection, workspace: str, session_id: str, before: int, limit: int
) -> list[MessageTableRow]:
    """The `limit` rows just before `before`, newest first."""
    rows: list[MessageTableRow] = conn.execute(
        "SELECT seq, role, content, ts FROM messages WHERE workspace = ? AND session_id = ?"
        " AND seq < ? ORDER BY seq DESC LIMIT ?",
        (workspace, session_id, before, limit),
    ).fetchall()
    return rows


def stored_session(conn: Connection, workspace: str, session_id: str) -> Session | None:
    row = conn.execute(
        "SELECT data FROM sessions WHERE workspace = ? AND id = ?", (workspace, session_id)
    ).fetchone()
    return None if row is None else Session.model_validate_json(row[0])


def sessions_page(
    conn: Connection,
    workspace: str,
    *,
    status: list[str] | None,
    agent_id: str | None,
    task_id: str | None,
    parent_session_id: str | None,
    cursor: tuple[float, str] | None,
    limit: int,
) -> list[Session]:
    """Sessions newest first, keyset-paged by (started_at, id): `cursor` is the last one's."""
    sql = "SELECT data FROM sessions WHERE workspace = ?"
    params: list[Any] = [workspace]
    if status:
        sql += f" AND status IN ({placeholders(len(status))})"
        params.extend(status)
    for column, value in (
        ("agent_id", agent_id), ("task_id", task_id), ("parent_session_id", parent_session_id)
    ):
        if value is not None:
            sql += f" AND {column} = ?"
            params.append(value)
    if cursor is not None:
        sql += " AND (started_at < ? OR (started_at = ? AND id < ?))"
        params.extend([cursor[0], cursor[0], cursor[1]])
    sql += " ORDER BY started_at DESC, id DESC LIMIT ?"
    params.append(limit)
    return [Session.model_validate_json(r[0]) for r in conn.execute(sql, params)]
